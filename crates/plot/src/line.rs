//! Line plots, and the chart pieces shared with contour plots: axes, series, legend.

use anyhow::{bail, Result};
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axes::{Axis, Corner, Frame};
use crate::font::FAMILY;
use crate::log_axis::LogAxis;
use crate::render::de;
use crate::style::{palette, reference, repeats_colour, tick};
use crate::{LinePlot, RefLine, Series, SeriesKind};

/// A chart with f64 axes of coordinate types `X`, `Y`.
pub(crate) type Chart<'a, DB, X, Y> = ChartContext<'a, DB, Cartesian2d<X, Y>>;

/// Draws `plot` into `area`.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
) -> Result<()> {
    check_series(&plot.series)?;
    let xs = plot.series.iter().flat_map(|s| s.x.iter().copied());
    let ys = plot.series.iter().flat_map(|s| s.y.iter().copied());
    let y = match plot.y_range {
        Some(range) => Axis::fixed(range, plot.log_y)?,
        None => Axis::fit(ys.chain(plot.hlines.iter().map(|r| r.value)), plot.log_y),
    };
    let frame = Frame {
        x: Axis::fit(xs.chain(plot.vlines.iter().map(|r| r.value)), plot.log_x),
        y,
    };
    let (xr, yr) = (frame.x.lo..frame.x.hi, frame.y.lo..frame.y.hi);
    let (xl, yl) = (
        LogAxis {
            lo: frame.x.lo,
            hi: frame.x.hi,
        },
        LogAxis {
            lo: frame.y.lo,
            hi: frame.y.hi,
        },
    );
    match (plot.log_x, plot.log_y) {
        (false, false) => chart(area, plot, &frame, xr, yr),
        (true, false) => chart(area, plot, &frame, xl, yr),
        (false, true) => chart(area, plot, &frame, xr, yl),
        (true, true) => chart(area, plot, &frame, xl, yl),
    }
}

fn chart<DB, X, Y>(
    area: &DrawingArea<DB, Shift>,
    plot: &LinePlot,
    frame: &Frame,
    x: X,
    y: Y,
) -> Result<()>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: ValueFormatter<f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    let mut chart = build(area, &plot.title, x, y)?;
    mesh(
        &mut chart,
        &plot.x_label,
        &plot.y_label,
        (plot.log_x, plot.log_y),
    )?;
    let mut labelled = draw_series(&mut chart, &plot.series, frame)?;
    labelled |= draw_ref_lines(&mut chart, &plot.hlines, &plot.vlines, frame)?;
    if labelled {
        let corner = frame.emptiest_corner(plot.series.iter().map(|s| (&s.x[..], &s.y[..])));
        legend(&mut chart, corner)?;
    }
    Ok(())
}

/// Every series needs as many x as y values.
pub(crate) fn check_series(series: &[Series]) -> Result<()> {
    for (k, s) in series.iter().enumerate() {
        if s.x.len() != s.y.len() {
            bail!(
                "series {k} ('{}') has {} x values but {} y values",
                s.label,
                s.x.len(),
                s.y.len()
            );
        }
    }
    Ok(())
}

/// Space around a chart, in pixels.
pub(crate) const MARGIN: u32 = 14;
/// Height of the x tick labels and axis description below a chart.
pub(crate) const X_LABEL_AREA: u32 = 48;
/// Width of the y tick labels and axis description left of a chart.
pub(crate) const Y_LABEL_AREA: u32 = 72;

/// A chart with a title (none when empty) and room for tick labels and axis descriptions.
pub(crate) fn build<'a, DB, X, Y>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
    x: X,
    y: Y,
) -> Result<Chart<'a, DB, X::CoordDescType, Y::CoordDescType>>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
{
    let mut builder = ChartBuilder::on(area);
    if !title.is_empty() {
        let (text, size) = fit_title(title, area.dim_in_pixel().0);
        builder.caption(text, (FAMILY, size));
    }
    builder
        .margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(x, y)
        .map_err(de)
}

/// Draws the title across the top of `area` (see [`fit_title`]), [`MARGIN`] below the top
/// edge as [`build`] places its captions, and returns the area below it.
pub(crate) fn titled<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>> {
    if title.is_empty() {
        return Ok(area.clone());
    }
    let (text, size) = fit_title(title, area.dim_in_pixel().0);
    area.margin(MARGIN as i32, 0, 0, 0)
        .titled(&text, (FAMILY, size))
        .map_err(de)
}

/// The part of `area` (centred) in which a chart built by [`build`] without a title shows
/// one unit of x as long as one unit of y, for data spans `dx`, `dy`.
pub(crate) fn equal_aspect<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    dx: f64,
    dy: f64,
) -> DrawingArea<DB, Shift> {
    let (w, h) = area.dim_in_pixel();
    let pw = f64::from(w.saturating_sub(2 * MARGIN + Y_LABEL_AREA).max(1));
    let ph = f64::from(h.saturating_sub(2 * MARGIN + X_LABEL_AREA).max(1));
    let ratio = dx / dy;
    if !(ratio.is_finite() && ratio > 0.0) {
        return area.clone();
    }
    if pw / ph > ratio {
        let side = ((pw - ph * ratio) / 2.0).floor() as i32;
        area.margin(0, 0, side, side)
    } else {
        let side = ((ph - pw / ratio) / 2.0).floor() as i32;
        area.margin(side, side, 0, 0)
    }
}

/// The title and its font size: 22 px when it fits the panel width, smaller (down to 14 px)
/// when it does not, and cut with "…" beyond that (DejaVu Sans averages ≈ 0.55 em per
/// character).
pub(crate) fn fit_title(title: &str, width: u32) -> (String, u32) {
    let room = f64::from(width.saturating_sub(40));
    let chars = title.chars().count().max(1) as f64;
    let size = (room / (0.55 * chars)).floor().clamp(14.0, 22.0);
    let fits = (room / (0.55 * size)).floor() as usize;
    if title.chars().count() <= fits {
        (title.to_string(), size as u32)
    } else {
        let cut: String = title.chars().take(fits.saturating_sub(1)).collect();
        (format!("{}…", cut.trim_end()), size as u32)
    }
}

/// Grid lines, tick labels ([`TickStyle`]) and axis descriptions; `log` says which axes are
/// logarithmic (their ticks are never rounded to zero).
pub(crate) fn mesh<'a, DB, X, Y>(
    chart: &mut Chart<'a, DB, X, Y>,
    x_label: &str,
    y_label: &str,
    (log_x, log_y): (bool, bool),
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let x_style = TickStyle::of(chart.x_range(), log_x);
    let y_style = TickStyle::of(chart.y_range(), log_y);
    let x_tick = move |v: &f64| x_style.label(*v);
    let y_tick = move |v: &f64| y_style.label(*v);
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(y_label)
        .x_label_formatter(&x_tick)
        .y_label_formatter(&y_tick)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()
        .map_err(de)
}

/// How the tick labels of one axis read.
#[derive(Debug, Clone, Copy, PartialEq)]
enum TickStyle {
    /// A linear axis spanning `span`: a value that is zero up to rounding of the tick
    /// arithmetic (e.g. `-2.8e-17` on an axis spanning 0.4) reads `0`.
    Linear { span: f64 },
    /// A log axis within `[1e-3, 1e5)`: plain numbers (`0.01`, `0.5`, `100`).
    LogPlain,
    /// A log axis reaching beyond that: every tick as a power of ten (`10⁻⁸`, `2×10⁻⁸`,
    /// `10⁰`), so the labels of one axis share one notation. A log axis has no zero, so
    /// nothing is rounded to `0`.
    LogPowers,
}

impl TickStyle {
    fn of(range: std::ops::Range<f64>, log: bool) -> Self {
        if !log {
            TickStyle::Linear {
                span: range.end - range.start,
            }
        } else if range.start >= 1e-3 * (1.0 - 1e-9) && range.end < 1e5 {
            TickStyle::LogPlain
        } else {
            TickStyle::LogPowers
        }
    }

    fn label(self, v: f64) -> String {
        match self {
            TickStyle::Linear { span } if v.abs() <= 1e-9 * span.abs() => tick(&0.0),
            TickStyle::LogPowers => power_of_ten(v),
            _ => tick(&v),
        }
    }
}

/// `v > 0` as `m×10ᵉ` with at most six significant digits in `m ∈ [1, 10)`, and as `10ᵉ`
/// when `m = 1` (exponents in Unicode superscripts, which the embedded font has).
fn power_of_ten(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return tick(&v);
    }
    // `{:e}` of the value rounded to six digits gives mantissa and exponent exactly.
    let rounded = format!("{v:.5e}");
    let (mantissa, exponent) = rounded.split_once('e').unwrap_or((&rounded, "0"));
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    let superscript: String = exponent
        .chars()
        .map(|c| match c {
            '-' => '⁻',
            d => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹']
                [d.to_digit(10).unwrap_or(0) as usize],
        })
        .collect();
    if mantissa == "1" {
        format!("10{superscript}")
    } else {
        format!("{mantissa}×10{superscript}")
    }
}

/// Above this many points a line is drawn 1 px wide: plotters joins wide strokes with
/// mitres, and the sharp zigzags of dense oscillating series (cosines of consecutive updates,
/// sharpness at the edge of stability) then grow spikes far outside the frame.
const DENSE_POINTS: usize = 400;

/// Draws the series clipped to `frame`; returns whether any has a legend entry.
pub(crate) fn draw_series<'a, DB, X, Y>(
    chart: &mut Chart<'a, DB, X, Y>,
    series: &[Series],
    frame: &Frame,
) -> Result<bool>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut any_label = false;
    for (k, s) in series.iter().enumerate() {
        let index = s.color.unwrap_or(k);
        let color = palette(index);
        let line = color.stroke_width(2);
        let thin = color.stroke_width(1);
        let (kind, dot) = if repeats_colour(index) {
            let kind = match s.kind {
                SeriesKind::Line => SeriesKind::Dashed,
                other => other,
            };
            (kind, color.stroke_width(1))
        } else {
            (s.kind, color.filled())
        };
        // Markers on a dense series merge into a band (an oscillating EoS trace becomes a
        // solid blob): past `DENSE_POINTS` a line-and-points series is a line.
        let kind = match kind {
            SeriesKind::LinePoints if s.x.len() > DENSE_POINTS => SeriesKind::Line,
            other => other,
        };
        if matches!(kind, SeriesKind::Line | SeriesKind::LinePoints) {
            // One width per series, so a curve cut into pieces (a log axis floor, gaps)
            // keeps one look.
            let style = if s.x.len() > DENSE_POINTS { thin } else { line };
            for piece in frame.clip_polyline(&s.x, &s.y) {
                chart
                    .draw_series(LineSeries::new(piece, style))
                    .map_err(de)?;
            }
        }
        if kind == SeriesKind::Dashed {
            for piece in frame.clip_polyline(&s.x, &s.y) {
                chart
                    .draw_series(DashedLineSeries::new(piece, 8, 5, line))
                    .map_err(de)?;
            }
        }
        if matches!(kind, SeriesKind::Points | SeriesKind::LinePoints) {
            let pts = frame.visible_points(&s.x, &s.y);
            chart
                .draw_series(pts.into_iter().map(|p| Circle::new(p, 3, dot)))
                .map_err(de)?;
        }
        if !s.label.is_empty() {
            any_label = true;
            let anno = chart
                .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
                .map_err(de)?
                .label(&s.label);
            match kind {
                SeriesKind::Line => {
                    anno.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], line))
                }
                SeriesKind::Points => anno.legend(move |(x, y)| Circle::new((x + 11, y), 3, dot)),
                SeriesKind::Dashed => anno.legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (8, 0)], line)
                        + PathElement::new(vec![(14, 0), (22, 0)], line)
                }),
                SeriesKind::LinePoints => anno.legend(move |(x, y)| {
                    EmptyElement::at((x, y))
                        + PathElement::new(vec![(0, 0), (22, 0)], line)
                        + Circle::new((11, 0), 3, dot)
                }),
            };
        }
    }
    Ok(any_label)
}

/// Dashed reference lines across the frame; returns whether any has a legend entry.
fn draw_ref_lines<'a, DB, X, Y>(
    chart: &mut Chart<'a, DB, X, Y>,
    hlines: &[RefLine],
    vlines: &[RefLine],
    frame: &Frame,
) -> Result<bool>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let mut any_label = false;
    let lines = hlines
        .iter()
        .filter(|r| frame.y.admits(r.value))
        .map(|r| (r, [(frame.x.lo, r.value), (frame.x.hi, r.value)]))
        .chain(
            vlines
                .iter()
                .filter(|r| frame.x.admits(r.value))
                .map(|r| (r, [(r.value, frame.y.lo), (r.value, frame.y.hi)])),
        );
    for (k, (r, ends)) in lines.enumerate() {
        let style = reference(k).stroke_width(2);
        let anno = chart
            .draw_series(DashedLineSeries::new(ends, 10, 6, style))
            .map_err(de)?;
        if !r.label.is_empty() {
            any_label = true;
            anno.label(&r.label).legend(move |(x, y)| {
                EmptyElement::at((0, 0))
                    + PathElement::new(vec![(x, y), (x + 8, y)], style)
                    + PathElement::new(vec![(x + 14, y), (x + 22, y)], style)
            });
        }
    }
    Ok(any_label)
}

/// The legend box in the given corner.
pub(crate) fn legend<'a, DB, X, Y>(chart: &mut Chart<'a, DB, X, Y>, corner: Corner) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    chart
        .configure_series_labels()
        .position(match corner {
            Corner::UpperRight => SeriesLabelPosition::UpperRight,
            Corner::UpperLeft => SeriesLabelPosition::UpperLeft,
            Corner::LowerRight => SeriesLabelPosition::LowerRight,
            Corner::LowerLeft => SeriesLabelPosition::LowerLeft,
        })
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.35))
        .label_font((FAMILY, 15))
        .draw()
        .map_err(de)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_residue_ticks_read_zero_on_linear_axes_only() {
        let linear = |span| TickStyle::Linear { span };
        assert_eq!(linear(0.4).label(-2.77556e-17), "0");
        assert_eq!(linear(1.4).label(-2.22045e-16), "0");
        assert_eq!(linear(1e-9).label(1e-12), "1e-12");
        assert_eq!(linear(0.4).label(0.05), "0.05");
        // Log axes have no zero: 1e-8 on an axis up to 100 is a real tick.
        assert_eq!(TickStyle::of(1e-9..100.0, true).label(1e-8), "10⁻⁸");
        assert_eq!(TickStyle::of(1e-100..1.0, true).label(1e-97), "10⁻⁹⁷");
    }

    #[test]
    fn log_axes_use_one_notation() {
        // Within [1e-3, 1e5): plain numbers.
        let plain = TickStyle::of(0.08..1.5, true);
        assert_eq!(plain, TickStyle::LogPlain);
        assert_eq!(plain.label(0.5), "0.5");
        assert_eq!(plain.label(1.0), "1");
        // Beyond: powers of ten for every tick, 1 included.
        let wide = TickStyle::of(1e-6..10.0, true);
        assert_eq!(wide, TickStyle::LogPowers);
        let labels: Vec<String> = [10.0, 1.0, 0.01, 1e-4, 2e-6, 5e-5, 1e5]
            .iter()
            .map(|v| wide.label(*v))
            .collect();
        assert_eq!(
            labels,
            ["10¹", "10⁰", "10⁻²", "10⁻⁴", "2×10⁻⁶", "5×10⁻⁵", "10⁵"]
        );
        // Rounding to six digits carries into the exponent.
        assert_eq!(power_of_ten(9.9999999e-7), "10⁻⁶");
        assert_eq!(power_of_ten(2.5e300), "2.5×10³⁰⁰");
    }

    #[test]
    fn long_titles_shrink_then_get_cut() {
        assert_eq!(fit_title("short", 900), ("short".to_string(), 22));
        let long = "f(x, y) = ".to_string() + &"x^2 + ".repeat(20);
        let (text, size) = fit_title(&long, 900);
        assert!((14..22).contains(&size), "{size}");
        assert!(text.ends_with('…') || text == long, "{text}");
        assert!(text.chars().count() as f64 * 0.55 * f64::from(size) <= 860.0);
    }
}

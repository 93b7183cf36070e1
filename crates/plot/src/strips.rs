//! Category strips: one row per quantity (e.g. predicted regime, observed regime, verdict)
//! against a numeric x (e.g. the learning rate), each x painted in its category's colour
//! over the span to the midpoints with its neighbours, with reference lines and a legend of
//! the categories below the chart.

use std::ops::Range;

use anyhow::{bail, Result};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axes::Axis;
use crate::font::FAMILY;
use crate::line::{MARGIN, X_LABEL_AREA, Y_LABEL_AREA};
use crate::log_axis::LogAxis;
use crate::render::de;
use crate::style::{reference, tick};
use crate::CategoryStrips;

/// Height of the legend strip under the chart, per line of entries.
const LEGEND_LINE: u32 = 30;

/// The row axis: `rows` bands of height 1, labelled at their centres `k + ½`.
#[derive(Clone)]
struct RowAxis {
    rows: usize,
}

impl Ranged for RowAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, (p0, p1): (i32, i32)) -> i32 {
        let t = value / self.rows as f64;
        (f64::from(p0) + t * f64::from(p1 - p0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        (0..self.rows).map(|k| k as f64 + 0.5).collect()
    }

    fn range(&self) -> Range<f64> {
        0.0..self.rows as f64
    }
}

/// Checks that the strips can be drawn.
fn check(s: &CategoryStrips) -> Result<()> {
    if s.x.is_empty() || s.rows.is_empty() {
        bail!("category strips need at least one x value and one row");
    }
    if !s.x.windows(2).all(|w| w[0] < w[1]) || !s.x.iter().all(|v| v.is_finite()) {
        bail!("category strips: x values must be finite and strictly increasing");
    }
    if s.log_x && s.x[0] <= 0.0 {
        bail!("category strips: a log x axis needs positive x values");
    }
    for (name, cells) in &s.rows {
        if cells.len() != s.x.len() {
            bail!(
                "category strips: row '{name}' has {} cells for {} x values",
                cells.len(),
                s.x.len()
            );
        }
        if let Some(&bad) = cells
            .iter()
            .find(|&&c| usize::from(c) >= s.categories.len())
        {
            bail!(
                "category strips: row '{name}' uses category {bad} but only {} are named",
                s.categories.len()
            );
        }
    }
    Ok(())
}

/// Cell edges in axis space: midpoints between neighbours, half a step beyond each end.
fn edges(x: &[f64], log: bool) -> Vec<f64> {
    let s: Vec<f64> = x.iter().map(|&v| if log { v.log10() } else { v }).collect();
    let half = |a: f64, b: f64| 0.5 * (b - a);
    let first_half = if s.len() > 1 { half(s[0], s[1]) } else { 0.5 };
    let last_half = if s.len() > 1 {
        half(s[s.len() - 2], s[s.len() - 1])
    } else {
        0.5
    };
    let mut e = vec![s[0] - first_half];
    e.extend(s.windows(2).map(|w| 0.5 * (w[0] + w[1])));
    e.push(s[s.len() - 1] + last_half);
    e.into_iter()
        .map(|v| if log { 10f64.powf(v) } else { v })
        .collect()
}

/// Draws `strips` into `area`.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    strips: &CategoryStrips,
) -> Result<()> {
    check(strips)?;
    let e = edges(&strips.x, strips.log_x);
    let (lo, hi) = (e[0], e[e.len() - 1]);
    let x_axis = Axis {
        lo,
        hi,
        log: strips.log_x,
    };
    let (w, h) = area.dim_in_pixel();
    let entries = legend_entries(strips);
    let per_line = ((w.saturating_sub(2 * MARGIN)) / 190).max(1) as usize;
    let legend_h = LEGEND_LINE * entries.len().div_ceil(per_line) as u32 + MARGIN;
    let (chart_area, legend_area) = area.split_vertically(h.saturating_sub(legend_h));
    let rows = RowAxis {
        rows: strips.rows.len(),
    };
    if strips.log_x {
        let mut chart = builder(&chart_area, &strips.title)
            .build_cartesian_2d(LogAxis { lo, hi }, rows)
            .map_err(de)?;
        paint(&mut chart, strips, &e, &x_axis)?;
    } else {
        let mut chart = builder(&chart_area, &strips.title)
            .build_cartesian_2d(lo..hi, rows)
            .map_err(de)?;
        paint(&mut chart, strips, &e, &x_axis)?;
    }
    draw_legend(&legend_area, &entries, per_line)
}

fn builder<'a, 'b, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(area);
    if !title.is_empty() {
        let (text, size) = crate::line::fit_title(title, area.dim_in_pixel().0);
        b.caption(text, (FAMILY, size));
    }
    b.margin(MARGIN)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA + 28);
    b
}

fn paint<'a, DB, X>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, RowAxis>>,
    strips: &CategoryStrips,
    e: &[f64],
    x_axis: &Axis,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    X: Ranged<ValueType = f64> + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    let nrows = strips.rows.len();
    for (r, (_, cells)) in strips.rows.iter().enumerate() {
        // Row 0 at the top; a white hairline between cells shows each x value.
        let y = (nrows - 1 - r) as f64;
        let cell = |i: usize| [(e[i], y + 0.12), (e[i + 1], y + 0.88)];
        chart
            .draw_series(cells.iter().enumerate().map(|(i, &c)| {
                let [red, g, b] = strips.categories[usize::from(c)].1;
                Rectangle::new(cell(i), RGBColor(red, g, b).filled())
            }))
            .map_err(de)?;
        chart
            .draw_series((0..cells.len()).map(|i| Rectangle::new(cell(i), WHITE.stroke_width(1))))
            .map_err(de)?;
    }
    let names: Vec<String> = strips.rows.iter().map(|(n, _)| n.clone()).collect();
    let y_fmt = move |v: &f64| {
        let k = v.floor() as usize;
        names
            .get(nrows.saturating_sub(1).saturating_sub(k))
            .cloned()
            .unwrap_or_default()
    };
    let x_fmt = |v: &f64| tick(v);
    chart
        .configure_mesh()
        .disable_y_mesh()
        .x_desc(strips.x_label.as_str())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style((FAMILY, 15))
        .axis_desc_style((FAMILY, 17))
        .bold_line_style(BLACK.mix(0.12))
        .light_line_style(BLACK.mix(0.04))
        .draw()
        .map_err(de)?;
    for (k, r) in strips
        .vlines
        .iter()
        .filter(|r| x_axis.admits(r.value) && r.value >= x_axis.lo && r.value <= x_axis.hi)
        .enumerate()
    {
        let style = reference(k).stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                [(r.value, 0.0), (r.value, nrows as f64)],
                8,
                5,
                style,
            ))
            .map_err(de)?;
    }
    Ok(())
}

/// One legend entry: a filled box (category) or a dashed line (reference line).
enum Entry {
    Category(String, [u8; 3]),
    Line(String, RGBColor),
}

fn legend_entries(strips: &CategoryStrips) -> Vec<Entry> {
    let used = |k: usize| {
        strips
            .rows
            .iter()
            .any(|(_, cells)| cells.iter().any(|&c| usize::from(c) == k))
    };
    let mut out: Vec<Entry> = strips
        .categories
        .iter()
        .enumerate()
        .filter(|&(k, _)| used(k))
        .map(|(_, (name, rgb))| Entry::Category(name.clone(), *rgb))
        .collect();
    out.extend(
        strips
            .vlines
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.label.is_empty())
            .map(|(k, r)| Entry::Line(format!("{} = {}", r.label, tick(&r.value)), reference(k))),
    );
    out
}

fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[Entry],
    per_line: usize,
) -> Result<()> {
    let font = (FAMILY, 15).into_font();
    for (i, entry) in entries.iter().enumerate() {
        let x = (MARGIN + Y_LABEL_AREA / 2 + 190 * (i % per_line) as u32) as i32;
        let y = (LEGEND_LINE * (i / per_line) as u32 + LEGEND_LINE / 2) as i32;
        let name = match entry {
            Entry::Category(name, [r, g, b]) => {
                area.draw(&Rectangle::new(
                    [(x, y - 7), (x + 22, y + 7)],
                    RGBColor(*r, *g, *b).filled(),
                ))
                .map_err(de)?;
                name
            }
            Entry::Line(name, colour) => {
                let style = colour.stroke_width(2);
                area.draw(&PathElement::new(vec![(x, y), (x + 9, y)], style))
                    .map_err(de)?;
                area.draw(&PathElement::new(vec![(x + 13, y), (x + 22, y)], style))
                    .map_err(de)?;
                name
            }
        };
        area.draw(&Text::new(name.clone(), (x + 30, y - 8), font.clone()))
            .map_err(de)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_span_the_midpoints() {
        assert_eq!(edges(&[1.0, 2.0, 4.0], false), [0.5, 1.5, 3.0, 5.0]);
        let log = edges(&[1.0, 10.0, 100.0], true);
        let want = [
            10f64.powf(-0.5),
            10f64.powf(0.5),
            10f64.powf(1.5),
            10f64.powf(2.5),
        ];
        for (a, b) in log.iter().zip(want) {
            assert!((a - b).abs() < 1e-12 * b, "{log:?}");
        }
        assert_eq!(edges(&[3.0], false), [2.5, 3.5]);
    }
}

//! The colour bar of a contour plot: one box per level band, in the band's colour, on an
//! axis of the field's values (logarithmic when the levels are).

use anyhow::Result;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::font::FAMILY;
use crate::line::{MARGIN, X_LABEL_AREA};
use crate::log_axis::LogAxis;
use crate::render::de;
use crate::style::tick;

/// Width in pixels of the strip a colour bar takes on the right of a panel.
pub(crate) const WIDTH: u32 = 110;

/// The colour bands: `(from, to, colour)` in value units, covering `[lo, hi]` split at the
/// `levels` (ascending, strictly inside).
pub(crate) fn bands(
    lo: f64,
    hi: f64,
    levels: &[f64],
    colour: impl Fn(usize) -> [u8; 3],
) -> Vec<(f64, f64, [u8; 3])> {
    let mut edges = vec![lo];
    edges.extend(levels.iter().copied().filter(|l| *l > lo && *l < hi));
    edges.push(hi);
    edges
        .windows(2)
        .enumerate()
        .map(|(b, w)| (w[0], w[1], colour(b)))
        .collect()
}

/// Draws the bar into `area` (the strip right of the plot); `label` describes the values.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    bands: &[(f64, f64, [u8; 3])],
    log: bool,
    label: &str,
) -> Result<()> {
    let (Some(first), Some(last)) = (bands.first(), bands.last()) else {
        return Ok(());
    };
    let (lo, hi) = (first.0, last.1);
    if !(lo < hi && lo.is_finite() && hi.is_finite()) {
        return Ok(());
    }
    // The same vertical margins as the chart next to it.
    let builder = |a| {
        let mut b = ChartBuilder::on(a);
        b.margin_top(MARGIN)
            .margin_bottom(MARGIN + X_LABEL_AREA)
            .margin_left(6)
            .margin_right(4)
            .right_y_label_area_size(74);
        b
    };
    if log && lo > 0.0 {
        let mut chart = builder(area)
            .build_cartesian_2d(0.0..1.0, LogAxis { lo, hi })
            .map_err(de)?;
        fill(&mut chart, bands, label)
    } else {
        let mut chart = builder(area)
            .build_cartesian_2d(0.0..1.0, lo..hi)
            .map_err(de)?;
        fill(&mut chart, bands, label)
    }
}

fn fill<'a, DB, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y>>,
    bands: &[(f64, f64, [u8; 3])],
    label: &str,
) -> Result<()>
where
    DB: DrawingBackend + 'a,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>
        + plotters::coord::ranged1d::ValueFormatter<f64>,
{
    chart
        .draw_series(bands.iter().map(|&(a, b, [r, g, bl])| {
            Rectangle::new([(0.0, a), (1.0, b)], RGBColor(r, g, bl).filled())
        }))
        .map_err(de)?;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0.0, bands[0].0), (1.0, bands[bands.len() - 1].1)],
            BLACK.mix(0.5).stroke_width(1),
        )))
        .map_err(de)?;
    let fmt = |v: &f64| tick(v);
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .disable_x_axis()
        .set_all_tick_mark_size(5)
        .y_desc(label)
        .y_label_formatter(&fmt)
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()
        .map_err(de)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_cover_the_range_in_order() {
        let b = bands(0.0, 10.0, &[2.0, 5.0, 12.0], |k| [k as u8, 0, 0]);
        let spans: Vec<(f64, f64)> = b.iter().map(|&(a, c, _)| (a, c)).collect();
        assert_eq!(spans, [(0.0, 2.0), (2.0, 5.0), (5.0, 10.0)]);
        assert_eq!(b[2].2, [2, 0, 0]);
        assert_eq!(bands(1.0, 2.0, &[], |_| [0, 0, 0]).len(), 1);
    }
}

//! Contour plots: level bands (a bilinear interpolation of the grid, painted per pixel),
//! iso-lines from [`crate::marching`], then trajectories and markers, with a colour bar of
//! the bands on the right and, optionally, equal scales on both axes.

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axes::{Axis, Frame};
use crate::colorbar;
use crate::font::FAMILY;
use crate::line::{build, check_series, draw_series, equal_aspect, legend, mesh, titled};
use crate::marching::{levels, Grid};
use crate::raster::paint;
use crate::render::de;
use crate::style::{lighten, viridis};
use crate::ContourPlot;

/// Checks that a grid description is usable.
pub(crate) fn check_grid(
    what: &str,
    x_range: (f64, f64),
    y_range: (f64, f64),
    (nx, ny): (usize, usize),
    len: usize,
    min_points: usize,
) -> Result<()> {
    for (name, (lo, hi)) in [("x_range", x_range), ("y_range", y_range)] {
        if !(lo.is_finite() && hi.is_finite() && lo < hi) {
            bail!("{what}: {name} ({lo}, {hi}) must be finite with low < high");
        }
    }
    if nx < min_points || ny < min_points {
        bail!("{what}: the grid is {nx}×{ny}; it needs at least {min_points} points per axis");
    }
    if nx.checked_mul(ny) != Some(len) {
        bail!(
            "{what}: a {nx}×{ny} grid needs {} values but {len} were given",
            nx.saturating_mul(ny)
        );
    }
    Ok(())
}

/// Draws `plot` into `area`.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    plot: &ContourPlot,
) -> Result<()> {
    check_grid(
        "contour plot",
        plot.x_range,
        plot.y_range,
        (plot.nx, plot.ny),
        plot.values.len(),
        2,
    )?;
    check_series(&plot.paths)?;
    let grid = Grid {
        x_range: plot.x_range,
        y_range: plot.y_range,
        nx: plot.nx,
        ny: plot.ny,
        values: &plot.values,
    };
    let lv = levels(&plot.values, plot.levels, plot.log_levels);
    let (x0, x1) = plot.x_range;
    let (y0, y1) = plot.y_range;
    let frame = Frame {
        x: Axis {
            lo: x0,
            hi: x1,
            log: false,
        },
        y: Axis {
            lo: y0,
            hi: y1,
            log: false,
        },
    };
    let bands = lv.len().max(1) as f64;
    let colour = |band: usize| lighten(viridis(band as f64 / bands), 0.3);
    // Title across the panel, then the chart and, on its right, the colour bar.
    let inner = titled(area, &plot.title)?;
    let width = inner.dim_in_pixel().0;
    let (main, bar) = inner.split_horizontally(width.saturating_sub(colorbar::WIDTH));
    let main = if plot.equal_aspect {
        equal_aspect(&main, x1 - x0, y1 - y0)
    } else {
        main
    };
    let mut chart = build(&main, "", x0..x1, y0..y1)?;
    // Axes first, then the bands over the plotting area: the iso-lines, not a grid, guide
    // the eye (as in matplotlib's contourf).
    mesh(&mut chart, &plot.x_label, &plot.y_label, (false, false))?;
    paint(&chart.plotting_area().strip_coord_spec(), |u, v| {
        let value = interpolate(&grid, x0 + u * (x1 - x0), y1 - v * (y1 - y0))?;
        Some(colour(lv.partition_point(|&l| l <= value)))
    })?;
    let (lo, hi) = finite_range(&plot.values, plot.log_levels);
    colorbar::draw(
        &bar,
        &colorbar::bands(lo, hi, &lv, colour),
        plot.log_levels,
        &plot.value_label,
    )?;
    let iso = BLACK.mix(0.45).stroke_width(1);
    for &level in &lv {
        for line in grid.contour_lines(level) {
            chart.draw_series(LineSeries::new(line, iso)).map_err(de)?;
        }
    }
    let labelled = draw_series(&mut chart, &plot.paths, &frame)?;
    for (x, y, label) in &plot.markers {
        if (x0..=x1).contains(x) && (y0..=y1).contains(y) {
            let mark = EmptyElement::at((*x, *y))
                + Cross::new((0, 0), 7, BLACK.stroke_width(2))
                + Text::new(label.clone(), (9, -20), (FAMILY, 17));
            chart.draw_series(std::iter::once(mark)).map_err(de)?;
        }
    }
    if labelled {
        let corner = frame.emptiest_corner(plot.paths.iter().map(|s| (&s.x[..], &s.y[..])));
        legend(&mut chart, corner)?;
    }
    Ok(())
}

/// The finite (positive, when `log`) range of `values`.
fn finite_range(values: &[f64], log: bool) -> (f64, f64) {
    values
        .iter()
        .copied()
        .filter(|v| v.is_finite() && (!log || *v > 0.0))
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
            (l.min(v), h.max(v))
        })
}

/// Bilinear interpolation of the grid at `(x, y)`; `None` next to a non-finite sample.
fn interpolate(g: &Grid<'_>, x: f64, y: f64) -> Option<f64> {
    let fi = (x - g.x_range.0) / (g.x_range.1 - g.x_range.0) * (g.nx - 1) as f64;
    let fj = (y - g.y_range.0) / (g.y_range.1 - g.y_range.0) * (g.ny - 1) as f64;
    let i = (fi.floor().max(0.0) as usize).min(g.nx - 2);
    let j = (fj.floor().max(0.0) as usize).min(g.ny - 2);
    let (s, t) = (
        (fi - i as f64).clamp(0.0, 1.0),
        (fj - j as f64).clamp(0.0, 1.0),
    );
    let v = |a: usize, b: usize| g.values[b * g.nx + a];
    let value = (1.0 - t) * ((1.0 - s) * v(i, j) + s * v(i + 1, j))
        + t * ((1.0 - s) * v(i, j + 1) + s * v(i + 1, j + 1));
    value.is_finite().then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bilinear_is_exact_for_bilinear_fields() {
        // f = 1 + 2x + 3y + 4xy on a 3×4 grid over [0,2]×[-1,2].
        let f = |x: f64, y: f64| 1.0 + 2.0 * x + 3.0 * y + 4.0 * x * y;
        let (nx, ny) = (3, 4);
        let mut values = Vec::new();
        for j in 0..ny {
            for i in 0..nx {
                values.push(f(i as f64, -1.0 + j as f64));
            }
        }
        let g = Grid {
            x_range: (0.0, 2.0),
            y_range: (-1.0, 2.0),
            nx,
            ny,
            values: &values,
        };
        for (x, y) in [(0.0, -1.0), (0.3, 0.7), (1.9, 1.99), (2.0, 2.0), (1.0, 0.5)] {
            let got = interpolate(&g, x, y).unwrap();
            assert!(
                (got - f(x, y)).abs() < 1e-12,
                "({x}, {y}): {got} vs {}",
                f(x, y)
            );
        }
        let mut holes = values.clone();
        holes[0] = f64::NAN;
        let g = Grid {
            values: &holes,
            ..g
        };
        assert_eq!(interpolate(&g, 0.2, -0.8), None);
        assert!(interpolate(&g, 1.5, 1.5).is_some());
    }

    #[test]
    fn grid_checks() {
        assert!(check_grid("c", (0.0, 1.0), (0.0, 1.0), (2, 2), 4, 2).is_ok());
        assert!(check_grid("c", (1.0, 1.0), (0.0, 1.0), (2, 2), 4, 2).is_err());
        assert!(check_grid("c", (0.0, f64::NAN), (0.0, 1.0), (2, 2), 4, 2).is_err());
        assert!(check_grid("c", (0.0, 1.0), (0.0, 1.0), (1, 4), 4, 2).is_err());
        let e = check_grid("c", (0.0, 1.0), (0.0, 1.0), (2, 3), 4, 2)
            .unwrap_err()
            .to_string();
        assert!(e.contains("needs 6 values but 4"), "{e}");
        assert!(check_grid("c", (0.0, 1.0), (0.0, 1.0), (usize::MAX, 3), 4, 1).is_err());
    }
}

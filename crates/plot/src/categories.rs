//! Category maps: each grid cell painted in its category's colour, with a legend.

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::axes::Corner;
use crate::contour::check_grid;
use crate::line::{build, equal_aspect, legend, mesh, titled};
use crate::raster::paint;
use crate::render::de;
use crate::CategoryMap;

/// Draws `map` into `area`. The image is sampled once per output pixel (nearest cell),
/// so a 1000×1000 map costs no more than a small one.
pub(crate) fn draw<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    map: &CategoryMap,
) -> Result<()> {
    check_grid(
        "category map",
        map.x_range,
        map.y_range,
        (map.nx, map.ny),
        map.cells.len(),
        1,
    )?;
    if let Some(&bad) = map
        .cells
        .iter()
        .find(|&&c| usize::from(c) >= map.categories.len())
    {
        bail!(
            "category map: a cell holds category {bad} but only {} categories are named",
            map.categories.len()
        );
    }
    let (x0, x1) = map.x_range;
    let (y0, y1) = map.y_range;
    let inner = titled(area, &map.title)?;
    let inner = if map.equal_aspect {
        equal_aspect(&inner, x1 - x0, y1 - y0)
    } else {
        inner
    };
    let mut chart = build(&inner, "", x0..x1, y0..y1)?;
    let (nx, ny) = (map.nx, map.ny);
    paint(&chart.plotting_area().strip_coord_spec(), |u, v| {
        let i = ((u * nx as f64) as usize).min(nx - 1);
        let j = (((1.0 - v) * ny as f64) as usize).min(ny - 1);
        Some(map.categories[usize::from(map.cells[j * nx + i])].1)
    })?;
    mesh(&mut chart, &map.x_label, &map.y_label, (false, false))?;
    for (name, [r, g, b]) in &map.categories {
        let colour = RGBColor(*r, *g, *b);
        chart
            .draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())
            .map_err(de)?
            .label(name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    if !map.categories.is_empty() {
        legend(&mut chart, Corner::UpperRight)?;
    }
    Ok(())
}

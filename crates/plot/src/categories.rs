//! Category maps: each grid cell painted in its category's colour, with a legend of the
//! categories that occur in a column right of the map (never over it).

use anyhow::{bail, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::contour::check_grid;
use crate::font::FAMILY;
use crate::line::{build, equal_aspect, mesh, titled, MARGIN};
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
    let used: Vec<&(String, [u8; 3])> = map
        .categories
        .iter()
        .enumerate()
        .filter(|&(k, _)| map.cells.iter().any(|&c| usize::from(c) == k))
        .map(|(_, c)| c)
        .collect();
    let (inner, legend_area) =
        inner.split_horizontally(inner.dim_in_pixel().0.saturating_sub(legend_width(&used)));
    let inner = if map.equal_aspect {
        equal_aspect(&inner, x1 - x0, y1 - y0)
    } else {
        inner
    };
    let mut chart = build(&inner, "", x0..x1, y0..y1)?;
    // Axes first, then the map over the plotting area: no grid lines across the classes.
    mesh(&mut chart, &map.x_label, &map.y_label, (false, false))?;
    let (nx, ny) = (map.nx, map.ny);
    paint(&chart.plotting_area().strip_coord_spec(), |u, v| {
        let i = ((u * nx as f64) as usize).min(nx - 1);
        let j = (((1.0 - v) * ny as f64) as usize).min(ny - 1);
        Some(map.categories[usize::from(map.cells[j * nx + i])].1)
    })?;
    draw_legend(&legend_area, &used)
}

/// Height of one legend line, pixels.
const LEGEND_LINE: i32 = 24;

/// Room for a colour box and the longest name (DejaVu Sans at 15 px averages ≈ 8.5 px per
/// character), plus margins.
fn legend_width(entries: &[&(String, [u8; 3])]) -> u32 {
    let chars = entries
        .iter()
        .map(|(name, _)| name.chars().count())
        .max()
        .unwrap_or(0);
    if chars == 0 {
        0
    } else {
        40 + (8.5 * chars as f64).ceil() as u32 + MARGIN
    }
}

/// A colour box and the name of each category, top down from the top of the map.
fn draw_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    entries: &[&(String, [u8; 3])],
) -> Result<()> {
    let font = (FAMILY, 15).into_font();
    for (i, (name, [r, g, b])) in entries.iter().enumerate() {
        let (x, y) = (8, MARGIN as i32 + 10 + LEGEND_LINE * i as i32);
        area.draw(&Rectangle::new(
            [(x, y - 7), (x + 18, y + 7)],
            RGBColor(*r, *g, *b).filled(),
        ))
        .map_err(de)?;
        area.draw(&Rectangle::new(
            [(x, y - 7), (x + 18, y + 7)],
            BLACK.mix(0.35),
        ))
        .map_err(de)?;
        area.draw(&Text::new(name.as_str(), (x + 26, y - 8), font.clone()))
            .map_err(de)?;
    }
    Ok(())
}

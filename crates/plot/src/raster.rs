//! Painting an image into a chart's plotting area, pixel row by pixel row; runs of equal
//! colour become one rectangle, which keeps SVG output small for smooth images. The cost
//! is set by the plot's pixel size, not by the resolution of the data.

use anyhow::{anyhow, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

/// Fills the area: `colour(u, v)` gives the colour at the centre of pixel column `u`,
/// row `v` as fractions `(u + ½)/width`, `(v + ½)/height` in `[0, 1]` (v from the top),
/// or `None` to leave the pixel blank.
pub(crate) fn paint<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    colour: impl Fn(f64, f64) -> Option<[u8; 3]>,
) -> Result<()> {
    let (w, h) = area.dim_in_pixel();
    for row in 0..h {
        let v = (f64::from(row) + 0.5) / f64::from(h);
        let mut start = 0u32;
        let mut current = colour(0.5 / f64::from(w), v);
        for col in 1..=w {
            let next = (col < w)
                .then(|| colour((f64::from(col) + 0.5) / f64::from(w), v))
                .flatten();
            if col == w || next != current {
                if let Some([r, g, b]) = current {
                    let rect = Rectangle::new(
                        [(start as i32, row as i32), (col as i32, row as i32 + 1)],
                        RGBColor(r, g, b).filled(),
                    );
                    area.draw(&rect)
                        .map_err(|e| anyhow!("drawing failed: {e}"))?;
                }
                start = col;
                current = next;
            }
        }
    }
    Ok(())
}

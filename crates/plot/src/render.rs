//! Rendering a [`Figure`] to PNG bytes or SVG text, and saving it atomically.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::{categories, contour, font, line, strips, Figure, Format};

/// Size of one panel in pixels (width, height).
pub const PANEL_SIZE: (u32, u32) = (900, 600);

/// Turns a plotters error into an `anyhow` error.
pub(crate) fn de<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("drawing failed: {e}")
}

/// Writes `stem.png` and/or `stem.svg` (one per entry of `formats`) at [`PANEL_SIZE`] per
/// panel, each atomically; returns the paths written.
pub fn save(fig: &Figure, stem: &Path, formats: &[Format]) -> Result<Vec<PathBuf>> {
    save_sized(fig, stem, formats, PANEL_SIZE)
}

/// [`save`] with a given panel size in pixels.
pub fn save_sized(
    fig: &Figure,
    stem: &Path,
    formats: &[Format],
    panel: (u32, u32),
) -> Result<Vec<PathBuf>> {
    let mut written = Vec::with_capacity(formats.len());
    for &format in formats {
        let mut name = OsString::from(stem.as_os_str());
        name.push(".");
        name.push(format.extension());
        let path = PathBuf::from(name);
        let bytes = match format {
            Format::Png => render_png(fig, panel)?,
            Format::Svg => render_svg(fig, panel)?.into_bytes(),
        };
        gdscope_io::write_atomic(&path, &bytes)
            .with_context(|| format!("cannot write figure {}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// The figure's size in pixels: `panel` times the grid's columns and rows.
fn size(fig: &Figure, (w, h): (u32, u32)) -> Result<(u32, u32)> {
    let (cols, rows) = match fig {
        Figure::Grid { cols, panels } => layout(*cols, panels.len())?,
        _ => (1, 1),
    };
    let dim = |n: usize, p: u32| {
        u32::try_from(n)
            .ok()
            .and_then(|n| n.checked_mul(p))
            .filter(|&d| d > 0 && d <= 20_000)
            .with_context(|| format!("a figure of {n} panels of {p} pixels is too large or empty"))
    };
    Ok((dim(cols, w)?, dim(rows, h)?))
}

/// Columns and rows of a grid of `n` panels with `cols` per row.
fn layout(cols: usize, n: usize) -> Result<(usize, usize)> {
    if cols == 0 || n == 0 {
        bail!("a figure grid needs at least one column and one panel (got {cols} columns, {n} panels)");
    }
    let cols = cols.min(n);
    Ok((cols, n.div_ceil(cols)))
}

/// Renders the figure as PNG bytes (8-bit RGB).
pub fn render_png(fig: &Figure, panel: (u32, u32)) -> Result<Vec<u8>> {
    font::ensure_registered()?;
    let (w, h) = size(fig, panel)?;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
        draw(&root, fig)?;
        root.present().map_err(de)?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().context("cannot encode PNG")?;
    writer.write_image_data(&rgb).context("cannot encode PNG")?;
    writer.finish().context("cannot encode PNG")?;
    Ok(out)
}

/// Renders the figure as SVG text.
pub fn render_svg(fig: &Figure, panel: (u32, u32)) -> Result<String> {
    font::ensure_registered()?;
    let size = size(fig, panel)?;
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, size).into_drawing_area();
        root.fill(&WHITE).map_err(de)?;
        draw(&root, fig)?;
        root.present().map_err(de)?;
    }
    Ok(text)
}

fn draw<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<()> {
    match fig {
        Figure::Line(p) => line::draw(area, p),
        Figure::Contour(p) => contour::draw(area, p),
        Figure::Categories(m) => categories::draw(area, m),
        Figure::Strips(s) => strips::draw(area, s),
        Figure::Grid { cols, panels } => {
            let (cols, rows) = layout(*cols, panels.len())?;
            for (k, (cell, panel)) in area
                .split_evenly((rows, cols))
                .iter()
                .zip(panels)
                .enumerate()
            {
                draw(cell, panel).with_context(|| format!("panel {}", k + 1))?;
            }
            Ok(())
        }
    }
}

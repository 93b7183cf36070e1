//! `gdscope-plot`: PNG and SVG figures drawn with `plotters`.
//!
//! Text uses DejaVu Sans embedded in the binary (`assets/DejaVuSans.ttf`, license in
//! `assets/LICENSE-DejaVu`) through plotters' `ab_glyph` backend, so figures render the
//! same everywhere and the build needs nothing but cargo.
//!
//! A [`Figure`] is a line plot ([`LinePlot`]: metrics against step, spectra, densities),
//! a contour plot with trajectories on top ([`ContourPlot`]), a categorical image
//! ([`CategoryMap`]: basins of attraction) or a grid of those. [`save`] renders it to
//! `stem.png` and/or `stem.svg`, each written atomically. The figures are described in
//! `docs/outputs.md`.

mod axes;
mod categories;
mod contour;
mod font;
mod line;
mod log_axis;
pub mod marching;
mod raster;
mod render;
mod style;

pub use render::{render_png, render_svg, save, save_sized, PANEL_SIZE};

/// How a [`Series`] is drawn.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SeriesKind {
    /// A polyline; non-finite points break it.
    #[default]
    Line,
    /// A marker per point.
    Points,
    /// A polyline with a marker per point.
    LinePoints,
    /// A dashed polyline in the series colour (e.g. each run's stability threshold next to
    /// its sharpness, in the same colour).
    Dashed,
}

/// One curve or point set. Points with a non-finite coordinate (and, on a log axis, a
/// non-positive one) are skipped, and a skipped point breaks the line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    /// Legend text; an empty label keeps the series out of the legend.
    pub label: String,
    pub x: Vec<f64>,
    pub y: Vec<f64>,
    pub kind: SeriesKind,
    /// Index into the palette (Tableau 10, cycled); `None` uses the series' position.
    pub color: Option<usize>,
}

/// A dashed horizontal or vertical reference line such as the stability threshold 2/η.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RefLine {
    pub value: f64,
    /// Legend text; empty keeps it out of the legend.
    pub label: String,
}

/// Curves against a common x axis, optionally on log axes, with reference lines.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinePlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub series: Vec<Series>,
    /// Horizontal lines at `y = value`.
    pub hlines: Vec<RefLine>,
    /// Vertical lines at `x = value`.
    pub vlines: Vec<RefLine>,
}

/// A scalar field on a regular grid drawn as filled level bands with iso-lines (marching
/// squares, see [`marching`]), with trajectories and labelled markers on top.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ContourPlot {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Grid points per axis (at least 2 each); `x_i = x0 + i (x1 − x0)/(nx − 1)`.
    pub nx: usize,
    pub ny: usize,
    /// `values[j * nx + i]` is the field at `(x_i, y_j)`; non-finite values are left blank.
    pub values: Vec<f64>,
    /// Number of iso-levels, evenly spaced strictly between the finite min and max
    /// (geometrically over the positive values when `log_levels`).
    pub levels: usize,
    pub log_levels: bool,
    /// Trajectories drawn over the field.
    pub paths: Vec<Series>,
    /// `(x, y, label)` points marked with a cross and their label (e.g. the minimum x*).
    pub markers: Vec<(f64, f64, String)>,
}

/// A categorical image on a regular grid, e.g. the outcome of gradient descent from each
/// start (the basin map), with a legend of the categories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoryMap {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub x_range: (f64, f64),
    pub y_range: (f64, f64),
    /// Cells per axis; cell `(i, j)` covers `[x0 + i·dx, x0 + (i+1)·dx] × [y0 + j·dy, …]`.
    pub nx: usize,
    pub ny: usize,
    /// `cells[j * nx + i]` indexes `categories`.
    pub cells: Vec<u8>,
    /// `(name, RGB colour)` per category, in legend order.
    pub categories: Vec<(String, [u8; 3])>,
}

/// Anything [`save`] can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Line(LinePlot),
    Contour(ContourPlot),
    Categories(CategoryMap),
    /// Panels laid out row by row, `cols` per row, each panel at full panel size.
    Grid {
        cols: usize,
        panels: Vec<Figure>,
    },
}

impl From<LinePlot> for Figure {
    fn from(p: LinePlot) -> Self {
        Figure::Line(p)
    }
}

impl From<ContourPlot> for Figure {
    fn from(p: ContourPlot) -> Self {
        Figure::Contour(p)
    }
}

impl From<CategoryMap> for Figure {
    fn from(p: CategoryMap) -> Self {
        Figure::Categories(p)
    }
}

/// Output file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl std::str::FromStr for Format {
    type Err = anyhow::Error;

    /// Parses `png` or `svg` (any case).
    fn from_str(s: &str) -> anyhow::Result<Format> {
        match s.to_ascii_lowercase().as_str() {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            _ => anyhow::bail!("unknown figure format '{s}'; use png or svg"),
        }
    }
}

impl Format {
    /// The file extension (`png` or `svg`).
    pub fn extension(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

//! `gdscope-plot`: PNG and SVG figures drawn with `plotters`.
//!
//! Text uses DejaVu Sans embedded in the binary (`assets/DejaVuSans.ttf`, license in
//! `assets/LICENSE-DejaVu`) through plotters' `ab_glyph` backend, so figures render the
//! same everywhere and the build needs nothing but cargo.
//!
//! A [`Figure`] is a line plot ([`LinePlot`]: metrics against step, spectra, densities),
//! a contour plot with trajectories on top and a colour bar ([`ContourPlot`]), a
//! categorical image ([`CategoryMap`]: basins of attraction), categories against a
//! parameter ([`CategoryStrips`]: regimes of a learning-rate sweep) or a grid of those. [`save`] renders it to
//! `stem.png` and/or `stem.svg`, each written atomically. The figures are described in
//! `docs/outputs.md`.

mod axes;
mod categories;
mod colorbar;
mod contour;
mod font;
mod line;
mod log_axis;
pub mod marching;
mod raster;
mod render;
mod strips;
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
    /// A fixed y range `(lo, hi)` (points outside are clipped), e.g. to share one range
    /// between panels or to floor a log axis; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
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
    /// Description of the field for the colour bar, e.g. `f(x, y)`.
    pub value_label: String,
    /// Draw one unit of x as long as one unit of y (for axes in the same units, such as
    /// the two coordinates of a parameter space); the plot box shrinks to fit.
    pub equal_aspect: bool,
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
    /// Draw one unit of x as long as one unit of y (see [`ContourPlot::equal_aspect`]).
    pub equal_aspect: bool,
}

/// Categories against a numeric x, one strip per row: e.g. the predicted regime, the
/// observed regime and the verdict of a learning-rate sweep. Each x is painted in its
/// category's colour from the midpoint with its left neighbour to the one with its right
/// neighbour; categories and labelled reference lines are listed under the chart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CategoryStrips {
    pub title: String,
    pub x_label: String,
    pub log_x: bool,
    /// Strictly increasing x values.
    pub x: Vec<f64>,
    /// `(row name, category index per x)`, drawn top to bottom.
    pub rows: Vec<(String, Vec<u8>)>,
    /// `(name, RGB colour)` per category; the legend shows those that occur.
    pub categories: Vec<(String, [u8; 3])>,
    /// Vertical reference lines (e.g. thresholds).
    pub vlines: Vec<RefLine>,
}

/// Anything [`save`] can draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Line(LinePlot),
    Contour(ContourPlot),
    Categories(CategoryMap),
    Strips(CategoryStrips),
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

impl From<CategoryStrips> for Figure {
    fn from(s: CategoryStrips) -> Self {
        Figure::Strips(s)
    }
}

impl From<CategoryMap> for Figure {
    fn from(p: CategoryMap) -> Self {
        Figure::Categories(p)
    }
}

/// A number as figures label it (ticks, legend entries): at most six significant digits,
/// plain within `[1e-3, 1e5)`, else exponent notation (`190.00000000000003` → `190`,
/// `2.5e7`).
pub fn short_number(v: f64) -> String {
    style::tick(&v)
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

//! `gdscope plot`: draw columns of a metrics table (any run's `metrics.parquet`) against
//! one another, with optional log axes and reference lines, to PNG and/or SVG. Rows where
//! a y column is NaN ("not measured") are left out of that column's line.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use gdscope_io::{read_parquet, Column, Table};
use gdscope_plot::{Figure, Format, LinePlot, RefLine, Series};

/// Panels per row when every column gets its own panel.
const GRID_COLUMNS: usize = 3;

/// Arguments of `gdscope plot`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope plot runs/eos/metrics.parquet --y sharpness --hline 20=2/η\n  gdscope plot runs/eos/metrics.parquet --y loss,train_loss --log-y --out runs/eos/loss-only\n  gdscope plot runs/sweep/sweep.parquet --x lr --y angle_deg --log-y --format svg"
)]
pub struct Args {
    /// Metrics table (.parquet), e.g. runs/eos/metrics.parquet.
    pub table: PathBuf,
    /// Column for the x axis [default: `step` when present, else the row number].
    #[arg(long)]
    pub x: Option<String>,
    /// Columns to plot in one panel, comma separated [default: every other numeric column,
    /// each in its own panel].
    #[arg(long, value_delimiter = ',')]
    pub y: Vec<String>,
    /// Logarithmic x axis (non-positive values are skipped).
    #[arg(long)]
    pub log_x: bool,
    /// Logarithmic y axis (non-positive values are skipped).
    #[arg(long)]
    pub log_y: bool,
    /// Horizontal reference line VALUE or VALUE=LABEL, repeatable (e.g. --hline 20=2/η).
    #[arg(long)]
    pub hline: Vec<String>,
    /// Vertical reference line VALUE or VALUE=LABEL, repeatable.
    #[arg(long)]
    pub vline: Vec<String>,
    /// Figure title [default: the table's file name; without --y, each panel's column].
    #[arg(long)]
    pub title: Option<String>,
    /// Output path without extension [default: next to the table, named after the y columns].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Figure formats, comma separated: png, svg.
    #[arg(long, value_delimiter = ',', default_value = "png,svg")]
    pub format: Vec<Format>,
    /// Replace figures that already exist.
    #[arg(long)]
    pub overwrite: bool,
}

pub fn run(args: Args) -> Result<()> {
    let table = read_parquet(&args.table)?;
    let x_name = match &args.x {
        Some(x) => Some(x.clone()),
        None => table.column("step").map(|_| "step".to_string()),
    };
    let x = match &x_name {
        Some(name) => numeric(&table, name)?,
        None => (0..table.nrows()).map(|r| r as f64).collect(),
    };
    let y_names: Vec<String> = if args.y.is_empty() {
        table
            .columns()
            .filter(|(n, c)| {
                Some(*n) != x_name.as_deref() && matches!(c, Column::F64(_) | Column::I64(_))
            })
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        args.y.clone()
    };
    if y_names.is_empty() {
        bail!(
            "{} has no numeric column to plot besides the x axis; name one with --y",
            args.table.display()
        );
    }
    // NaN marks "not measured" in gdscope tables: such rows are dropped per column, so
    // a quantity measured every k steps is drawn as one line through its measurements, and
    // a column never measured is left out (with a note), legend included.
    let mut series = Vec::new();
    let mut empty = Vec::new();
    for name in &y_names {
        let y = numeric(&table, name)?;
        let (xs, ys): (Vec<f64>, Vec<f64>) = x.iter().zip(&y).filter(|(_, v)| !v.is_nan()).unzip();
        if ys.is_empty() {
            empty.push(name.as_str());
            continue;
        }
        series.push(Series {
            label: name.clone(),
            x: xs,
            y: ys,
            // Keep each column's colour whatever is left out before it.
            color: Some(series.len() + empty.len()),
            ..Default::default()
        });
    }
    if series.is_empty() {
        bail!(
            "nothing to plot: {} holds only NaN (not measured) in {}",
            args.table.display(),
            empty.join(", ")
        );
    }
    if !empty.is_empty() {
        eprintln!("note: left out (no measured values): {}", empty.join(", "));
    }
    let plotted: Vec<String> = series.iter().map(|s| s.label.clone()).collect();
    let file_name = args
        .table
        .file_name()
        .map_or_else(String::new, |f| f.to_string_lossy().into_owned());
    let x_label = x_name.unwrap_or_else(|| "row".into());
    let hlines: Vec<RefLine> = args
        .hline
        .iter()
        .map(|s| ref_line(s, "--hline"))
        .collect::<Result<_>>()?;
    let vlines: Vec<RefLine> = args
        .vline
        .iter()
        .map(|s| ref_line(s, "--vline"))
        .collect::<Result<_>>()?;
    let panel = |title: String, y_label: String, series: Vec<Series>| LinePlot {
        title,
        x_label: x_label.clone(),
        y_label,
        log_x: args.log_x,
        log_y: args.log_y,
        y_range: None,
        series,
        hlines: hlines.clone(),
        vlines: vlines.clone(),
    };
    let figure: Figure = if args.y.is_empty() && series.len() > 1 {
        // Every column at once: one panel each (small multiples), since columns of a
        // metrics table live on unrelated scales (a loss, a step count, a cosine).
        let panels = series
            .into_iter()
            .map(|s| {
                let title = match &args.title {
                    Some(t) => format!("{t}: {}", s.label),
                    None => s.label.clone(),
                };
                let one = Series {
                    label: String::new(),
                    color: None,
                    ..s
                };
                panel(title, String::new(), vec![one]).into()
            })
            .collect::<Vec<Figure>>();
        Figure::Grid {
            cols: panels.len().min(GRID_COLUMNS),
            panels,
        }
    } else {
        let y_label = if plotted.len() == 1 {
            plotted[0].clone()
        } else {
            String::new()
        };
        panel(args.title.clone().unwrap_or(file_name), y_label, series).into()
    };
    let stem = args.out.clone().unwrap_or_else(|| {
        args.table
            .with_file_name(default_name(&args.table, &plotted))
    });
    for f in &args.format {
        let mut name = stem.clone().into_os_string();
        name.push(format!(".{}", f.extension()));
        crate::output_file::check_new(&PathBuf::from(name), args.overwrite)?;
    }
    for path in gdscope_plot::save(&figure, &stem, &args.format)? {
        println!("{}", path.display());
    }
    Ok(())
}

/// The default figure name: the plotted columns joined by `-` when that is short, else
/// `<table>-<n>-columns` (e.g. `metrics-12-columns`).
fn default_name(table: &std::path::Path, columns: &[String]) -> String {
    let joined = columns.join("-");
    if joined.chars().count() <= 40 {
        joined
    } else {
        let stem = table
            .file_stem()
            .map_or_else(|| "table".into(), |s| s.to_string_lossy().into_owned());
        format!("{stem}-{}-columns", columns.len())
    }
}

/// A column as f64 values (integers are converted), or an error naming the choices.
fn numeric(table: &Table, name: &str) -> Result<Vec<f64>> {
    match table.column(name) {
        Some(Column::F64(v)) => Ok(v.clone()),
        Some(Column::I64(v)) => Ok(v.iter().map(|&i| i as f64).collect()),
        Some(c) => bail!(
            "column '{name}' holds {} values, which cannot be plotted",
            c.type_name()
        ),
        None => bail!(
            "the table has no column '{name}'; its columns are: {}",
            table.names().collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Parses `VALUE` or `VALUE=LABEL`.
fn ref_line(spec: &str, flag: &str) -> Result<RefLine> {
    let (value, label) = spec.split_once('=').unwrap_or((spec, ""));
    let value: f64 = value.trim().parse().with_context(|| {
        format!("{flag} '{spec}': expected VALUE or VALUE=LABEL with a number VALUE")
    })?;
    Ok(RefLine {
        value,
        label: if label.is_empty() {
            format!("{value}")
        } else {
            label.to_string()
        },
    })
}

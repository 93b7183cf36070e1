//! Flags shared by the analysis commands (`direction`, `sweep-lr`, `basin`).

use std::path::PathBuf;

/// Where results go: stdout as text or JSON, and optionally a run directory.
#[derive(clap::Args, Clone, Debug)]
pub struct OutputArgs {
    /// Print exactly one JSON object instead of text (schema in docs/direction.md).
    #[arg(long)]
    pub json: bool,
    /// Write a run directory here: config.toml, Parquet metrics, summary.json, figures.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Allow --out to replace the files of an existing run.
    #[arg(long)]
    pub overwrite: bool,
    /// Also write the metrics tables as CSV.
    #[arg(long)]
    pub csv: bool,
}

/// Where GD starts and, optionally, the minimum it is compared against.
#[derive(clap::Args, Clone, Debug)]
pub struct StartArgs {
    /// Start point x0 (default: the built-in's start).
    #[arg(long, value_name = "a,b,..", value_delimiter = ',')]
    pub x0: Option<Vec<f64>>,
    /// The minimum x* (default: damped Newton from the known minimum or from x0).
    #[arg(long, value_name = "a,b,..", value_delimiter = ',')]
    pub minimum: Option<Vec<f64>>,
}

//! Flags shared by the analysis commands (`direction`, `sweep-lr`, `basin`).

use std::path::PathBuf;

use gdscope_runs::Output;

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

impl OutputArgs {
    /// The run directory to write, if `--out` was given.
    pub fn run(&self) -> Option<Output> {
        self.out.as_ref().map(|dir| Output {
            dir: dir.clone(),
            overwrite: self.overwrite,
            csv: self.csv,
        })
    }

    /// Prints a finished run: where it went and its text, or exactly one JSON object with
    /// `--json`.
    pub fn print<T>(
        &self,
        done: &T,
        json: impl FnOnce(&T) -> anyhow::Result<String>,
        text: impl FnOnce(&T),
    ) -> anyhow::Result<()> {
        if self.json {
            println!("{}", json(done)?);
        } else {
            if let Some(dir) = &self.out {
                println!("run written to {}", dir.display());
            }
            text(done);
        }
        Ok(())
    }
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

/// The two numbers of a range flag such as `--x-range a,b`.
pub fn pair(v: &[f64], flag: &str) -> anyhow::Result<[f64; 2]> {
    match v {
        [a, b] => Ok([*a, *b]),
        _ => anyhow::bail!("{flag} takes two numbers a,b (got {} values)", v.len()),
    }
}

//! # gdscope-runs
//!
//! Run specs of gdscope's analyses: each command that analyses something (`direction`,
//! `sweep-lr`, `basin`, `curvature`) is a serialisable spec (a serde struct whose TOML form
//! is the `[spec]` table of the run's `config.toml`, every default filled in) and one library
//! entry point, `run(&spec, output, reporter)`, that computes, writes the run directory and
//! returns the results. The CLI only parses flags into these specs and prints what comes
//! back; the Python package calls the same entry points (`gdscope.analyze`). The paper
//! figures of Part 1 (`gdscope reproduce paper-fig1 | paper-fig2`) are direction runs put
//! together by [`paper::run`]. Training runs
//! have theirs in `gdscope-train` (`TrainConfig`, `run::start`). Output schemas:
//! docs/direction.md and docs/curvature.md.

pub mod basin;
pub mod curvature;
pub mod direction;
pub mod network;
pub mod objective;
pub mod paper;
pub mod progress;
pub mod sweep_lr;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use gdscope_io::RunDir;
use serde::{Deserialize, Serialize};

pub use network::{NetworkSpec, ResolvedNetwork};
pub use objective::{ObjectiveSpec, ResolvedObjective};
pub use progress::{Reporter, Silent};

/// Where a run's files go (not part of the spec: the same spec can be run into many
/// directories).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// The run directory.
    pub dir: PathBuf,
    /// Allow replacing the files of an existing run there.
    pub overwrite: bool,
    /// Also write the metrics tables as CSV next to the Parquet files.
    pub csv: bool,
}

impl Output {
    /// A run directory at `dir` that must not hold a run yet, Parquet tables only.
    pub fn new(dir: impl Into<PathBuf>) -> Output {
        Output {
            dir: dir.into(),
            ..Output::default()
        }
    }

    /// Creates (or, with `overwrite`, reuses) the run directory.
    fn create(&self) -> Result<RunDir> {
        create_run_dir(&self.dir, self.overwrite)
    }
}

/// Creates the run directory at `path`, with an error that names it.
pub fn create_run_dir(path: &Path, overwrite: bool) -> Result<RunDir> {
    RunDir::create(path, overwrite)
        .with_context(|| format!("cannot use {} as the run directory", path.display()))
}

/// A run's `config.toml`: the command, the spec as given (every default filled in), and
/// what it resolved to (objective or network, start, minimum, tolerances).
#[derive(Serialize)]
struct RunConfig<'a, S: Serialize, R: Serialize> {
    command: &'static str,
    #[serde(flatten)]
    resolved: R,
    spec: &'a S,
}

fn write_config<S: Serialize, R: Serialize>(
    run: &RunDir,
    command: &'static str,
    spec: &S,
    resolved: R,
) -> Result<()> {
    run.write_toml(
        "config.toml",
        &RunConfig {
            command,
            resolved,
            spec,
        },
    )?;
    Ok(())
}

/// Reads the spec of a run directory written by one of this crate's entry points (the
/// `[spec]` table of its `config.toml`), e.g. to re-run it elsewhere.
pub fn read_spec<S: for<'de> Deserialize<'de>>(run: &Path, command: &str) -> Result<S> {
    let path = run.join("config.toml");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let config: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not TOML", path.display()))?;
    let found = config.get("command").and_then(|c| c.as_str());
    anyhow::ensure!(
        found == Some(command),
        "{} is the config of a `{}` run, not of `{command}`",
        path.display(),
        found.unwrap_or("(unknown)")
    );
    let spec = config
        .get("spec")
        .cloned()
        .with_context(|| format!("{} has no [spec] table", path.display()))?;
    spec.try_into()
        .with_context(|| format!("{}: [spec]", path.display()))
}

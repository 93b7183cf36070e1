//! A training run on disk (docs/training.md "Run directory"): creates or resumes the run
//! directory, drives the [`Trainer`] with a progress bar, writes checkpoints and
//! `metrics.parquet` atomically every `checkpoint.every` steps (so metrics are readable while
//! the run goes), and at the end `weights.npy`, `summary.json` and the figures.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use gdscope_io::{RunDir, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::checkpoint::Checkpoint;
use crate::config::TrainConfig;
use crate::figures;
use crate::metrics::Metrics;
use crate::network::NetworkProblem;
use crate::summary::Summary;
use crate::trainer::Trainer;

/// What a finished (or stopped) run reports.
#[derive(Debug)]
pub struct RunReport {
    /// The run directory.
    pub dir: PathBuf,
    /// The summary also written to `summary.json`.
    pub summary: Summary,
    /// Files written at the end (metrics, weights, summary, figures).
    pub files: Vec<PathBuf>,
    /// All rows of the run.
    pub metrics: Metrics,
}

/// Starts a new run of `config` in `dir`, which must not hold another run unless `overwrite`.
pub fn start(
    config: TrainConfig,
    dir: &Path,
    overwrite: bool,
    progress: bool,
) -> anyhow::Result<RunReport> {
    let run_dir = RunDir::create(dir, overwrite)?;
    run_dir.write_bytes("config.toml", config.to_toml()?.as_bytes())?;
    let net = NetworkProblem::build(&config)?;
    let w0 = net.init_weights(&config);
    let n = gdscope_core::Objective::num_examples(&net.objective);
    let trainer = Trainer::new(config, w0, n)?;
    drive(dir, &run_dir, trainer, &net, progress)
}

/// Resumes the run in `dir` from its checkpoint. `steps` may extend (never shorten below the
/// steps already taken) the configured number of steps.
pub fn resume(dir: &Path, steps: Option<u64>, progress: bool) -> anyhow::Result<RunReport> {
    let ckpt = Checkpoint::load(dir)?;
    let mut config = ckpt.config;
    if let Some(s) = steps {
        anyhow::ensure!(
            s >= ckpt.state.step,
            "--set steps={s} is below the {} steps this run has already taken",
            ckpt.state.step
        );
        config.steps = s;
    }
    let run_dir = RunDir::create(dir, true)?;
    run_dir.write_bytes("config.toml", config.to_toml()?.as_bytes())?;
    let net = NetworkProblem::build(&config)?;
    let trainer = Trainer::resume(config, ckpt.state)?;
    drive(dir, &run_dir, trainer, &net, progress)
}

fn progress_bar(total: u64, done: u64, enabled: bool) -> ProgressBar {
    let target = if enabled {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(total), target);
    let style =
        ProgressStyle::with_template("{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_position(done);
    bar
}

fn drive(
    dir: &Path,
    run_dir: &RunDir,
    mut trainer: Trainer,
    net: &NetworkProblem,
    progress: bool,
) -> anyhow::Result<RunReport> {
    let clock = Instant::now();
    let every = trainer.config().checkpoint.every;
    let bar = progress_bar(trainer.config().steps, trainer.state().step, progress);
    let mut sharpness = f64::NAN;
    while let Some(row) = trainer.step(net.problem())? {
        if row.sharpness().is_finite() {
            sharpness = row.sharpness();
        }
        bar.set_message(format!(
            "loss {:.4e}  sharpness {sharpness:.3} (threshold {:.3})",
            row.loss, row.threshold
        ));
        bar.inc(1);
        let done = trainer.state().step;
        if every > 0 && done % every == 0 && !trainer.state().status.is_finished() {
            checkpoint(dir, run_dir, &trainer)?;
        }
    }
    bar.finish_and_clear();
    checkpoint(dir, run_dir, &trainer)?;
    let state = trainer.state();
    let mut files = vec![
        run_dir.file("metrics.parquet"),
        run_dir.file("checkpoint.bin"),
    ];
    let weights = run_dir.file("weights.npy");
    gdscope_io::npy::write_npy(&weights, &[state.weights.len()], &state.weights)?;
    files.push(weights);
    let mut timings = trainer.timings().clone();
    timings.wall_s = clock.elapsed().as_secs_f64();
    let hvps = state.tracker.as_ref().map_or(0, |t| t.total_hvps);
    let summary = Summary::new(&state.metrics, state.status.clone(), hvps, timings);
    files.push(run_dir.write_json("summary.json", &summary)?);
    // Adaptive optimizers keep a second moment; with it the tracked matrix is P^{-1/2}HP^{-1/2}.
    let preconditioned =
        trainer.config().tracking.effective_hessian && !state.optimizer.second_moment.is_empty();
    files.extend(figures::training_figures(
        &state.metrics,
        dir,
        preconditioned,
    )?);
    Ok(RunReport {
        dir: dir.to_path_buf(),
        summary,
        files,
        metrics: state.metrics.clone(),
    })
}

/// Writes the checkpoint and rewrites `metrics.parquet`, both atomically.
fn checkpoint(dir: &Path, run_dir: &RunDir, trainer: &Trainer) -> anyhow::Result<()> {
    let ckpt = Checkpoint {
        config: trainer.config().clone(),
        state: trainer.state().clone(),
    };
    ckpt.save(dir)?;
    run_dir.write_metrics("metrics", &metrics_table(&trainer.state().metrics)?, false)?;
    Ok(())
}

/// The metrics as a table: `step` (integer) then the float columns of [`Metrics::float_columns`].
pub fn metrics_table(metrics: &Metrics) -> anyhow::Result<Table> {
    let mut table = Table::new();
    table.push_i64("step", metrics.steps())?;
    for (name, values) in metrics.float_columns() {
        table
            .push_f64(&name, values)
            .with_context(|| format!("metrics column {name}"))?;
    }
    Ok(table)
}

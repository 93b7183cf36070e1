//! A training run on disk (docs/training.md "Run directory", docs/outputs.md): builds the
//! problem and the lockstep [`Driver`], prepares the run directory, streams every step's
//! record into `metrics.csv`, checkpoints the state (at the start, every
//! `checkpoint.every` steps, at the end and when interrupted), and at the end (or on an
//! interrupt) writes `metrics.parquet`, `weights.npy`, `summary.json` and the figures.
//!
//! Nothing is written before the problem and the driver are built, so a run that fails before
//! its first step (bad data path, shape mismatch, batch too large, bad initial weights)
//! leaves the directory as it was and a corrected run can use it. `manifest.json` lists the
//! files a run wrote; `--overwrite` removes exactly those (and the files of older runs that
//! had no manifest), never other files.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use gdscope_dynamics::record::column_name;
use gdscope_dynamics::{Driver, Record};
use gdscope_io::{RunDir, Table};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::central::CentralFlowSummary;
use crate::checkpoint::{self, Checkpoint, CHECKPOINT_FILE, RETAINED_DIR};
use crate::config::TrainConfig;
use crate::metrics::{self, read_log, MetricsLog, METRICS_LOG};
use crate::network::NetworkProblem;
use crate::summary::{Halted, Summary};
use crate::{central_figures, figures, fork};

/// What a finished (or interrupted) run reports.
#[derive(Debug)]
pub struct RunReport {
    /// The run directory.
    pub dir: PathBuf,
    /// The summary also written to `summary.json`.
    pub summary: Summary,
    /// Files written at the end (metrics, weights, summary, figures).
    pub files: Vec<PathBuf>,
    /// Every step's metrics (the table of `metrics.parquet`).
    pub metrics: Table,
    /// Whether the run stopped on a request ([`RunOptions::stop`]) and can be resumed.
    pub interrupted: bool,
}

/// How progress is shown on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Nothing.
    Hidden,
    /// A progress bar (for a terminal).
    Bar,
    /// A line every 5% of the steps or 30 s (for logs, e.g. Slurm's).
    Lines,
}

impl Progress {
    /// A bar when stderr is a terminal, else lines.
    pub fn auto() -> Self {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            Progress::Bar
        } else {
            Progress::Lines
        }
    }
}

/// Options of [`start_with`] and [`resume_with`].
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Replace the files of a run already in the directory.
    pub overwrite: bool,
    /// Progress display.
    pub progress: Progress,
    /// When set to true (for example by a SIGINT/SIGTERM handler), the run stops after the
    /// current step, writes a checkpoint and its outputs, and reports `interrupted`.
    pub stop: Option<Arc<AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            overwrite: false,
            progress: Progress::Hidden,
            stop: None,
        }
    }
}

/// Starts a new run of `config` in `dir` (see [`start_with`]); `progress` shows a bar on a
/// terminal and lines otherwise.
pub fn start(
    config: TrainConfig,
    dir: &Path,
    overwrite: bool,
    progress: bool,
) -> anyhow::Result<RunReport> {
    let progress = if progress {
        Progress::auto()
    } else {
        Progress::Hidden
    };
    start_with(
        config,
        dir,
        &RunOptions {
            overwrite,
            progress,
            stop: None,
        },
    )
}

/// Resumes the run in `dir` (see [`resume_with`]).
pub fn resume(dir: &Path, steps: Option<u64>, progress: bool) -> anyhow::Result<RunReport> {
    let progress = if progress {
        Progress::auto()
    } else {
        Progress::Hidden
    };
    resume_with(
        dir,
        steps,
        &RunOptions {
            progress,
            ..RunOptions::default()
        },
    )
}

/// Starts a new run of `config` in `dir`, which must not hold another run unless
/// `options.overwrite`. A config with `[fork]` starts from its parent's state at the fork
/// step (see [`crate::fork`]; [`fork_with`] builds such a config from a parent run).
pub fn start_with(
    mut config: TrainConfig,
    dir: &Path,
    options: &RunOptions,
) -> anyhow::Result<RunReport> {
    config.validate()?;
    let net = NetworkProblem::build(&config)?;
    let (driver, w0, forked) = match &config.fork {
        None => {
            let w0 = net.init_weights(&config)?;
            let driver = Driver::new(config.run_spec(), net.problem(), w0.clone())?;
            (driver, w0, None)
        }
        Some(origin) => {
            refuse_parent_dir(dir, &origin.parent)?;
            let start = fork::start_state(&mut config, &net)?;
            let t = start.state.step;
            let driver = Driver::resume(config.run_spec(), net.problem(), start.state)?;
            let len = metrics::rows_before(&start.parent_log, driver.schema(), t)?;
            (driver, start.w0, Some((start.parent_log, len)))
        }
    };
    prepare_dir(dir, options.overwrite)?;
    let run_dir = RunDir::create(dir, true)?;
    let mut manifest = Manifest::default();
    run_dir.write_bytes("config.toml", config.to_toml()?.as_bytes())?;
    gdscope_io::npy::write_npy(&run_dir.file("weights_init.npy"), &[w0.len()], &w0)?;
    let log = match &forked {
        None => MetricsLog::create(dir, driver.schema())?,
        Some((parent_log, len)) => MetricsLog::create_forked(dir, parent_log, *len)?,
    };
    manifest.extend(
        dir,
        [
            "config.toml",
            "weights_init.npy",
            METRICS_LOG,
            CHECKPOINT_FILE,
        ],
    )?;
    let mut run = Run {
        dir,
        run_dir: &run_dir,
        config: &config,
        driver,
        log,
        manifest,
    };
    run.checkpoint()?;
    run.drive(&net, options)
}

/// Forks the run in `parent` at step `at_step` (default: its last checkpoint) into `dir`,
/// with `overrides` (`path=value`, as `--set`) changing the parent's settings; the parent is
/// only read (see [`crate::fork`]).
pub fn fork_with(
    parent: &Path,
    at_step: Option<u64>,
    overrides: &[String],
    dir: &Path,
    options: &RunOptions,
) -> anyhow::Result<RunReport> {
    start_with(fork::fork_config(parent, at_step, overrides)?, dir, options)
}

/// A fork never replaces its parent.
fn refuse_parent_dir(dir: &Path, parent: &Path) -> anyhow::Result<()> {
    let same = match (std::fs::canonicalize(dir), std::fs::canonicalize(parent)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    anyhow::ensure!(
        !same,
        "the fork's directory {} is its parent's; choose another --fork directory",
        dir.display()
    );
    Ok(())
}

/// Resumes the run in `dir` from its checkpoint (verified by its checksum), with its
/// metrics log truncated to that step. `steps` may extend (never shorten below the steps
/// already taken) the configured number of steps.
pub fn resume_with(
    dir: &Path,
    steps: Option<u64>,
    options: &RunOptions,
) -> anyhow::Result<RunReport> {
    let ckpt = Checkpoint::load(dir)?;
    let mut config = ckpt.config;
    if let Some(s) = steps {
        anyhow::ensure!(
            s >= ckpt.driver.step,
            "--set steps={s} is below the {} steps this run has already taken",
            ckpt.driver.step
        );
        config.steps = s;
    }
    let net = NetworkProblem::build(&config)?;
    let driver = Driver::resume(config.run_spec(), net.problem(), ckpt.driver)?;
    let log = MetricsLog::reopen(dir, driver.schema(), ckpt.metrics_len)?;
    let run_dir = RunDir::create(dir, true)?;
    run_dir.write_bytes("config.toml", config.to_toml()?.as_bytes())?;
    let run = Run {
        dir,
        run_dir: &run_dir,
        config: &config,
        driver,
        log,
        manifest: Manifest::load(dir),
    };
    run.drive(&net, options)
}

/// A run in progress.
struct Run<'a> {
    dir: &'a Path,
    run_dir: &'a RunDir,
    config: &'a TrainConfig,
    driver: Driver,
    log: MetricsLog,
    manifest: Manifest,
}

impl Run<'_> {
    /// Whether the tracked eigenvalues are the preconditioned Hessian's: an adaptive rule
    /// (one whose tracking preconditioner is not the identity) with `effective_hessian`.
    fn tracks_preconditioned_hessian(&self) -> bool {
        use gdscope_core::rules::{Preconditioning, RuleState};
        let rule = self.config.optimizer.rule();
        let state = RuleState::zeros(rule, 1);
        self.config.tracking.effective_hessian
            && rule.tracking_preconditioner(&state, &mut Vec::new()) != Preconditioning::Identity
    }

    /// Syncs the log and writes the checkpoint atomically (log first, so the checkpoint
    /// never points past what is on disk).
    fn checkpoint(&mut self) -> anyhow::Result<()> {
        let metrics_len = self.log.sync()?;
        let driver = self.driver.save()?;
        let step = driver.step;
        Checkpoint {
            config: self.config.clone(),
            driver,
            metrics_len,
        }
        .save(self.dir)?;
        checkpoint::retain(self.dir, step, &self.config.checkpoint)
    }

    fn drive(mut self, net: &NetworkProblem, options: &RunOptions) -> anyhow::Result<RunReport> {
        let clock = Instant::now();
        let primary = self.config.run_spec().primary();
        let primary = self.config.processes[primary].as_str();
        let mut progress = Reporter::new(
            options.progress,
            self.config.steps,
            self.driver.step_index(),
            |m| self.driver.schema().index(&column_name(primary, m)),
        );
        let stopped = || {
            options
                .stop
                .as_ref()
                .is_some_and(|s| s.load(Ordering::SeqCst))
        };
        let mut interrupted = false;
        loop {
            if stopped() {
                interrupted = !self.driver.status().is_finished();
                break;
            }
            let Some(record) = self.driver.step(net.problem())? else {
                break;
            };
            self.log.append(record)?;
            progress.update(record);
            let done = self.driver.step_index();
            if self.config.checkpoint.due(done) && !self.driver.status().is_finished() {
                self.checkpoint()?;
            }
        }
        progress.finish();
        self.checkpoint()?;
        self.finish(primary, interrupted, clock)
    }

    /// The outputs of a finished or interrupted run.
    fn finish(
        mut self,
        primary: &str,
        interrupted: bool,
        clock: Instant,
    ) -> anyhow::Result<RunReport> {
        let table = read_log(&self.dir.join(METRICS_LOG), Some(self.driver.schema()))?;
        let mut files = self.run_dir.write_metrics("metrics", &table, false)?;
        files.push(self.run_dir.file(CHECKPOINT_FILE));
        let w = self.driver.weights();
        let weights = self.run_dir.file("weights.npy");
        gdscope_io::npy::write_npy(&weights, &[w.len()], w)?;
        files.push(weights);
        let mut timings = self.driver.timings().clone();
        timings.wall_s = clock.elapsed().as_secs_f64();
        let mut summary = Summary::new(&table, primary, self.driver.status().clone(), timings);
        summary.interrupted_at = interrupted.then(|| self.driver.step_index());
        summary.processes = self
            .config
            .processes
            .iter()
            .map(|p| p.as_str().to_string())
            .collect();
        summary.halted = self
            .driver
            .halted()
            .into_iter()
            .map(|(p, reason)| Halted {
                process: p.as_str().to_string(),
                reason,
            })
            .collect();
        summary.eigen_hvps = self.driver.eigen_hvps();
        summary.fork = self.config.fork.clone();
        summary.central_flow =
            CentralFlowSummary::from_table(&table, self.config.process.central.smoothing);
        files.push(self.run_dir.write_json("summary.json", &summary)?);
        files.extend(figures::training_figures(
            &table,
            self.dir,
            &self.config.optimizer,
            self.tracks_preconditioned_hessian(),
            self.config.fork.as_ref().map(|f| f.step),
            self.config.process.central.smoothing,
        )?);
        let names: Vec<String> = files
            .iter()
            .filter_map(|f| f.file_name()?.to_str().map(String::from))
            .collect();
        self.manifest
            .extend(self.dir, names.iter().map(String::as_str))?;
        Ok(RunReport {
            dir: self.dir.to_path_buf(),
            summary,
            files,
            metrics: table,
            interrupted,
        })
    }
}

/// The files a run wrote (`manifest.json`), so that `--overwrite` removes exactly those.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Manifest {
    files: BTreeSet<String>,
}

/// File name of the manifest.
const MANIFEST: &str = "manifest.json";

/// Files gdscope train writes (for directories of runs made before manifests existed).
const KNOWN_FILES: &[&str] = &[
    "config.toml",
    CHECKPOINT_FILE,
    METRICS_LOG,
    "metrics.parquet",
    "weights.npy",
    "weights_init.npy",
    "summary.json",
    MANIFEST,
];
const KNOWN_FIGURES: &[&str] = &[
    "loss",
    "sharpness",
    "update_cosine",
    "projection",
    "distance",
    "flow_distance",
    "step_curvature",
];

impl Manifest {
    fn load(dir: &Path) -> Self {
        std::fs::read(dir.join(MANIFEST))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Adds `names` and rewrites `manifest.json` atomically.
    fn extend<'n>(
        &mut self,
        dir: &Path,
        names: impl IntoIterator<Item = &'n str>,
    ) -> anyhow::Result<()> {
        self.files.extend(names.into_iter().map(String::from));
        self.files.insert(MANIFEST.into());
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        gdscope_io::write_atomic(&dir.join(MANIFEST), &text)
            .with_context(|| format!("cannot write {}", dir.join(MANIFEST).display()))
    }
}

/// Whether `name` is a file `gdscope train` writes.
fn is_run_file(name: &str) -> bool {
    KNOWN_FILES.contains(&name)
        || KNOWN_FIGURES
            .iter()
            .chain(&central_figures::STEMS)
            .any(|stem| {
                name.strip_prefix(stem)
                    .is_some_and(|ext| ext == ".png" || ext == ".svg")
            })
}

/// Makes `dir` ready for a new run (module docs): refuses a directory holding a run unless
/// `overwrite`, then removes the old run's files; refuses foreign files unless `overwrite`
/// (they stay).
fn prepare_dir(dir: &Path, overwrite: bool) -> anyhow::Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    anyhow::ensure!(
        dir.is_dir(),
        "{} exists and is not a directory; choose another --out",
        dir.display()
    );
    let names: Vec<String> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list run directory {}", dir.display()))?
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .collect();
    let manifest = Manifest::load(dir);
    let holds_run = names.iter().any(|n| {
        n == CHECKPOINT_FILE
            || n == METRICS_LOG
            || n == "metrics.parquet"
            || n == MANIFEST
            || n == RETAINED_DIR
    });
    if holds_run && !overwrite {
        anyhow::bail!(
            "run directory {} already holds a run; pass --overwrite to replace it (its files \
             are removed, other files stay), use --resume {0} to continue it, or choose another --out",
            dir.display()
        );
    }
    let foreign: Vec<&String> = names
        .iter()
        .filter(|n| !is_run_file(n) && !manifest.files.contains(*n) && *n != RETAINED_DIR)
        .collect();
    if !foreign.is_empty() && !overwrite {
        anyhow::bail!(
            "run directory {} already holds other files ({}); pass --overwrite to add the run \
             beside them or choose another --out",
            dir.display(),
            foreign
                .iter()
                .take(3)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for name in names
        .iter()
        .filter(|n| is_run_file(n) || manifest.files.contains(*n))
    {
        let path = dir.join(name);
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove {} of the old run", path.display()))?;
    }
    remove_retained(dir)
}

/// Removes the old run's kept checkpoints (`checkpoints/step-*.bin`), and the directory when
/// nothing else is in it.
fn remove_retained(dir: &Path) -> anyhow::Result<()> {
    for step in checkpoint::retained_steps(dir) {
        let path = checkpoint::retained_path(dir, step);
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove {} of the old run", path.display()))?;
    }
    // Fails (and stays) when other files are in it.
    let _ = std::fs::remove_dir(dir.join(RETAINED_DIR));
    Ok(())
}

/// Progress on stderr: a bar, lines, or nothing.
struct Reporter {
    mode: Progress,
    bar: Option<ProgressBar>,
    total: u64,
    done: u64,
    every: u64,
    clock: Instant,
    last_line: Instant,
    columns: [Option<usize>; 3],
    sharpness: f64,
    loss: f64,
    threshold: f64,
}

impl Reporter {
    fn new(mode: Progress, total: u64, done: u64, column: impl Fn(&str) -> Option<usize>) -> Self {
        let bar = (mode == Progress::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} steps  {msg}  [{elapsed} < {eta}]",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_position(done);
            bar
        });
        Self {
            mode,
            bar,
            total,
            done,
            every: (total / 20).max(1),
            clock: Instant::now(),
            last_line: Instant::now(),
            columns: [column("loss"), column("sharpness"), column("threshold")],
            sharpness: f64::NAN,
            loss: f64::NAN,
            threshold: f64::NAN,
        }
    }

    fn message(&self) -> String {
        format!(
            "loss {:.4e}  sharpness {:.3} (threshold {:.3})",
            self.loss, self.sharpness, self.threshold
        )
    }

    fn update(&mut self, record: &Record) {
        if self.mode == Progress::Hidden {
            return;
        }
        let get = |c: Option<usize>| c.map_or(f64::NAN, |c| record.get(c));
        self.loss = get(self.columns[0]);
        let s = get(self.columns[1]);
        if s.is_finite() {
            self.sharpness = s;
        }
        self.threshold = get(self.columns[2]);
        self.done = record.step + 1;
        if let Some(bar) = &self.bar {
            bar.set_message(self.message());
            bar.set_position(self.done);
        } else if self.done % self.every == 0 || self.last_line.elapsed().as_secs() >= 30 {
            self.line();
        }
    }

    fn line(&mut self) {
        eprintln!(
            "step {}/{}  {}  {:.1} s",
            self.done,
            self.total,
            self.message(),
            self.clock.elapsed().as_secs_f64()
        );
        self.last_line = Instant::now();
    }

    fn finish(&mut self) {
        match (&self.bar, self.mode) {
            (Some(bar), _) => bar.finish_and_clear(),
            (None, Progress::Lines) if self.done % self.every != 0 => self.line(),
            _ => {}
        }
    }
}

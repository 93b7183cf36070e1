//! Runs one member: the only place that calls the training library
//! (`gdscope_train::run::start` / `resume`). Both backends come here — the local workers in
//! threads, a Slurm task through `gdscope sweep run-member DIR INDEX`.
//!
//! A member that already completed or diverged is left alone; one that has a checkpoint
//! resumes from it (bit for bit, see docs/training.md); any other starts afresh. The attempt
//! is recorded in `member.json` (see [`crate::state`]); an error or a panic becomes a `failed`
//! state with the message, never an error of the sweep.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use anyhow::{bail, Context, Result};
use gdscope_train::checkpoint::{Checkpoint, CHECKPOINT_FILE};
use gdscope_train::config::TrainConfig;
use gdscope_train::dynamics::Status;
use gdscope_train::run::{self, RunReport};

use crate::manifest::Sweep;
use crate::process;
use crate::state::{MemberState, Recorded, Recorder};
use crate::status::{member_status, MemberStatus, State};

/// Where and how a member runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberContext {
    /// Compute threads (a private thread pool of this size runs the member).
    pub threads: usize,
    /// `JOB_TASK` when running as a Slurm array task.
    pub slurm_task: Option<String>,
}

impl MemberContext {
    /// For a process that runs one member: under Slurm, the task id from
    /// `SLURM_ARRAY_JOB_ID`/`SLURM_ARRAY_TASK_ID` and `SLURM_CPUS_PER_TASK` threads;
    /// elsewhere every CPU this process may use.
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let slurm_task = match (var("SLURM_ARRAY_JOB_ID"), var("SLURM_ARRAY_TASK_ID")) {
            (Some(j), Some(t)) => Some(format!("{j}_{t}")),
            _ => None,
        };
        let threads = var("SLURM_CPUS_PER_TASK")
            .and_then(|c| c.parse().ok())
            .filter(|&c: &usize| c >= 1)
            .unwrap_or_else(process::available_cpus);
        Self {
            threads,
            slurm_task,
        }
    }
}

/// Runs member `index` of `sweep` (see the module docs) and returns its status afterwards.
///
/// Errors only when the member cannot be run at all (no such member, its directory is not
/// writable, it is already running in another live process); a failing run is a `failed`
/// status.
pub fn run_member(sweep: &Sweep, index: usize, ctx: &MemberContext) -> Result<MemberStatus> {
    let member = sweep.member(index)?;
    let dir = sweep.member_dir(member);
    std::fs::create_dir_all(&dir)
        .with_context(|| format!("cannot create the run directory {}", dir.display()))?;
    let before = member_status(sweep, member, None)?;
    match before.state {
        State::Completed | State::Diverged => return Ok(before),
        State::Running => bail!(
            "member {index} ({}) is already running (see {}); not starting it twice",
            member.label(),
            dir.join(crate::state::MEMBER_FILE).display()
        ),
        State::Pending | State::Failed | State::Cancelled => {}
    }
    let resumed_from_step = dir
        .join(CHECKPOINT_FILE)
        .exists()
        .then(|| Checkpoint::load(&dir).ok().map(|c| c.driver.step))
        .flatten();
    let pid = std::process::id();
    let recorder = Recorder::start(
        &dir,
        MemberState {
            state: Recorded::Running,
            reason: None,
            attempt: before.attempt + 1,
            host: process::host_name(),
            pid,
            process_start: process::process_start_time(pid),
            slurm_task: ctx.slurm_task.clone(),
            threads: ctx.threads,
            resumed_from_step,
            started: process::utc_now(),
            finished: None,
            heartbeat_unix: process::unix_now(),
        },
    )?;
    let outcome = train_in_pool(sweep, index, &dir, ctx.threads);
    let (state, reason) = match outcome {
        Ok(report) => recorded_outcome(&report.summary.status),
        Err(message) => (Recorded::Failed, Some(message)),
    };
    let finish = recorder.finish(state, reason);
    process::unregister(&recorder);
    finish?;
    member_status(sweep, member, None)
}

/// The run in a thread pool of `threads`, with errors and panics turned into a message.
fn train_in_pool(
    sweep: &Sweep,
    index: usize,
    dir: &Path,
    threads: usize,
) -> Result<RunReport, String> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(move |i| format!("gdscope-member-{index}-{i}"))
        .build()
        .map_err(|e| format!("cannot start {threads} compute threads: {e}"))?;
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.install(|| train(sweep, index, dir))
    }));
    match result {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(panic) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "unknown panic".into());
            Err(format!("internal error (panic): {text}"))
        }
    }
}

/// Resumes from the checkpoint when there is one, else starts from the member's
/// `config.toml` (written when the sweep was created).
fn train(sweep: &Sweep, index: usize, dir: &Path) -> Result<RunReport> {
    if dir.join(CHECKPOINT_FILE).exists() {
        return run::resume(dir, None, false);
    }
    let config_path = dir.join("config.toml");
    let config = if config_path.exists() {
        TrainConfig::load(&config_path, &[])?
    } else {
        sweep.member_config(sweep.member(index)?)?
    };
    for stale in ["metrics.parquet", "summary.json", "weights.npy"] {
        let p = dir.join(stale);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
    }
    run::start(config, dir, true, false)
}

/// The member state a finished run's status maps to.
fn recorded_outcome(status: &Status) -> (Recorded, Option<String>) {
    match status {
        Status::Completed => (Recorded::Completed, None),
        Status::LossGoal => (Recorded::Completed, Some("stop.loss_below reached".into())),
        Status::AccuracyGoal => (
            Recorded::Completed,
            Some("stop.accuracy_above reached".into()),
        ),
        Status::Diverged { reason } => (Recorded::Diverged, Some(reason.clone())),
        Status::Running => (
            Recorded::Failed,
            Some("the run stopped before its last step".into()),
        ),
    }
}

//! Where every member of a sweep stands, read from the run directories (`member.json`,
//! `summary.json`, `metrics.parquet`) for both backends; `squeue`, when it answers, only adds
//! what a directory cannot know (a task still queued, or one that left the queue without
//! ever starting). No Slurm accounting is needed.
//!
//! | state | meaning |
//! |---|---|
//! | `pending` | never started, or queued |
//! | `running` | its process is alive (same host: pid and start time; other host: heartbeat younger than [`STALE_S`](crate::state::STALE_S) s, or `squeue` lists it running) |
//! | `completed` | all steps taken (or a stopping goal reached) |
//! | `diverged` | the run diverged; the reason says how |
//! | `failed` | an error stopped it (the reason holds the message), or its process vanished |
//! | `cancelled` | a signal stopped it (scancel, time limit, Ctrl-C), or Slurm dropped it before it started |
//!
//! Re-running a sweep runs the members that are `pending`, `failed` or `cancelled`
//! (resuming from their checkpoints) and skips `completed`, `diverged` and `running` ones.

use std::path::PathBuf;

use anyhow::Result;
use serde::Serialize;

use crate::manifest::{Member, Sweep};
use crate::process;
use crate::slurm::{is_active_slurm_state, Queue};
use crate::state::{MemberState, Recorded, STALE_S};

/// The state of a member as `gdscope sweep status` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Not started yet, or queued.
    Pending,
    /// Training now.
    Running,
    /// Finished all its steps (or reached a stopping goal).
    Completed,
    /// Diverged (a result).
    Diverged,
    /// Stopped by an error, or its process vanished.
    Failed,
    /// Stopped by a signal, or dropped from the queue before it started.
    Cancelled,
}

impl State {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Running => "running",
            State::Completed => "completed",
            State::Diverged => "diverged",
            State::Failed => "failed",
            State::Cancelled => "cancelled",
        }
    }

    /// Finished with a result (never run again).
    pub fn is_done(self) -> bool {
        matches!(self, State::Completed | State::Diverged)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One member's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemberStatus {
    /// Member index.
    pub index: usize,
    /// Member id.
    pub id: String,
    /// Run directory.
    pub dir: PathBuf,
    /// State.
    pub state: State,
    /// Why it failed, diverged or was cancelled; what it waits for when queued.
    pub reason: Option<String>,
    /// Attempts so far.
    pub attempt: u32,
    /// Steps recorded in the member's `metrics.csv` (or its final `metrics.parquet`).
    pub steps_done: Option<u64>,
    /// Configured steps.
    pub steps_total: Option<u64>,
    /// The Slurm task (`job_index`) of the latest attempt or submission.
    pub slurm_task: Option<String>,
    /// The member's settings, for display.
    pub label: String,
    /// Pending in a Slurm queue (or submitted, when `squeue` cannot confirm it).
    pub queued: bool,
}

impl MemberStatus {
    /// True when a re-run should run this member: `pending` and not queued, `failed` or
    /// `cancelled`.
    pub fn wants_run(&self) -> bool {
        match self.state {
            State::Pending => !self.queued,
            State::Failed | State::Cancelled => true,
            State::Running | State::Completed | State::Diverged => false,
        }
    }
}

/// The status of every member, in index order. `queue` is what `squeue` said about the
/// sweep's Slurm jobs, if anything.
pub fn sweep_status(sweep: &Sweep, queue: Option<&Queue>) -> Result<Vec<MemberStatus>> {
    sweep
        .manifest
        .members
        .iter()
        .map(|m| member_status(sweep, m, queue))
        .collect()
}

/// The status of one member.
pub fn member_status(
    sweep: &Sweep,
    member: &Member,
    queue: Option<&Queue>,
) -> Result<MemberStatus> {
    let dir = sweep.member_dir(member);
    let recorded = match MemberState::load(&dir) {
        Ok(r) => r,
        Err(e) => {
            return Ok(base_status(
                sweep,
                member,
                State::Failed,
                Some(format!("{e:#}")),
                0,
                None,
            ));
        }
    };
    // The latest Slurm submission of this member and what the queue says about it.
    let launch = sweep.latest_slurm_launch(member.index);
    let job = launch.and_then(|l| l.job_id.clone());
    let task_name = job.as_ref().map(|j| format!("{j}_{}", member.index));
    let queued = match (queue, &job) {
        (Some(q), Some(j)) => q.task(j, member.index),
        _ => None,
    };
    let started_this_job = matches!(
        (&recorded, &task_name),
        (Some(r), Some(t)) if r.slurm_task.as_deref() == Some(t.as_str())
    );
    let attempt = recorded.as_ref().map_or(0, |r| r.attempt);

    // A submission newer than the recorded attempt, still in the queue.
    if let (Some((slurm_state, why)), false) = (queued, started_this_job) {
        if is_active_slurm_state(slurm_state) {
            let state = if slurm_state == "PENDING" {
                State::Pending
            } else {
                State::Running
            };
            let reason = (state == State::Pending).then(|| {
                format!(
                    "queued as {} ({why})",
                    task_name.clone().unwrap_or_default()
                )
            });
            let mut s = base_status(sweep, member, state, reason, attempt, task_name);
            s.queued = state == State::Pending;
            s.steps_done = steps_done(&dir);
            return Ok(s);
        }
    }

    let mut status = match &recorded {
        Some(r) => from_record(sweep, member, r, queue, &job),
        None => never_started(sweep, member, queue, &job, task_name.clone()),
    };
    if status.slurm_task.is_none() {
        status.slurm_task = recorded
            .as_ref()
            .and_then(|r| r.slurm_task.clone())
            .or(task_name);
    }
    status.steps_done = steps_done(&dir);
    Ok(status)
}

fn base_status(
    sweep: &Sweep,
    member: &Member,
    state: State,
    reason: Option<String>,
    attempt: u32,
    slurm_task: Option<String>,
) -> MemberStatus {
    let dir = sweep.member_dir(member);
    let steps_total = gdscope_train::config::TrainConfig::load(&dir.join("config.toml"), &[])
        .ok()
        .map(|c| c.steps);
    MemberStatus {
        index: member.index,
        id: member.id.clone(),
        dir,
        state,
        reason,
        attempt,
        steps_done: None,
        steps_total,
        slurm_task,
        label: member.label(),
        queued: false,
    }
}

fn from_record(
    sweep: &Sweep,
    member: &Member,
    r: &MemberState,
    queue: Option<&Queue>,
    job: &Option<String>,
) -> MemberStatus {
    let (state, reason) = match r.state {
        Recorded::Completed => (State::Completed, r.reason.clone()),
        Recorded::Diverged => (State::Diverged, r.reason.clone()),
        Recorded::Failed => (State::Failed, r.reason.clone()),
        Recorded::Cancelled => (State::Cancelled, r.reason.clone()),
        Recorded::Running => running_or_gone(r, queue, job),
    };
    base_status(
        sweep,
        member,
        state,
        reason,
        r.attempt,
        r.slurm_task.clone(),
    )
}

/// A member whose file says `running`: alive, or its process is gone without a word
/// (SIGKILL, out of memory, node failure).
fn running_or_gone(
    r: &MemberState,
    queue: Option<&Queue>,
    job: &Option<String>,
) -> (State, Option<String>) {
    // What Slurm says about the task that ran it, when it ran under Slurm.
    let slurm = r.slurm_task.as_deref().and_then(|t| {
        let (j, i) = t.split_once('_')?;
        let q = queue?;
        (job.as_deref() == Some(j) || q.knows_job(j))
            .then(|| q.task(j, i.parse().ok()?))
            .flatten()
    });
    if let Some((s, _)) = slurm {
        if is_active_slurm_state(s) {
            return (State::Running, None);
        }
        let state = match s {
            "CANCELLED" | "TIMEOUT" | "PREEMPTED" | "DEADLINE" => State::Cancelled,
            _ => State::Failed,
        };
        return (
            state,
            Some(format!(
                "Slurm ended task {} as {s} before gdscope could record it (killed without warning); see the slurm-*.log in the run directory",
                r.slurm_task.as_deref().unwrap_or("?")
            )),
        );
    }
    let here = r.host == process::host_name();
    let alive = if here {
        process::process_alive(r.pid, r.process_start)
    } else {
        None
    };
    let age = process::unix_now().saturating_sub(r.heartbeat_unix);
    match alive {
        Some(true) => (State::Running, None),
        Some(false) => (
            State::Failed,
            Some(format!(
                "interrupted: process {} on {} ended without recording a result (killed, out of memory?); re-run the sweep to resume it from its checkpoint",
                r.pid, r.host
            )),
        ),
        None if age <= STALE_S => (State::Running, None),
        None => (
            State::Failed,
            Some(format!(
                "no heartbeat from process {} on {} for {age} s (killed, or the node failed?); re-run the sweep to resume it from its checkpoint",
                r.pid, r.host
            )),
        ),
    }
}

/// A member without `member.json`.
fn never_started(
    sweep: &Sweep,
    member: &Member,
    queue: Option<&Queue>,
    job: &Option<String>,
    task_name: Option<String>,
) -> MemberStatus {
    let (Some(job), Some(task)) = (job, &task_name) else {
        return base_status(sweep, member, State::Pending, None, 0, None);
    };
    let Some(q) = queue else {
        let mut s = base_status(
            sweep,
            member,
            State::Pending,
            Some(format!(
                "submitted as {task} (squeue not available to confirm)"
            )),
            0,
            task_name.clone(),
        );
        s.queued = true;
        return s;
    };
    let (state, reason) = match q.task(job, member.index) {
        Some(("CANCELLED", _)) => (
            State::Cancelled,
            format!("Slurm task {task} was cancelled before it started"),
        ),
        Some((s, _)) => (
            State::Failed,
            format!("Slurm task {task} ended as {s} before gdscope started; see the slurm-*.log in the run directory"),
        ),
        None if q.knows_job(job) => (
            State::Cancelled,
            format!("Slurm task {task} left the queue without starting (cancelled while pending?)"),
        ),
        None => (
            State::Cancelled,
            format!("job {job} is no longer in the queue and task {task} never started"),
        ),
    };
    base_status(sweep, member, state, Some(reason), 0, task_name)
}

/// Steps the member has taken: the rows of its streamed `metrics.csv` (read from the file's
/// end, so it is cheap while the member runs; rows past the last checkpoint of a killed
/// member are recomputed when it resumes), else those of its final `metrics.parquet`.
fn steps_done(dir: &std::path::Path) -> Option<u64> {
    gdscope_train::metrics::steps_logged(&dir.join(gdscope_train::metrics::METRICS_LOG)).or_else(
        || {
            gdscope_io::read_parquet(&dir.join("metrics.parquet"))
                .ok()
                .map(|t| t.nrows() as u64)
        },
    )
}

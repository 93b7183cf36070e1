//! `member.json`: what the process running a member says about it, written atomically into
//! the member's run directory — when it started, where (host, pid, Slurm task), a heartbeat
//! while it runs, and how it ended (completed / diverged / failed with the error /
//! cancelled with the signal). `gdscope sweep status` reads it; no scheduler database is
//! needed.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::process::{self, lock};

/// File name of the member state inside a member's run directory.
pub const MEMBER_FILE: &str = "member.json";

/// Seconds between heartbeats of a running member.
pub const HEARTBEAT_S: u64 = 15;

/// A member whose heartbeat is older than this (and whose process cannot be checked
/// directly) counts as gone.
pub const STALE_S: u64 = 8 * HEARTBEAT_S;

/// How a member's latest attempt stands, as its own process recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Recorded {
    /// The process is (or was, if it died without a word) training.
    Running,
    /// All steps taken, or a stopping goal reached.
    Completed,
    /// The run diverged (a result, recorded with its reason).
    Diverged,
    /// The run stopped with an error (the reason holds it).
    Failed,
    /// A signal stopped the process (scancel, time limit, Ctrl-C).
    Cancelled,
}

/// Contents of `member.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberState {
    /// The latest attempt's state.
    pub state: Recorded,
    /// Why it failed, diverged or was cancelled; what goal stopped it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// 1 for the first attempt, +1 for every re-run of an unfinished member.
    pub attempt: u32,
    /// Host of the process.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// Start time of that process (clock ticks since boot), to tell a recycled pid apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_start: Option<u64>,
    /// `JOB_TASK` (e.g. `12_3`) when the attempt runs as a Slurm array task.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slurm_task: Option<String>,
    /// Compute threads of the attempt.
    pub threads: usize,
    /// Step the attempt resumed from (its checkpoint), when it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumed_from_step: Option<u64>,
    /// When the attempt started (UTC, RFC 3339).
    pub started: String,
    /// When the attempt ended (UTC, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished: Option<String>,
    /// Last sign of life, seconds since the Unix epoch (every [`HEARTBEAT_S`] while running).
    pub heartbeat_unix: u64,
}

impl MemberState {
    /// Reads `dir/member.json`; `None` when the member never started.
    pub fn load(dir: &Path) -> anyhow::Result<Option<Self>> {
        let path = dir.join(MEMBER_FILE);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a gdscope member state", path.display()))
    }

    /// Writes `dir/member.json` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let mut text = serde_json::to_vec_pretty(self)?;
        text.push(b'\n');
        let path = dir.join(MEMBER_FILE);
        gdscope_io::write_atomic(&path, &text)
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// True once the attempt has ended, whichever way.
    pub fn is_final(&self) -> bool {
        self.state != Recorded::Running
    }
}

/// Keeps a running member's `member.json` current: a heartbeat thread, and one lock around
/// every write so the final state is never overwritten by a late heartbeat.
pub struct Recorder {
    dir: PathBuf,
    state: Mutex<MemberState>,
    stop: Mutex<Option<mpsc::Sender<()>>>,
}

impl Recorder {
    /// Writes the `running` state and starts the heartbeat; registers the member so that a
    /// signal records it as cancelled (see [`process::install_signal_handlers`]).
    pub fn start(dir: &Path, state: MemberState) -> anyhow::Result<Arc<Self>> {
        state.save(dir)?;
        let (tx, rx) = mpsc::channel::<()>();
        let recorder = Arc::new(Self {
            dir: dir.to_path_buf(),
            state: Mutex::new(state),
            stop: Mutex::new(Some(tx)),
        });
        let beat = Arc::clone(&recorder);
        std::thread::Builder::new()
            .name("gdscope-heartbeat".into())
            .spawn(move || {
                while let Err(mpsc::RecvTimeoutError::Timeout) =
                    rx.recv_timeout(Duration::from_secs(HEARTBEAT_S))
                {
                    let mut s = lock(&beat.state);
                    if s.is_final() {
                        break;
                    }
                    s.heartbeat_unix = process::unix_now();
                    // A missed heartbeat only makes the member look stale later; the run goes on.
                    let _ = s.save(&beat.dir);
                }
            })?;
        process::register(&recorder);
        Ok(recorder)
    }

    /// Records the end of the attempt (once; later calls are ignored) and stops the heartbeat.
    pub fn finish(&self, state: Recorded, reason: Option<String>) -> anyhow::Result<()> {
        let result = {
            let mut s = lock(&self.state);
            if s.is_final() {
                return Ok(());
            }
            s.state = state;
            s.reason = reason;
            s.finished = Some(process::utc_now());
            s.heartbeat_unix = process::unix_now();
            s.save(&self.dir)
        };
        if let Some(tx) = lock(&self.stop).take() {
            let _ = tx.send(());
        }
        result
    }

    /// Records a cancellation (from a signal handler, while the run may still be going).
    /// The state lock stays held by the caller's exit, so nothing overwrites it afterwards.
    pub(crate) fn cancel(&self, reason: &str) {
        let mut s = lock(&self.state);
        if !s.is_final() {
            s.state = Recorded::Cancelled;
            s.reason = Some(reason.to_string());
            s.finished = Some(process::utc_now());
            let _ = s.save(&self.dir);
        }
        // Keep the lock until the process exits.
        std::mem::forget(s);
    }

    /// The state as last written.
    pub fn snapshot(&self) -> MemberState {
        lock(&self.state).clone()
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Some(tx) = lock(&self.stop).take() {
            let _ = tx.send(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running() -> MemberState {
        MemberState {
            state: Recorded::Running,
            reason: None,
            attempt: 1,
            host: process::host_name(),
            pid: std::process::id(),
            process_start: process::process_start_time(std::process::id()),
            slurm_task: Some("12_3".into()),
            threads: 1,
            resumed_from_step: None,
            started: process::utc_now(),
            finished: None,
            heartbeat_unix: process::unix_now(),
        }
    }

    #[test]
    fn round_trip_and_final_state_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(MemberState::load(dir.path()).unwrap(), None);
        let r = Recorder::start(dir.path(), running()).unwrap();
        let on_disk = MemberState::load(dir.path()).unwrap().unwrap();
        assert_eq!(on_disk, running_like(&on_disk));
        r.finish(Recorded::Failed, Some("boom".into())).unwrap();
        r.finish(Recorded::Completed, None).unwrap();
        let s = MemberState::load(dir.path()).unwrap().unwrap();
        assert_eq!(
            (s.state, s.reason.as_deref()),
            (Recorded::Failed, Some("boom"))
        );
        assert!(s.finished.is_some());
        process::unregister(&r);
        let text = std::fs::read_to_string(dir.path().join(MEMBER_FILE)).unwrap();
        assert!(text.contains("\"state\": \"failed\""), "{text}");
    }

    fn running_like(s: &MemberState) -> MemberState {
        MemberState {
            heartbeat_unix: s.heartbeat_unix,
            started: s.started.clone(),
            ..running()
        }
    }

    #[test]
    fn garbage_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MEMBER_FILE), "{").unwrap();
        let e = MemberState::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("not a gdscope member state"), "{e}");
    }
}

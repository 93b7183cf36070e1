//! Facts about processes and this machine that member states record and status reads back:
//! host name, process id and start time (so a recycled pid is never mistaken for a running
//! member), liveness, CPU count, wall-clock time; and the signal handlers that record a
//! cancelled member before the process exits.

use std::sync::{Arc, Mutex, OnceLock};

use crate::state::Recorder;

/// This machine's host name (as Slurm and `hostname` report it).
pub fn host_name() -> String {
    gethostname::gethostname().to_string_lossy().into_owned()
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The current UTC time as RFC 3339 text, e.g. `2026-12-01T07:30:00Z`.
pub fn utc_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// CPUs this process may use (its affinity mask and cgroup quota where the OS reports them).
pub fn available_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Start time of process `pid` in clock ticks since boot (field 22 of `/proc/PID/stat`);
/// `None` when the process does not exist, has finished (zombie) or the OS has no `/proc`.
pub fn process_start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may contain spaces.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// Whether the process `pid` that started at `start` still runs on this machine: `None` when
/// that cannot be told (no `/proc`).
pub fn process_alive(pid: u32, start: Option<u64>) -> Option<bool> {
    if !std::path::Path::new("/proc/self/stat").exists() {
        return None;
    }
    let now = process_start_time(pid);
    Some(match (now, start) {
        (Some(now), Some(start)) => now == start,
        (Some(_), None) => true,
        (None, _) => false,
    })
}

/// Members running in this process, so a signal can record them as cancelled.
fn registry() -> &'static Mutex<Vec<Arc<Recorder>>> {
    static RUNNING: OnceLock<Mutex<Vec<Arc<Recorder>>>> = OnceLock::new();
    RUNNING.get_or_init(|| Mutex::new(Vec::new()))
}

pub(crate) fn register(recorder: &Arc<Recorder>) {
    lock(registry()).push(Arc::clone(recorder));
}

pub(crate) fn unregister(recorder: &Arc<Recorder>) {
    lock(registry()).retain(|r| !Arc::ptr_eq(r, recorder));
}

/// Locks a mutex, also after a panic in another holder (member states stay writable).
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Installs handlers for SIGTERM, SIGINT and SIGHUP: every member running in this process is
/// recorded as `cancelled` (with the signal in the reason) and the process exits with
/// `128 + signal`. Slurm sends SIGTERM on `scancel`, at the time limit and on preemption.
///
/// Call it from programs that run members (the CLI, `python -m gdscope`); a library user that
/// keeps its own handlers need not, and an interrupted member is then found by its dead pid.
pub fn install_signal_handlers() -> anyhow::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("gdscope-signals".into())
        .spawn(move || {
            if let Some(sig) = signals.forever().next() {
                let name = match sig {
                    SIGTERM => "SIGTERM (scancel, time limit or preemption)",
                    SIGINT => "SIGINT (Ctrl-C)",
                    _ => "SIGHUP (terminal closed)",
                };
                let running = lock(registry()).clone();
                for recorder in &running {
                    recorder.cancel(&format!("received {name}"));
                }
                std::process::exit(128 + sig);
            }
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_process_is_alive_and_a_wrong_start_time_is_not() {
        let pid = std::process::id();
        let start = process_start_time(pid);
        if start.is_none() {
            return; // no /proc here
        }
        assert_eq!(process_alive(pid, start), Some(true));
        assert_eq!(process_alive(pid, start.map(|s| s + 1)), Some(false));
        assert_eq!(process_alive(u32::MAX - 1, None), Some(false));
    }

    #[test]
    fn time_and_host() {
        assert!(unix_now() > 1_700_000_000);
        assert!(utc_now().ends_with('Z'));
        assert!(!host_name().is_empty());
        assert!(available_cpus() >= 1);
    }
}

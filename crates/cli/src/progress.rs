//! Progress of long analysis work on stderr (stdout stays clean for `--json`): a bar when
//! stderr is a terminal, and plain lines otherwise — Slurm and CI logs get
//! `basin: 120000/250000 starts (48%), 12 s elapsed, about 13 s left` every 10 s. Work that
//! ends within `GDSCOPE_PROGRESS_AFTER` seconds (default 2) shows nothing.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gdscope_runs::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

/// Seconds of silence before anything is shown (`GDSCOPE_PROGRESS_AFTER`, default 2).
fn quiet_for() -> Duration {
    std::env::var("GDSCOPE_PROGRESS_AFTER")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(2), Duration::from_secs_f64)
}

/// Interval between plain progress lines.
const LINE_EVERY: Duration = Duration::from_secs(10);

/// A running task: `total` units (`unit` names them), or a single phase when `total` is 0.
/// Count with [`Progress::advance`] from any thread; a reporter thread does the showing.
pub struct Progress {
    done: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    reporter: Option<JoinHandle<bool>>,
    label: String,
    start: Instant,
}

impl Progress {
    /// Starts reporting on `label` (e.g. `basin`) with `total` units of `unit`.
    pub fn new(label: &str, total: u64, unit: &str) -> Progress {
        let done = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let start = Instant::now();
        let reporter = {
            let (done, stop) = (done.clone(), stop.clone());
            let (label, unit) = (label.to_string(), unit.to_string());
            std::thread::spawn(move || report(&label, total, &unit, &done, &stop, start))
        };
        Progress {
            done,
            stop,
            reporter: Some(reporter),
            label: label.to_string(),
            start,
        }
    }

    /// Counts `n` more units done.
    pub fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }

    /// Stops reporting; when anything was shown, ends with a line saying how long it took.
    pub fn finish(mut self) {
        self.stop_reporter();
    }

    fn stop_reporter(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let shown = self
            .reporter
            .take()
            .is_some_and(|r| r.join().unwrap_or(false));
        if shown {
            eprintln!(
                "{}: done in {:.1} s",
                self.label,
                self.start.elapsed().as_secs_f64()
            );
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if self.reporter.is_some() {
            self.stop_reporter();
        }
    }
}

/// The reporter thread: silent for [`quiet_for`], then a bar (terminal) or a line every
/// [`LINE_EVERY`]; returns whether it showed anything.
fn report(
    label: &str,
    total: u64,
    unit: &str,
    done: &AtomicU64,
    stop: &AtomicBool,
    start: Instant,
) -> bool {
    let quiet = quiet_for();
    let tick = Duration::from_millis(50);
    while start.elapsed() < quiet {
        if stop.load(Ordering::Relaxed) {
            return false;
        }
        std::thread::sleep(tick);
    }
    if std::io::stderr().is_terminal() {
        let bar = if total > 0 {
            ProgressBar::new(total).with_style(
                ProgressStyle::with_template(
                    "{msg} [{bar:30}] {pos}/{len} ({elapsed}, ~{eta} left)",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            )
        } else {
            ProgressBar::new_spinner()
        };
        bar.set_message(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        while !stop.load(Ordering::Relaxed) {
            bar.set_position(done.load(Ordering::Relaxed));
            std::thread::sleep(tick);
        }
        bar.finish_and_clear();
    } else {
        let mut next = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            if Instant::now() >= next {
                eprintln!(
                    "{}",
                    line(
                        label,
                        total,
                        unit,
                        done.load(Ordering::Relaxed),
                        start.elapsed()
                    )
                );
                next += LINE_EVERY;
            }
            std::thread::sleep(tick);
        }
    }
    true
}

/// The library's [`Reporter`] shown as [`Progress`]: one bar or line series per phase.
#[derive(Default)]
pub struct CliReporter {
    current: Mutex<Option<Progress>>,
}

impl CliReporter {
    fn current(&self) -> std::sync::MutexGuard<'_, Option<Progress>> {
        // A panic while holding the lock leaves nothing half-updated: the slot is only
        // replaced or read.
        self.current.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Reporter for CliReporter {
    fn start(&self, label: &str, total: u64, unit: &str) {
        let previous = self.current().replace(Progress::new(label, total, unit));
        if let Some(p) = previous {
            p.finish();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(p) = self.current().as_ref() {
            p.advance(n);
        }
    }

    fn finish(&self) {
        let current = self.current().take();
        if let Some(p) = current {
            p.finish();
        }
    }
}

/// One progress line.
fn line(label: &str, total: u64, unit: &str, done: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if total == 0 {
        return format!("{label}: running, {secs:.0} s elapsed");
    }
    let frac = done as f64 / total as f64;
    let left = if done > 0 {
        format!(", about {:.0} s left", secs * (1.0 - frac) / frac)
    } else {
        String::new()
    };
    format!(
        "{label}: {done}/{total} {unit} ({:.0}%), {secs:.0} s elapsed{left}",
        100.0 * frac
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_say_how_far_and_how_long() {
        let l = line("basin", 200, "starts", 50, Duration::from_secs(10));
        assert_eq!(
            l,
            "basin: 50/200 starts (25%), 10 s elapsed, about 30 s left"
        );
        assert_eq!(
            line("top eigenvalues", 0, "", 0, Duration::from_secs(3)),
            "top eigenvalues: running, 3 s elapsed"
        );
        assert!(!line("sweep-lr", 4, "learning rates", 0, Duration::ZERO).contains("left"));
    }
}

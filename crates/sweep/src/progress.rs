//! Progress of a local sweep: one bar for the whole sweep on a terminal (members done, and
//! the steps of the running members, read from their streamed `metrics.csv`), one line per
//! started or finished member otherwise (logs, CI, notebooks), plus a line with the running
//! members' steps every 30 s.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::manifest::Member;
use crate::process::lock;
use crate::status::MemberStatus;

/// Receives the events of a local sweep. Every method has an empty default.
pub trait Observer: Sync {
    /// The sweep starts: `todo` of `total` members will run on `workers` workers with
    /// `threads` compute threads each.
    fn begin(&self, _total: usize, _todo: usize, _workers: usize, _threads: usize) {}
    /// A member starts in its run directory `dir`.
    fn started(&self, _member: &Member, _dir: &Path) {}
    /// Called about once a second while members run (to show their steps).
    fn tick(&self) {}
    /// A member ended (with any result) after `seconds`.
    fn finished(&self, _status: &MemberStatus, _seconds: f64) {}
    /// All members ended.
    fn end(&self) {}
}

/// An observer that shows nothing.
pub struct Silent;

impl Observer for Silent {}

/// The sweep's progress on stderr: a bar when stderr is a terminal, lines otherwise.
pub struct Progress {
    bar: Option<ProgressBar>,
    /// Running members: id → (metrics log, configured steps).
    running: Mutex<BTreeMap<String, (PathBuf, Option<u64>)>>,
    done: Mutex<usize>,
    todo: Mutex<usize>,
    last_line: Mutex<Instant>,
}

/// Seconds between progress lines when stderr is not a terminal.
const LINE_EVERY_S: u64 = 30;

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

impl Progress {
    /// A bar on a terminal, lines elsewhere.
    pub fn new() -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{bar:30} {pos}/{len} members  [{elapsed} < {eta}]  {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.enable_steady_tick(Duration::from_millis(500));
            bar
        });
        Self {
            bar,
            running: Mutex::new(BTreeMap::new()),
            done: Mutex::new(0),
            todo: Mutex::new(0),
            last_line: Mutex::new(Instant::now()),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    /// The running members with their steps, e.g. `000-lr0.02 120/500, 001-lr0.04 80/500`
    /// (the first `max`, then `+N`).
    fn running_text(&self, max: usize) -> String {
        let running = lock(&self.running);
        let mut parts: Vec<String> = running
            .iter()
            .take(max)
            .map(|(id, (log, total))| {
                let done = gdscope_train::metrics::steps_logged(log)
                    .map_or("-".to_string(), |s| s.to_string());
                match total {
                    Some(t) => format!("{id} {done}/{t}"),
                    None => format!("{id} {done}"),
                }
            })
            .collect();
        if running.len() > max {
            parts.push(format!("+{}", running.len() - max));
        }
        parts.join(", ")
    }

    fn show_running(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(format!("running {}", self.running_text(3)));
        }
    }
}

impl Observer for Progress {
    fn begin(&self, total: usize, todo: usize, workers: usize, threads: usize) {
        *lock(&self.todo) = todo;
        if let Some(bar) = &self.bar {
            bar.set_length(todo as u64);
        }
        let skipped = total - todo;
        self.line(&format!(
            "sweep: {todo} of {total} members to run ({skipped} already finished or running elsewhere), {workers} at a time with {threads} thread{} each",
            if threads == 1 { "" } else { "s" }
        ));
    }

    fn started(&self, member: &Member, dir: &Path) {
        let total = gdscope_train::config::TrainConfig::load(&dir.join("config.toml"), &[])
            .ok()
            .map(|c| c.steps);
        lock(&self.running).insert(
            member.id.clone(),
            (dir.join(gdscope_train::metrics::METRICS_LOG), total),
        );
        if self.bar.is_none() {
            self.line(&format!(
                "sweep: started {} ({})",
                member.id,
                member.label()
            ));
        }
        self.show_running();
    }

    fn finished(&self, status: &MemberStatus, seconds: f64) {
        lock(&self.running).remove(&status.id);
        let done = {
            let mut d = lock(&self.done);
            *d += 1;
            *d
        };
        let todo = *lock(&self.todo);
        let reason = status
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(": {r}"));
        self.line(&format!(
            "sweep: [{done}/{todo}] {} {} in {seconds:.1} s{reason}",
            status.id, status.state
        ));
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        self.show_running();
    }

    fn tick(&self) {
        if self.bar.is_some() {
            self.show_running();
            return;
        }
        let mut last = lock(&self.last_line);
        if last.elapsed().as_secs() >= LINE_EVERY_S && !lock(&self.running).is_empty() {
            *last = Instant::now();
            drop(last);
            self.line(&format!(
                "sweep: running {} steps",
                self.running_text(usize::MAX)
            ));
        }
    }

    fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

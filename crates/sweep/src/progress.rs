//! Progress of a local sweep: one bar for the whole sweep on a terminal, one line per
//! started or finished member otherwise (logs, CI, notebooks).

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::manifest::Member;
use crate::process::lock;
use crate::status::MemberStatus;

/// Receives the events of a local sweep. Every method has an empty default.
pub trait Observer: Sync {
    /// The sweep starts: `todo` of `total` members will run on `workers` workers with
    /// `threads` compute threads each.
    fn begin(&self, _total: usize, _todo: usize, _workers: usize, _threads: usize) {}
    /// A member starts.
    fn started(&self, _member: &Member) {}
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
    running: Mutex<BTreeSet<String>>,
    done: Mutex<usize>,
    todo: Mutex<usize>,
}

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
            running: Mutex::new(BTreeSet::new()),
            done: Mutex::new(0),
            todo: Mutex::new(0),
        }
    }

    fn line(&self, text: &str) {
        match &self.bar {
            Some(bar) => bar.println(text),
            None => eprintln!("{text}"),
        }
    }

    fn show_running(&self) {
        if let Some(bar) = &self.bar {
            let running = lock(&self.running);
            let mut msg: Vec<&str> = running.iter().map(String::as_str).take(3).collect();
            let more = running.len().saturating_sub(msg.len());
            let extra = format!("+{more}");
            if more > 0 {
                msg.push(&extra);
            }
            bar.set_message(format!("running {}", msg.join(" ")));
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

    fn started(&self, member: &Member) {
        lock(&self.running).insert(member.id.clone());
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

    fn end(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

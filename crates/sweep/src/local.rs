//! The local backend: members run on this machine, `workers` at a time, each in its own
//! thread pool of `threads` compute threads, with `workers × threads` no larger than the CPUs
//! this process may use unless asked. A failing member never stops the others.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use anyhow::{ensure, Result};

use crate::manifest::{Launch, Sweep};
use crate::member::{run_member, MemberContext};
use crate::process::{self, lock};
use crate::progress::Observer;
use crate::slurm::Queue;
use crate::status::{sweep_status, MemberStatus};

/// Concurrency of a local run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LocalOptions {
    /// Members run at once (default: as many as CPUs, at most the members to run).
    pub workers: Option<usize>,
    /// Compute threads per member (default: the CPUs divided among the workers, at least 1).
    pub threads_per_worker: Option<usize>,
}

impl LocalOptions {
    /// `(workers, threads)` for `todo` members on `cpus` CPUs.
    pub fn plan(&self, todo: usize, cpus: usize) -> (usize, usize) {
        let workers = self.workers.unwrap_or(cpus).min(todo).max(1);
        let threads = self.threads_per_worker.unwrap_or(cpus / workers).max(1);
        (workers, threads)
    }
}

/// What a local run did.
#[derive(Debug, Clone)]
pub struct LocalReport {
    /// The members it ran, with their status afterwards, in index order.
    pub ran: Vec<MemberStatus>,
    /// Members it left alone (already completed or diverged, or running or queued elsewhere).
    pub skipped: Vec<MemberStatus>,
    /// Members that could not be started at all (e.g. already running in another process).
    pub errors: Vec<String>,
    /// Members run at once.
    pub workers: usize,
    /// Compute threads per member.
    pub threads: usize,
}

/// Runs every member that is pending, failed or cancelled (see [`MemberStatus::wants_run`]),
/// resuming interrupted ones from their checkpoints.
pub fn run_local(
    sweep: &mut Sweep,
    opts: &LocalOptions,
    observer: &dyn Observer,
) -> Result<LocalReport> {
    ensure!(
        opts.workers != Some(0) && opts.threads_per_worker != Some(0),
        "--workers and --threads-per-worker must be at least 1"
    );
    let queue = Queue::for_sweep(sweep);
    let statuses = sweep_status(sweep, queue.as_ref())?;
    let (todo, skipped): (Vec<MemberStatus>, Vec<MemberStatus>) =
        statuses.into_iter().partition(MemberStatus::wants_run);
    let (workers, threads) = opts.plan(todo.len(), process::available_cpus());
    if !todo.is_empty() {
        sweep.record_launch(Launch {
            backend: "local".into(),
            time: process::utc_now(),
            members: todo.iter().map(|s| s.index).collect(),
            job_id: None,
            script: None,
            host: process::host_name(),
        })?;
    }
    observer.begin(sweep.manifest.members.len(), todo.len(), workers, threads);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<MemberStatus>> = Mutex::new(Vec::new());
    let errors: Mutex<Vec<anyhow::Error>> = Mutex::new(Vec::new());
    let ctx = MemberContext {
        threads,
        slurm_task: None,
    };
    let shared: &Sweep = sweep;
    let (all_done, ticks) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                ticks.recv_timeout(std::time::Duration::from_secs(1))
            {
                observer.tick();
            }
        });
        let workers: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(status) = todo.get(k) else { break };
                    let member = &shared.manifest.members[status.index];
                    observer.started(member, &shared.member_dir(member));
                    let clock = Instant::now();
                    match run_member(shared, status.index, &ctx) {
                        Ok(after) => {
                            observer.finished(&after, clock.elapsed().as_secs_f64());
                            lock(&results).push(after);
                        }
                        // The member could not even start (e.g. it runs elsewhere): report it and go on.
                        Err(e) => lock(&errors).push(e.context(format!("member {}", member.id))),
                    }
                })
            })
            .collect();
        for w in workers {
            // A worker's panic is already a failed member (run_member catches it).
            let _ = w.join();
        }
        drop(all_done);
    });
    observer.end();
    let errors = errors
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .into_iter()
        .map(|e| format!("{e:#}"))
        .collect();
    let mut ran = results.into_inner().unwrap_or_else(|e| e.into_inner());
    ran.sort_by_key(|s| s.index);
    Ok(LocalReport {
        ran,
        skipped,
        errors,
        workers,
        threads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_divides_the_cpus() {
        let o = LocalOptions::default();
        assert_eq!(o.plan(4, 2), (2, 1));
        assert_eq!(o.plan(1, 8), (1, 8));
        assert_eq!(o.plan(3, 8), (3, 2));
        assert_eq!(o.plan(0, 8), (1, 8));
        let o = LocalOptions {
            workers: Some(2),
            threads_per_worker: None,
        };
        assert_eq!(o.plan(10, 16), (2, 8));
        let o = LocalOptions {
            workers: Some(3),
            threads_per_worker: Some(1),
        };
        assert_eq!(o.plan(10, 16), (3, 1));
    }
}

//! Observers: what is measured, each with its own frequency, writing named columns of the
//! step's [`Record`] (docs/outputs.md lists every column). Per-process observers read one
//! process's point, gradient and curvature; group observers (distances) read several.
//!
//! An observer declares its columns when the run is built ([`build`]), so the record
//! layout is fixed and writing a row allocates nothing. Observers with memory (the previous
//! update, the projection reference) save it into checkpoints ([`Observer::save`]).

use gdscope_core::optimizer::Rule;

use crate::config::TrackingConfig;
use crate::problem::Problem;
use crate::process::{AnyProcess, ProcessName};
use crate::record::{column_name, Record, Schema};
use crate::Timings;

mod basic;
mod cosine;
mod distance;
mod eigen;
mod evaluation;
pub mod projection;
mod trace;

/// What observers see at step `t`, besides the processes.
#[derive(Clone, Copy)]
pub struct ObserveContext<'a> {
    /// The objective (and evaluator).
    pub problem: Problem<'a>,
    /// The optimizer rule.
    pub rule: &'a Rule,
    /// The step `t`.
    pub step: u64,
    /// Whether this run uses minibatches.
    pub minibatch: bool,
    /// The run's seed (for random probes).
    pub seed: u64,
}

/// When an observer runs within a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// After every process prepared its step, before the stopping rules.
    Prepared,
    /// After the step was applied (not at a step where the run stops).
    Applied,
}

/// Something measured along the run; see the module docs.
pub trait Observer: Send {
    /// A unique key (its state's name in checkpoints).
    fn key(&self) -> String;

    /// When it runs.
    fn phase(&self) -> Phase {
        Phase::Prepared
    }

    /// Measures step `ctx.step` (deciding itself whether it is due) into `record`.
    fn observe(
        &mut self,
        ctx: &ObserveContext<'_>,
        processes: &mut [AnyProcess],
        record: &mut Record,
        timings: &mut Timings,
    ) -> anyhow::Result<()>;

    /// The observer's memory, for checkpoints.
    fn save(&self) -> anyhow::Result<Vec<u8>> {
        Ok(Vec::new())
    }

    /// Restores what [`save`](Self::save) wrote.
    fn load(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        let _ = bytes;
        Ok(())
    }
}

/// Whether a measurement every `every` steps (0: never) falls on step `t`.
pub fn due(every: u64, t: u64) -> bool {
    every > 0 && t % every == 0
}

/// Column indices of one process's metrics, named with its prefix.
pub(crate) struct Columns<'a> {
    schema: &'a mut Schema,
    process: ProcessName,
}

impl Columns<'_> {
    fn add(&mut self, metric: &str) -> usize {
        self.schema.add(column_name(self.process.as_str(), metric))
    }
    fn add_optional(&mut self, metric: &str) -> usize {
        self.schema
            .add_optional(column_name(self.process.as_str(), metric))
    }
}

/// The observers of a run of `processes` (with their resolved tracking settings), in the
/// order they run, with their columns added to `schema`.
pub fn build(
    processes: &[(ProcessName, TrackingConfig)],
    schema: &mut Schema,
) -> Vec<Box<dyn Observer>> {
    let mut out: Vec<Box<dyn Observer>> = Vec::new();
    for (index, (name, tracking)) in processes.iter().enumerate() {
        let mut cols = Columns {
            schema,
            process: *name,
        };
        out.push(Box::new(basic::Basic::new(index, *name, &mut cols)));
        if tracking.every > 0 {
            out.push(Box::new(eigen::Eigen::new(index, tracking, &mut cols)));
            if tracking.projection {
                out.push(Box::new(projection::ProjectionObserver::new(
                    index, tracking, &mut cols,
                )));
            }
        }
        out.push(Box::new(cosine::Cosine::new(index, *name, &mut cols)));
        if tracking.trace_every > 0 {
            out.push(Box::new(trace::Trace::new(index, tracking, &mut cols)));
        }
        if tracking.eval_every > 0 {
            out.push(Box::new(evaluation::Evaluation::new(
                index, *name, tracking, &mut cols,
            )));
        }
    }
    if processes.len() > 1 {
        let names: Vec<ProcessName> = processes.iter().map(|(n, _)| *n).collect();
        out.push(Box::new(distance::Distances::new(&names, schema)));
    }
    out
}

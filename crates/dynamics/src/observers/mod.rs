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
use crate::process::{AnyProcess, Process, ProcessName};
use crate::record::{column_name, Record, Schema};
use crate::Timings;

mod basic;
pub(crate) mod central;
mod cosine;
mod distance;
mod eigen;
mod evaluation;
pub mod projection;
pub mod step;
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
    /// This step's minibatch (sorted example indices), `None` for full batch.
    pub batch: Option<&'a [usize]>,
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

/// Everything an observer may read and write at one step.
pub struct Observation<'a, 'b> {
    /// The step and the problem.
    pub ctx: &'b ObserveContext<'a>,
    /// Every process, prepared (or committed, in [`Phase::Applied`]).
    pub processes: &'b mut [AnyProcess],
    /// This step's record.
    pub record: &'b mut Record,
    /// Time accounting.
    pub timings: &'b mut Timings,
}

/// What a per-process observer writes to, beside its process.
pub struct Out<'a, 'b> {
    /// The step and the problem.
    pub ctx: &'b ObserveContext<'a>,
    /// This step's record.
    pub record: &'b mut Record,
    /// Time accounting.
    pub timings: &'b mut Timings,
}

impl<'a, 'b> Observation<'a, 'b> {
    /// Process `index` and the outputs, when a measurement every `every` steps (1: every
    /// step, 0: never) is due now and the process has not halted.
    pub fn process(&mut self, index: usize, every: u64) -> Option<(&mut dyn Process, Out<'a, '_>)> {
        let p = self.processes[index].get_mut();
        (due(every, self.ctx.step) && p.halted().is_none()).then(|| {
            let out = Out {
                ctx: self.ctx,
                record: &mut *self.record,
                timings: &mut *self.timings,
            };
            (p, out)
        })
    }
}

/// Something measured along the run; see the module docs.
pub trait Observer: Send {
    /// When it runs.
    fn phase(&self) -> Phase {
        Phase::Prepared
    }

    /// Measures the step (deciding itself whether it is due) into the record.
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()>;

    /// The observer's memory between steps, if it has one (checkpoints save it).
    fn memory(&mut self) -> Option<&mut dyn Memory> {
        None
    }
}

/// Something an observer remembers between steps, saved into checkpoints.
pub trait Memory {
    /// Encodes it.
    fn save(&self) -> anyhow::Result<Vec<u8>>;
    /// Restores what [`save`](Self::save) wrote.
    fn load(&mut self, bytes: &[u8]) -> anyhow::Result<()>;
}

impl<T: serde::Serialize + serde::de::DeserializeOwned> Memory for T {
    fn save(&self) -> anyhow::Result<Vec<u8>> {
        Ok(postcard::to_stdvec(self)?)
    }
    fn load(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        *self = postcard::from_bytes(bytes)?;
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
/// order they run, with their columns added to `schema`. `examples` is the number of
/// training examples (`None` for analytic objectives) and `batch_size` the run's (0: full
/// batch), for the step-curvature estimators of the `discrete` process.
pub fn build(
    processes: &[(ProcessName, TrackingConfig)],
    schema: &mut Schema,
    examples: Option<usize>,
    batch_size: usize,
) -> anyhow::Result<Vec<Box<dyn Observer>>> {
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
        if *name == ProcessName::Discrete {
            step::build(
                index,
                &tracking.step_curvature,
                examples,
                batch_size,
                &mut cols,
                &mut out,
            )?;
        }
    }
    if processes.len() > 1 {
        let names: Vec<ProcessName> = processes.iter().map(|(n, _)| *n).collect();
        out.push(Box::new(distance::Distances::new(&names, schema)));
    }
    Ok(out)
}

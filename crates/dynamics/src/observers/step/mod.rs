//! Curvature along the step (docs/curvature.md "Curvature along the step"): observers of the
//! `discrete` process, each with its own frequency (`[tracking.step_curvature]`), one file
//! per measurement. Each file holds the estimator (a function of an [`Objective`], testable
//! on closed forms) and its observer.
//!
//! Notation: `g` the full-batch gradient, `g_B` a minibatch gradient, `H`, `H_B` the full and
//! minibatch Hessians, `s_B` the step the optimizer would take from its frozen state with
//! `g_B` ([`gdscope_core::rules::UpdateRule::virtual_step`]), `Δθ` the executed update.
//! Expectations over `B` are Monte Carlo over fresh random batches ([`Draws`]) with the
//! adaptive stop of [`crate::montecarlo`]; every estimate is written as four columns
//! `<name>`, `<name>_lo`, `<name>_hi` (95% interval) and `<name>_n` (samples).

use gdscope_core::seeds::{derive, Stream};
use gdscope_core::Objective;

use super::{Columns, Observation, ObserveContext, Observer};
use crate::config::StepCurvatureConfig;
use crate::montecarlo::{Estimate, MonteCarlo};
use crate::process::{scratch, Process};
use crate::record::Record;
use crate::subsets::RandomBatches;

pub mod batch_sharpness;
pub mod critical;
pub mod directional;
pub mod generalized;
pub mod gni;
pub mod mean_square;
pub mod realized_edge;

/// Where the batches of a Monte Carlo estimate come from.
#[derive(Debug, Clone)]
pub enum Draws {
    /// The batch is the whole training set (full-batch runs, analytic objectives): every
    /// expectation is one exact evaluation.
    Whole,
    /// Independent uniformly random batches (see [`RandomBatches`]).
    Random(RandomBatches),
}

impl Draws {
    /// Batches of `batch_size` out of the objective's examples (`batch_size` 0 or equal to
    /// the number of examples, or an objective without examples: [`Draws::Whole`]).
    pub fn new(examples: Option<usize>, batch_size: usize) -> anyhow::Result<Self> {
        match examples {
            Some(n) if batch_size > 0 && batch_size != n => Ok(Draws::Random(RandomBatches::new(
                n,
                batch_size,
                "tracking.step_curvature.batch_size",
            )?)),
            _ => Ok(Draws::Whole),
        }
    }

    /// Starts the draws of the measurement at `step` of a run seeded with `seed`.
    pub fn start(&mut self, seed: u64, step: u64) {
        if let Draws::Random(r) = self {
            r.start(derive(seed, Stream::CurvatureBatches, step));
        }
    }

    /// Whether every batch is the whole set.
    pub fn is_exact(&self) -> bool {
        matches!(self, Draws::Whole)
    }

    /// The next batch, `None` for the whole set.
    pub fn next_batch(&mut self) -> Option<&[usize]> {
        match self {
            Draws::Whole => None,
            Draws::Random(r) => Some(r.next_batch()),
        }
    }
}

/// `L_B(w)` and `∇L_B(w)` on `batch` (`None`: the whole set).
pub(crate) fn value_grad_on(
    obj: &dyn Objective,
    w: &[f64],
    batch: Option<&[usize]>,
    g: &mut [f64],
) -> f64 {
    match batch {
        Some(b) => obj.value_grad_subset(w, b, g),
        None => obj.value_grad(w, g),
    }
}

/// `H_B(w)·v` on `batch` (`None`: the whole set).
pub(crate) fn hvp_on(
    obj: &dyn Objective,
    w: &[f64],
    batch: Option<&[usize]>,
    v: &[f64],
    out: &mut [f64],
) {
    match batch {
        Some(b) => obj.hvp_subset(w, b, v, out),
        None => obj.hvp(w, v, out),
    }
}

/// `L_B(w)` on `batch` (`None`: the whole set), forward only.
pub(crate) fn value_on(obj: &dyn Objective, w: &[f64], batch: Option<&[usize]>) -> f64 {
    match batch {
        Some(b) => obj.value_subset(w, b),
        None => obj.value(w),
    }
}

/// The three columns of an estimate (`<name>`, `<name>_lo`, `<name>_hi`).
pub(crate) struct EstimateColumns {
    value: usize,
    lo: usize,
    hi: usize,
}

impl EstimateColumns {
    pub(crate) fn new(cols: &mut Columns<'_>, name: &str) -> Self {
        Self {
            value: cols.add(name),
            lo: cols.add(&format!("{name}_lo")),
            hi: cols.add(&format!("{name}_hi")),
        }
    }

    pub(crate) fn write(&self, record: &mut Record, e: &Estimate) {
        record.set(self.value, e.value);
        record.set(self.lo, e.lo);
        record.set(self.hi, e.hi);
    }
}

/// Where a Monte Carlo observer samples: its process and frequency, its batches and its
/// stopping rule.
pub(crate) struct Source {
    pub process: usize,
    pub every: u64,
    pub draws: Draws,
    pub mc: MonteCarlo,
}

/// What every Monte Carlo observer holds: its [`Source`] and its sample-count column
/// `<name>_n`.
pub(crate) struct Sampling {
    process: usize,
    every: u64,
    draws: Draws,
    mc: MonteCarlo,
    samples: usize,
}

impl Sampling {
    pub(crate) fn new(source: Source, cols: &mut Columns<'_>, name: &str) -> Self {
        Self {
            process: source.process,
            every: source.every,
            draws: source.draws,
            mc: source.mc,
            samples: cols.add(&format!("{name}_n")),
        }
    }

    /// When due, starts the draws of this step and runs `estimate`, which writes its
    /// columns and returns the number of samples drawn (recorded in `<name>_n`); its time
    /// counts as curvature time.
    pub(crate) fn observe(
        &mut self,
        o: &mut Observation<'_, '_>,
        estimate: impl FnOnce(Measure<'_, '_>) -> anyhow::Result<usize>,
    ) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        self.draws.start(out.ctx.seed, out.ctx.step);
        let samples = estimate(Measure {
            process: p,
            ctx: out.ctx,
            draws: &mut self.draws,
            mc: &self.mc,
            record: &mut *out.record,
        })?;
        out.timings.eigen_s += clock.elapsed().as_secs_f64();
        out.record.set(self.samples, samples as f64);
        Ok(())
    }
}

/// What a Monte Carlo estimate of [`Sampling::observe`] works with.
pub(crate) struct Measure<'m, 'a> {
    pub process: &'m mut dyn Process,
    pub ctx: &'m ObserveContext<'a>,
    pub draws: &'m mut Draws,
    pub mc: &'m MonteCarlo,
    pub record: &'m mut Record,
}

/// The full-batch gradient at the process's point: its own gradient in a full-batch run,
/// else computed into `buffer` (one gradient).
pub(crate) fn full_gradient<'a>(
    p: &'a dyn Process,
    ctx: &ObserveContext<'_>,
    buffer: &'a mut Vec<f64>,
) -> &'a [f64] {
    if ctx.batch.is_none() {
        return p.grad();
    }
    let g = scratch(buffer, p.point().len());
    ctx.problem.objective.value_grad(p.point(), g);
    g
}

/// The step-curvature observers of process `process` (the `discrete` one) enabled by
/// `config`, with their columns. `examples` is the number of training examples (None for
/// analytic objectives), `run_batch` the run's batch size.
pub(crate) fn build(
    process: usize,
    config: &StepCurvatureConfig,
    examples: Option<usize>,
    run_batch: usize,
    cols: &mut Columns<'_>,
    out: &mut Vec<Box<dyn Observer>>,
) -> anyhow::Result<()> {
    let batch_size = if config.batch_size > 0 {
        config.batch_size
    } else {
        run_batch
    };
    let source = |every| -> anyhow::Result<Source> {
        Ok(Source {
            process,
            every,
            draws: Draws::new(examples, batch_size)?,
            mc: config.monte_carlo,
        })
    };
    if config.batch_sharpness_every > 0 {
        let source = source(config.batch_sharpness_every)?;
        out.push(Box::new(batch_sharpness::BatchSharpness::new(source, cols)));
    }
    if config.gni_every > 0 {
        out.push(Box::new(gni::Gni::new(source(config.gni_every)?, cols)));
    }
    if config.generalized_every > 0 {
        let source = source(config.generalized_every)?;
        out.push(Box::new(generalized::Generalized::new(source, cols)));
    }
    if config.directional_every > 0 {
        out.push(Box::new(directional::Directional::new(
            process,
            config.directional_every,
            cols,
        )));
    }
    if config.critical_every > 0 {
        out.push(Box::new(critical::Critical::new(
            process,
            config.critical_every,
            config.critical_tol,
            cols,
        )));
    }
    if config.mean_square_every > 0 {
        out.push(Box::new(mean_square::MeanSquare::new(
            source(config.mean_square_every)?,
            config.mean_square_pilot_batches,
            cols,
        )));
    }
    if config.realized_edge_every > 0 {
        out.push(Box::new(realized_edge::RealizedEdge::new(
            process,
            config.realized_edge_every,
            cols,
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

//! Every `tracking.trace_every` steps: Hutchinson estimate of the trace of the process's
//! tracked operator (`H` or `P^{-1/2}HP^{-1/2}`) and its standard error, from
//! `tracking.trace_probes` Rademacher probes seeded by `(seed, TraceProbes, step)`.

use gdscope_core::seeds::{derive, Stream};

use super::{due, Columns, ObserveContext, Observer};
use crate::config::TrackingConfig;
use crate::process::AnyProcess;
use crate::record::Record;
use crate::tracker::{trace_estimate, Operator};
use crate::Timings;

pub(crate) struct Trace {
    process: usize,
    every: u64,
    probes: usize,
    trace: usize,
    std_error: usize,
}

impl Trace {
    pub(crate) fn new(process: usize, tracking: &TrackingConfig, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            every: tracking.trace_every,
            probes: tracking.trace_probes,
            trace: cols.add("trace"),
            std_error: cols.add("trace_se"),
        }
    }
}

impl Observer for Trace {
    fn key(&self) -> String {
        format!("trace/{}", self.process)
    }

    fn observe(
        &mut self,
        ctx: &ObserveContext<'_>,
        processes: &mut [AnyProcess],
        record: &mut Record,
        timings: &mut Timings,
    ) -> anyhow::Result<()> {
        let p = processes[self.process].get_mut();
        if !due(self.every, ctx.step) || p.halted().is_some() {
            return Ok(());
        }
        let clock = std::time::Instant::now();
        let parts = p.parts();
        let op = parts.curvature.operator(ctx.rule, parts.state, parts.kind);
        if op == Operator::NotYet {
            return Ok(());
        }
        let seed = derive(ctx.seed, Stream::TraceProbes, ctx.step);
        let (value, se) = trace_estimate(
            ctx.problem.objective,
            parts.point,
            op.preconditioner(),
            self.probes,
            seed,
        )?;
        timings.eigen_s += clock.elapsed().as_secs_f64();
        record.set(self.trace, value);
        record.set(self.std_error, se);
        Ok(())
    }
}

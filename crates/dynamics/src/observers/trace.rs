//! Every `tracking.trace_every` steps: Hutchinson estimate of the trace of the process's
//! tracked operator (`H` or `P^{-1/2}HP^{-1/2}`) and its standard error, from
//! `tracking.trace_probes` Rademacher probes seeded by `(seed, TraceProbes, step)`.

use gdscope_core::seeds::{derive, Stream};

use super::{Columns, Observation, Observer};
use crate::config::TrackingConfig;
use crate::tracker::{trace_estimate, Operator};

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
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let parts = p.parts();
        let op = parts
            .curvature
            .operator(out.ctx.rule, parts.state.f64(), parts.kind);
        if op == Operator::NotYet {
            return Ok(());
        }
        let seed = derive(out.ctx.seed, Stream::TraceProbes, out.ctx.step);
        let objective = out.ctx.problem.objective;
        let probes = self.probes;
        let (value, se) = trace_estimate(
            objective,
            parts.point.f64(),
            op.preconditioner(),
            probes,
            seed,
        )?;
        out.timings.eigen_s += clock.elapsed().as_secs_f64();
        out.record.set(self.trace, value);
        out.record.set(self.std_error, se);
        Ok(())
    }
}

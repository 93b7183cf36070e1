//! `projection = ⟨w_t − w_{t0}, u_{t0}⟩` (the oscillation plot): the reference `t0` is
//! `tracking.projection_step`, or the first eigen-measurement where the sharpness reaches
//! 0.95 × the threshold; `u_{t0}` is the top eigenvector there (`P^{-1/2}v` for the effective
//! Hessian). Recorded at every step from `t0` on.

use super::{Columns, ObserveContext, Observer};
use crate::config::TrackingConfig;
use crate::diagnostics::Projection;
use crate::process::AnyProcess;
use crate::record::Record;
use crate::Timings;

/// Fraction of the stability threshold at which the sharpness counts as "at the edge".
pub const CROSSING_FRACTION: f64 = 0.95;

pub(crate) struct ProjectionObserver {
    process: usize,
    step: Option<u64>,
    column: usize,
    reference: Option<Projection>,
}

impl ProjectionObserver {
    pub(crate) fn new(process: usize, tracking: &TrackingConfig, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            step: tracking.projection_step,
            column: cols.add("projection"),
            reference: None,
        }
    }
}

impl Observer for ProjectionObserver {
    fn key(&self) -> String {
        format!("projection/{}", self.process)
    }

    fn observe(
        &mut self,
        ctx: &ObserveContext<'_>,
        processes: &mut [AnyProcess],
        record: &mut Record,
        _timings: &mut Timings,
    ) -> anyhow::Result<()> {
        let p = processes[self.process].get_mut();
        if p.halted().is_some() {
            return Ok(());
        }
        let threshold = ctx.rule.threshold_at(p.state().t);
        let parts = p.parts();
        if self.reference.is_none() {
            if let Some(m) = parts.curvature.measured(ctx.step) {
                let at_edge = m.values[0] >= CROSSING_FRACTION * threshold;
                if self.step.map_or(at_edge, |s| s == ctx.step) {
                    self.reference = Projection::new(ctx.step, parts.point, &m.top_vector);
                }
            }
        }
        if let Some(r) = &self.reference {
            record.set(self.column, r.value(parts.point));
        }
        Ok(())
    }

    fn save(&self) -> anyhow::Result<Vec<u8>> {
        Ok(postcard::to_stdvec(&self.reference)?)
    }

    fn load(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.reference = postcard::from_bytes(bytes)?;
        Ok(())
    }
}

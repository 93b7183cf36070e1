//! `projection = ⟨w_t − w_{t0}, u_{t0}⟩` (the oscillation plot): the reference `t0` is
//! `tracking.projection_step`, or the first eigen-measurement where the sharpness reaches
//! 0.95 × the threshold; `u_{t0}` is the top eigenvector there (`P^{-1/2}v` for the effective
//! Hessian). Recorded at every step from `t0` on.

use super::{Columns, Memory, Observation, Observer};
use crate::config::TrackingConfig;
use crate::diagnostics::Projection;

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
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, 1) else {
            return Ok(());
        };
        let threshold = out.ctx.rule.threshold_at(p.t());
        let parts = p.parts();
        if self.reference.is_none() {
            if let Some(m) = parts.curvature.measured(out.ctx.step) {
                let at_edge = m.values[0] >= CROSSING_FRACTION * threshold;
                if self.step.map_or(at_edge, |s| s == out.ctx.step) {
                    self.reference =
                        Projection::new(out.ctx.step, parts.point.f64(), &m.top_vector);
                }
            }
        }
        if let Some(r) = &self.reference {
            out.record
                .set(self.column, r.value_at(parts.point.values()));
        }
        Ok(())
    }

    fn memory(&mut self) -> Option<&mut dyn Memory> {
        Some(&mut self.reference)
    }
}

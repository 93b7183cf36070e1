//! Realized edge of stability (Lee & Lee 2026): for the update `θ' = θ − ηu` (`Δθ = −ηu`),
//!
//! `ζ = 1 + ΔL/(η gᵀu) = 1 − (L(θ') − L(θ)) / (gᵀΔθ)`,
//!
//! with full-batch losses and gradient. `ζ ≤ 1` exactly when the update did not raise the
//! loss; on a quadratic `ζ = (η/2)·uᵀHu/(gᵀu)`, so `ζ = 1` is the edge. `L(θ')` is only known
//! at the next step, so **row `t` holds ζ of the update from `w_{t−1}` to `w_t`** (measured
//! for updates `t − 1` that fall on `realized_edge_every`). In a full-batch run it is free
//! (consecutive losses and the step's own gradient); in a minibatch run it costs one full
//! gradient at `θ` and one forward pass at `θ'`.

use gdscope_core::linalg::dot;
use serde::{Deserialize, Serialize};

use super::full_gradient;
use crate::observers::{due, Columns, Memory, Observation, Observer};

/// `ζ` from the losses before and after an update `Δθ` and `slope = gᵀΔθ` (the gradient
/// before it): `1 − (after − before)/slope`.
pub fn realized_edge(before: f64, after: f64, slope: f64) -> f64 {
    1.0 - (after - before) / slope
}

/// An update whose loss after is not yet known (checkpointed).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
struct Pending {
    loss: f64,
    slope: f64,
}

pub(crate) struct RealizedEdge {
    process: usize,
    every: u64,
    column: usize,
    pending: Option<Pending>,
    full: Vec<f64>,
}

impl RealizedEdge {
    pub(crate) fn new(process: usize, every: u64, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            every,
            column: cols.add("realized_edge"),
            pending: None,
            full: Vec::new(),
        }
    }
}

impl Observer for RealizedEdge {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let ctx = o.ctx;
        let p = o.processes[self.process].get_mut();
        if p.halted().is_some() {
            return Ok(());
        }
        let starts = due(self.every, ctx.step) && p.update().is_some();
        if self.pending.is_none() && !starts {
            return Ok(());
        }
        let loss = match ctx.batch {
            None => p.loss(),
            Some(_) => ctx.problem.objective.value(p.point()),
        };
        if let Some(before) = self.pending.take() {
            o.record
                .set(self.column, realized_edge(before.loss, loss, before.slope));
        }
        if starts {
            let grad = full_gradient(&*p, ctx, &mut self.full);
            let update = p.update().expect("checked above");
            self.pending = Some(Pending {
                loss,
                slope: dot(grad, update),
            });
        }
        Ok(())
    }

    fn memory(&mut self) -> Option<&mut dyn Memory> {
        Some(&mut self.pending)
    }
}

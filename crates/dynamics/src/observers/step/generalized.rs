//! Generalized batch sharpness of the optimizer's own step (Walden et al.'s GBS): with
//! `s_B` the step the optimizer would take from its frozen state for the minibatch gradient
//! `g_B` (learning rate included; [`Rule::virtual_step`]),
//!
//! `generalized_sharpness = E_B[s_BᵀH_Bs_B] / (−E_B[s_Bᵀg_B])`.
//!
//! Along `s_B` the minibatch loss changes by `s_Bᵀg_B + ½s_BᵀH_Bs_B` to second order, which
//! is positive exactly when the ratio exceeds 2: the edge is 2 for every optimizer (for SGD
//! `s_B = −ηg_B` and the ratio is η times the ratio-of-means batch sharpness). One gradient
//! and one minibatch HVP per sample, ratio of means with the delta-method interval.

use gdscope_core::linalg::dot;
use gdscope_core::optimizer::{Rule, RuleState};
use gdscope_core::Objective;

use super::{hvp_on, value_grad_on, Draws, EstimateColumns, Sampling, Source};
use crate::montecarlo::{Estimate, MonteCarlo, RatioOfMeans};
use crate::observers::{Columns, Observation, Observer};
use crate::process::scratch;

/// Scratch buffers of [`estimate`].
#[derive(Debug, Default)]
pub struct Buffers {
    g: Vec<f64>,
    s: Vec<f64>,
    hs: Vec<f64>,
}

/// Estimates the generalized batch sharpness at `w` for `rule` frozen at `state`; `draws`
/// must be started.
pub fn estimate(
    obj: &dyn Objective,
    rule: &Rule,
    state: &RuleState,
    w: &[f64],
    draws: &mut Draws,
    mc: &MonteCarlo,
    buffers: &mut Buffers,
) -> anyhow::Result<Estimate> {
    let n = w.len();
    let mut rom = RatioOfMeans::default();
    let exact = draws.is_exact();
    loop {
        let batch = draws.next_batch();
        let (g, s, hs) = (
            scratch(&mut buffers.g, n),
            scratch(&mut buffers.s, n),
            scratch(&mut buffers.hs, n),
        );
        value_grad_on(obj, w, batch, g);
        rule.virtual_step(state, g, w, s)
            .map_err(|e| anyhow::anyhow!("generalized batch sharpness: {e}"))?;
        hvp_on(obj, w, batch, s, hs);
        let (x, y) = (dot(s, hs), -dot(s, g));
        if exact {
            return Ok(Estimate::exact(x / y));
        }
        rom.push(x, y);
        let e = rom.estimate();
        if mc.done(e.samples, &[rom.rel_se()]) {
            return Ok(e);
        }
    }
}

pub(crate) struct Generalized {
    sampling: Sampling,
    columns: EstimateColumns,
    buffers: Buffers,
}

impl Generalized {
    pub(crate) fn new(source: Source, cols: &mut Columns<'_>) -> Self {
        Self {
            columns: EstimateColumns::new(cols, "generalized_sharpness"),
            sampling: Sampling::new(source, cols, "generalized_sharpness"),
            buffers: Buffers::default(),
        }
    }
}

impl Observer for Generalized {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let (buffers, columns) = (&mut self.buffers, &self.columns);
        self.sampling.observe(o, |m| {
            let p = &*m.process;
            let obj = m.ctx.problem.objective;
            let e = estimate(
                obj,
                m.ctx.rule,
                p.state(),
                p.point(),
                m.draws,
                m.mc,
                buffers,
            )?;
            columns.write(m.record, &e);
            Ok(e.samples)
        })
    }
}

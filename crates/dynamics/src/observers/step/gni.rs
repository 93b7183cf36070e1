//! Gradient–noise interaction: the full-batch curvature along minibatch gradients,
//! normalized by the full gradient,
//!
//! `gni = E_B[g_BᵀH g_B] / ‖g‖²`,
//!
//! over fresh random batches (one minibatch gradient and one full HVP per sample, plus the
//! full gradient once; a full-batch run reuses its gradient). Since
//! `E_B[g_BᵀHg_B] = gᵀHg + tr(H Σ_B)`, it is `gᵀHg/‖g‖²` plus the curvature-weighted noise.

use gdscope_core::linalg::dot;
use gdscope_core::Objective;

use super::{full_gradient, Draws, EstimateColumns, Sampling, Source};
use crate::montecarlo::{Estimate, Mean, MonteCarlo};
use crate::observers::{Columns, Observation, Observer};
use crate::process::scratch;

/// Estimates `E_B[g_BᵀHg_B]/‖g‖²` at `w` given the full gradient `full_grad`; `draws` must
/// be started. `g`, `hg`: scratch buffers.
pub fn estimate(
    obj: &dyn Objective,
    w: &[f64],
    full_grad: &[f64],
    draws: &mut Draws,
    mc: &MonteCarlo,
    g: &mut Vec<f64>,
    hg: &mut Vec<f64>,
) -> Estimate {
    let n = w.len();
    let norm2 = dot(full_grad, full_grad);
    let mut mean = Mean::default();
    loop {
        let (g, hg) = (scratch(g, n), scratch(hg, n));
        match draws.next_batch() {
            None => {
                obj.hvp(w, full_grad, hg);
                return Estimate::exact(dot(full_grad, hg) / norm2);
            }
            Some(batch) => {
                obj.value_grad_subset(w, batch, g);
            }
        }
        obj.hvp(w, g, hg);
        mean.push(dot(g, hg));
        let e = mean.estimate();
        if mc.done(e.samples, &[mean.rel_se()]) {
            return e.scaled(1.0 / norm2);
        }
    }
}

pub(crate) struct Gni {
    sampling: Sampling,
    columns: EstimateColumns,
    full: Vec<f64>,
    g: Vec<f64>,
    hg: Vec<f64>,
}

impl Gni {
    pub(crate) fn new(source: Source, cols: &mut Columns<'_>) -> Self {
        Self {
            columns: EstimateColumns::new(cols, "gni"),
            sampling: Sampling::new(source, cols, "gni"),
            full: Vec::new(),
            g: Vec::new(),
            hg: Vec::new(),
        }
    }
}

impl Observer for Gni {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let (full, g, hg, columns) = (&mut self.full, &mut self.g, &mut self.hg, &self.columns);
        self.sampling.observe(o, |m| {
            let p = &*m.process;
            let grad = full_gradient(p, m.ctx, full);
            let obj = m.ctx.problem.objective;
            let e = estimate(obj, p.point(), grad, m.draws, m.mc, g, hg);
            columns.write(m.record, &e);
            Ok(e.samples)
        })
    }
}

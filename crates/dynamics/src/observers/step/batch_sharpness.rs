//! Batch sharpness (Andreyev & Beneventano): the curvature of the minibatch loss along its
//! own gradient, averaged over batches,
//!
//! `batch_sharpness = E_B[g_BᵀH_Bg_B / ‖g_B‖²]` (mean of ratios), and the ratio of means
//! `batch_sharpness_rom = E_B[g_BᵀH_Bg_B] / E_B[‖g_B‖²]`,
//!
//! at the process's point, over fresh random batches (one gradient and one minibatch HVP per
//! sample). Under SGD it sits at `2/η` while `λmax` stays below (docs/curvature.md).

use gdscope_core::linalg::dot;
use gdscope_core::Objective;

use super::{hvp_on, value_grad_on, Draws, EstimateColumns, Sampling, Source};
use crate::montecarlo::{Estimate, Mean, MonteCarlo, RatioOfMeans};
use crate::observers::{Columns, Observation, Observer};
use crate::process::scratch;

/// The two estimates of batch sharpness.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchSharpnessEstimate {
    /// `E_B[g_BᵀH_Bg_B / ‖g_B‖²]`.
    pub mean_of_ratios: Estimate,
    /// `E_B[g_BᵀH_Bg_B] / E_B[‖g_B‖²]`.
    pub ratio_of_means: Estimate,
}

/// Estimates batch sharpness at `w` (see the module docs); `draws` must be started.
/// `g`, `hg`: scratch buffers.
pub fn estimate(
    obj: &dyn Objective,
    w: &[f64],
    draws: &mut Draws,
    mc: &MonteCarlo,
    g: &mut Vec<f64>,
    hg: &mut Vec<f64>,
) -> BatchSharpnessEstimate {
    let n = w.len();
    let (mut ratios, mut rom) = (Mean::default(), RatioOfMeans::default());
    let exact = draws.is_exact();
    loop {
        let batch = draws.next_batch();
        let (g, hg) = (scratch(g, n), scratch(hg, n));
        value_grad_on(obj, w, batch, g);
        hvp_on(obj, w, batch, g, hg);
        let (x, y) = (dot(g, hg), dot(g, g));
        ratios.push(x / y);
        rom.push(x, y);
        if exact {
            let e = Estimate::exact(x / y);
            return BatchSharpnessEstimate {
                mean_of_ratios: e,
                ratio_of_means: e,
            };
        }
        let count = ratios.estimate().samples;
        if mc.done(count, &[ratios.rel_se(), rom.rel_se()]) {
            return BatchSharpnessEstimate {
                mean_of_ratios: ratios.estimate(),
                ratio_of_means: rom.estimate(),
            };
        }
    }
}

pub(crate) struct BatchSharpness {
    sampling: Sampling,
    mean_of_ratios: EstimateColumns,
    ratio_of_means: EstimateColumns,
    g: Vec<f64>,
    hg: Vec<f64>,
}

impl BatchSharpness {
    pub(crate) fn new(source: Source, cols: &mut Columns<'_>) -> Self {
        Self {
            mean_of_ratios: EstimateColumns::new(cols, "batch_sharpness"),
            ratio_of_means: EstimateColumns::new(cols, "batch_sharpness_rom"),
            sampling: Sampling::new(source, cols, "batch_sharpness"),
            g: Vec::new(),
            hg: Vec::new(),
        }
    }
}

impl Observer for BatchSharpness {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let (g, hg) = (&mut self.g, &mut self.hg);
        let (mor, rom) = (&self.mean_of_ratios, &self.ratio_of_means);
        self.sampling.observe(o, |m| {
            let obj = m.ctx.problem.objective;
            let e = estimate(obj, m.process.point(), m.draws, m.mc, g, hg);
            mor.write(m.record, &e.mean_of_ratios);
            rom.write(m.record, &e.ratio_of_means);
            Ok(e.mean_of_ratios.samples)
        })
    }
}

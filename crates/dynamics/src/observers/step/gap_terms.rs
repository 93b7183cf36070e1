//! The ingredients of the stochastic sharpness gap `ΔS = ηβσ_u²/(4α)` (Liao, Kolomvaki &
//! Kyrillidis 2026; docs/curvature.md "The gap prediction"), measured at the iterate `w` of
//! an SGD run. With `u` the unit top eigenvector of the full-batch Hessian `H`, `S = uᵀHu`,
//! `P⊥ = I − uuᵀ` and `g`, `g_B` the full and minibatch gradients:
//!
//! - `∇S = ∇³L[u, u]`, one third-order vector (docs/theory.md §4);
//! - `α = −(P⊥g)·∇S`, the progressive-sharpening rate: `S` grows by `ηα` per step of the
//!   constrained trajectory. The component of `g` along `u` is removed because it is the
//!   oscillation (`uᵀg ≈ S·x` flips sign every step), not the drift: Damian et al.'s
//!   reference point satisfies `uᵀ∇L = 0`;
//! - `β = ‖P⊥∇S‖²`, the self-stabilization strength: an oscillation of size `x` along `u`
//!   lowers `S` by `ηβx²/2` per step;
//! - `σ_u² = E_B[(uᵀ(g_B − g))²]`, the variance of one step's gradient noise along `u`
//!   (Monte Carlo over fresh batches; exactly 0 in full batch).
//!
//! Cost: the top eigenpair (shared with `sharpness` when measured at the same step), one
//! third-order vector, a full gradient in a minibatch run, one minibatch gradient per sample.

use gdscope_core::linalg::dot;
use gdscope_core::optimizer::{OptimizerConfig, Rule};
use gdscope_core::Objective;

use super::{full_gradient, value_grad_on, Draws, EstimateColumns, Sampling, Source};
use crate::montecarlo::{Estimate, Mean, MonteCarlo};
use crate::observers::{Columns, Observation, Observer};
use crate::process::scratch;

/// The gap's ingredients at one iterate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GapTerms {
    /// Progressive-sharpening rate `α = −(P⊥g)·∇S`.
    pub alpha: f64,
    /// Self-stabilization strength `β = ‖P⊥∇S‖²`.
    pub beta: f64,
    /// Projected noise variance `σ_u² = E_B[(uᵀ(g_B − g))²]`.
    pub sigma_u2: Estimate,
}

impl GapTerms {
    /// `ΔS = ηβσ_u²/(4α)` at learning rate `lr` (`None` unless `α > 0`: without progressive
    /// sharpening there is no edge to fall short of).
    pub fn predicted_gap(&self, lr: f64) -> Option<f64> {
        predicted_gap(lr, self.alpha, self.beta, self.sigma_u2.value)
    }
}

/// `ΔS = ηβσ_u²/(4α)`, `None` unless `α > 0`.
pub fn predicted_gap(lr: f64, alpha: f64, beta: f64, sigma_u2: f64) -> Option<f64> {
    (alpha > 0.0).then(|| lr * beta * sigma_u2 / (4.0 * alpha))
}

/// Scratch space of [`estimate`].
#[derive(Default)]
pub struct Buffers {
    unit: Vec<f64>,
    grad_s: Vec<f64>,
    g: Vec<f64>,
}

/// The gap's ingredients at `w` with full gradient `full_grad` and top eigenvector `u`
/// (any scale; it is normalized); `draws` must be started.
pub fn estimate(
    obj: &dyn Objective,
    w: &[f64],
    full_grad: &[f64],
    u: &[f64],
    draws: &mut Draws,
    mc: &MonteCarlo,
    buffers: &mut Buffers,
) -> GapTerms {
    let n = w.len();
    let norm = dot(u, u).sqrt();
    let unit = scratch(&mut buffers.unit, n);
    unit.iter_mut().zip(u).for_each(|(v, x)| *v = x / norm);
    let u = &*unit;
    let grad_s = scratch(&mut buffers.grad_s, n);
    obj.third_order(w, u, u, grad_s);
    let (s_u, g_u) = (dot(grad_s, u), dot(full_grad, u));
    // ‖P⊥∇S‖² = ‖∇S‖² − (uᵀ∇S)², (P⊥g)·∇S = g·∇S − (uᵀg)(uᵀ∇S).
    let beta = (dot(grad_s, grad_s) - s_u * s_u).max(0.0);
    let alpha = -(dot(full_grad, grad_s) - g_u * s_u);
    let mut mean = Mean::default();
    let sigma_u2 = loop {
        let g = scratch(&mut buffers.g, n);
        match draws.next_batch() {
            None => break Estimate::exact(0.0),
            Some(batch) => {
                value_grad_on(obj, w, Some(batch), g);
            }
        }
        let noise = dot(g, u) - g_u;
        mean.push(noise * noise);
        let e = mean.estimate();
        if mc.done(e.samples, &[mean.rel_se()]) {
            break e;
        }
    };
    GapTerms {
        alpha,
        beta,
        sigma_u2,
    }
}

/// Whether the gap formula applies to `rule`: plain SGD (`gd`, or `sgd` without momentum
/// and weight decay), the setting in which it is derived.
fn plain_sgd(rule: &Rule) -> bool {
    match rule.config() {
        OptimizerConfig::Gd(_) => true,
        OptimizerConfig::Sgd(s) => s.momentum == 0.0 && s.weight_decay == 0.0,
        _ => false,
    }
}

pub(crate) struct GapTermsObserver {
    sampling: Sampling,
    alpha: usize,
    beta: usize,
    sigma_u2: EstimateColumns,
    top: Vec<f64>,
    full: Vec<f64>,
    buffers: Buffers,
}

impl GapTermsObserver {
    pub(crate) fn new(source: Source, cols: &mut Columns<'_>) -> Self {
        Self {
            alpha: cols.add("gap_alpha"),
            beta: cols.add("gap_beta"),
            sigma_u2: EstimateColumns::new(cols, "gap_sigma_u2"),
            sampling: Sampling::new(source, cols, "gap_sigma_u2"),
            top: Vec::new(),
            full: Vec::new(),
            buffers: Buffers::default(),
        }
    }
}

impl Observer for GapTermsObserver {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let rule = o.ctx.rule;
        anyhow::ensure!(
            plain_sgd(rule),
            "tracking.step_curvature.gap_terms_every: the sharpness-gap formula is derived for \
             plain SGD; use optimizer.kind = \"gd\" or \"sgd\" without momentum and weight decay \
             (got \"{}\"), or set gap_terms_every = 0",
            rule.config().name()
        );
        let (top, full, buffers) = (&mut self.top, &mut self.full, &mut self.buffers);
        let (alpha, beta, sigma_u2) = (self.alpha, self.beta, &self.sigma_u2);
        self.sampling.observe(o, |m| {
            let (ctx, obj) = (m.ctx, m.ctx.problem.objective);
            let parts = m.process.parts();
            let Some(measured) = parts.curvature.measure(
                ctx.step,
                obj,
                ctx.rule,
                parts.point,
                parts.state,
                parts.kind,
            )?
            else {
                return Ok(0);
            };
            top.clear();
            top.extend_from_slice(&measured.top_vector);
            let p = &*m.process;
            let grad = full_gradient(p, ctx, full);
            let e = estimate(obj, p.point(), grad, top, m.draws, m.mc, buffers);
            m.record.set(alpha, e.alpha);
            m.record.set(beta, e.beta);
            sigma_u2.write(m.record, &e.sigma_u2);
            Ok(e.sigma_u2.samples)
        })
    }
}

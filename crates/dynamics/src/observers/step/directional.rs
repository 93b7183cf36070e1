//! Directional sharpness of the executed update (Kalra et al.; Pan & Li; Roulet et al.):
//! with `Δθ = −ηu` the update of this step and `g`, `H` the full-batch gradient and Hessian,
//!
//! - `directional_sharpness = uᵀHu / (gᵀu) = ΔθᵀHΔθ / (−η gᵀΔθ)`: the step lowers the
//!   quadratic model exactly when `η` is below `2/directional_sharpness`; on a quadratic it
//!   equals the critical sharpness. For GD it is `gᵀHg/‖g‖²`, a gradient-weighted average
//!   of the eigenvalues (≤ λmax).
//! - `directional_rayleigh = ΔθᵀHΔθ / (ΔθᵀPΔθ)`: the preconditioned form, the Rayleigh
//!   quotient of the tracked operator `P^{-1/2}HP^{-1/2}` at `P^{1/2}Δθ` (`P` the rule's
//!   tracking preconditioner, `I` for non-adaptive rules), comparable with the tracked
//!   sharpness and threshold. For RMSProp and Adam without momentum both forms coincide.
//!
//! One full HVP (and a full gradient in a minibatch run).

use gdscope_core::linalg::dot;
use gdscope_core::rules::Preconditioning;
use gdscope_core::Objective;

use super::full_gradient;
use crate::observers::{Columns, Observation, Observer};
use crate::process::scratch;

/// `(directional_sharpness, directional_rayleigh)` of `update` at `w` (see the module docs);
/// `precond` is the diagonal `P` (`None`: identity), `hv` a scratch buffer.
pub fn directional(
    obj: &dyn Objective,
    w: &[f64],
    grad: &[f64],
    update: &[f64],
    lr: f64,
    precond: Option<&[f64]>,
    hv: &mut Vec<f64>,
) -> (f64, f64) {
    let hv = scratch(hv, w.len());
    obj.hvp(w, update, hv);
    let curvature = dot(update, hv);
    let metric = match precond {
        Some(p) => update.iter().zip(p).map(|(d, p)| d * p * d).sum(),
        None => dot(update, update),
    };
    (curvature / (-lr * dot(grad, update)), curvature / metric)
}

pub(crate) struct Directional {
    process: usize,
    every: u64,
    sharpness: usize,
    rayleigh: usize,
    full: Vec<f64>,
    hv: Vec<f64>,
    precond: Vec<f64>,
}

impl Directional {
    pub(crate) fn new(process: usize, every: u64, cols: &mut Columns<'_>) -> Self {
        Self {
            process,
            every,
            sharpness: cols.add("directional_sharpness"),
            rayleigh: cols.add("directional_rayleigh"),
            full: Vec::new(),
            hv: Vec::new(),
            precond: Vec::new(),
        }
    }
}

impl Observer for Directional {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let Some((p, out)) = o.process(self.process, self.every) else {
            return Ok(());
        };
        let Some(update) = p.update() else {
            return Ok(());
        };
        let clock = std::time::Instant::now();
        let rule = out.ctx.rule;
        let precond = match rule.tracking_preconditioner(p.state(), &mut self.precond) {
            Preconditioning::Identity => None,
            Preconditioning::Diagonal => Some(&self.precond[..]),
            Preconditioning::NotYet => return Ok(()),
        };
        let grad = full_gradient(&*p, out.ctx, &mut self.full);
        let lr = rule.lr_at(p.state().t);
        let (s, r) = directional(
            out.ctx.problem.objective,
            p.point(),
            grad,
            update,
            lr,
            precond,
            &mut self.hv,
        );
        out.timings.eigen_s += clock.elapsed().as_secs_f64();
        out.record.set(self.sharpness, s);
        out.record.set(self.rayleigh, r);
        Ok(())
    }
}

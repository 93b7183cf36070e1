//! Predictions of the central flow for the time averages of gradient descent
//! (docs/theory.md §5 "Predictions", docs/central-flows.md "Predictions"). With `w` the
//! central flow and `Σ = U_c X U_cᵀ` the oscillation covariance (`UᵀPU = I`):
//!
//! - any observable `f`: `E[f(w + δ)] ≈ f(w) + ½⟨Σ, ∇²f(w)⟩ = f(w) + ½⟨U_cᵀ∇²f U_c, X⟩`
//!   ([`predict_time_average`]);
//! - the loss, as the references log it: `L + tr X` (`½⟨Σ, H⟩ = ½⟨Λ, X⟩` with `Λ ≈ 2` on the
//!   support of `X`; `= L + tr Σ/η` for GD) ([`CentralStep::predicted_loss`]);
//! - the squared gradient norm: `‖g‖² + E‖Hδ‖² = ‖g‖² + ⟨(HU_c)ᵀ(HU_c), X⟩`
//!   ([`CentralStep::predicted_grad_norm_sq`]), with `HU_c` from the derivatives call;
//! - the squared gradient per coordinate (what RMSProp's `ν` averages):
//!   `g⊙² + diag((HU_c) X (HU_c)ᵀ)` with `HU_c ≈ 2PU_c`, the reference's convention for the ν
//!   prediction ([`CentralStep::predicted_grad_sq`]);
//! - the oscillation variances: the eigenvalues of `X`, to compare with the time averages of
//!   `(UᵀP(w_GD − w))²` ([`CentralStep::sigma_eigenvalues`]).

use gdscope_core::{Block, Objective};
use nalgebra::DMatrix;

use crate::central::CentralStep;
use crate::sdcp::sym::sym_eig;

/// `f(w) + ½⟨U_cᵀ ∇²f(w) U_c, X⟩`: the central flow's prediction of the time average of the
/// observable `f` along GD (`u_c` the critical columns, `x` the matching `X`).
pub fn predict_time_average(f: &dyn Objective, w: &[f64], u_c: &Block, x: &DMatrix<f64>) -> f64 {
    let value = f.value(w);
    if u_c.ncols() == 0 {
        return value;
    }
    let hu = f.block_hvp(w, u_c);
    let m = u_c.transpose() * hu;
    value + 0.5 * m.dot(x)
}

impl CentralStep {
    /// The critical columns `U_c` of the first substep.
    pub fn critical_basis(&self) -> Block {
        self.basis.columns(0, self.critical_k).clone_owned()
    }

    /// `L + tr X` (first substep).
    pub fn predicted_loss(&self) -> f64 {
        self.loss + self.x_first.trace()
    }

    /// `‖g‖² + ⟨(HU_c)ᵀ(HU_c), X⟩` (first substep).
    pub fn predicted_grad_norm_sq(&self) -> f64 {
        let g2: f64 = self.grad.iter().map(|g| g * g).sum();
        if self.critical_k == 0 {
            return g2;
        }
        g2 + (self.hu.transpose() * &self.hu).dot(&self.x_first)
    }

    /// `g⊙² + diag((2PU_c) X (2PU_c)ᵀ)` per coordinate (first substep).
    pub fn predicted_grad_sq(&self) -> Vec<f64> {
        let uc = self.critical_basis();
        let xu = &uc * &self.x_first;
        self.grad
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let p = self.preconditioner[i];
                let quad: f64 = (0..self.critical_k).map(|k| uc[(i, k)] * xu[(i, k)]).sum();
                g * g + 4.0 * p * p * quad
            })
            .collect()
    }

    /// `tr Σ = ⟨U_cᵀU_c, X⟩` in parameter units (first substep).
    pub fn sigma_trace(&self) -> f64 {
        if self.critical_k == 0 {
            return 0.0;
        }
        let uc = self.critical_basis();
        (uc.transpose() * &uc).dot(&self.x_first)
    }

    /// Eigenvalues of the substep-averaged `X` (effective units), descending.
    pub fn sigma_eigenvalues(&self) -> Vec<f64> {
        if self.x_mean.is_empty() {
            return Vec::new();
        }
        let mut v = sym_eig(&self.x_mean).0;
        v.reverse();
        v
    }
}

//! Scalar RMSProp (theory.md §5): one second moment of the squared gradient norm,
//! `ν ← β₂ν + (1−β₂)‖g‖²; w ← w − η g/(√ν + ε)`. theory.md writes it without ε: `eps = 0`
//! gives exactly that update (an all-zero first gradient then gives a non-finite step, which
//! the run records as divergence).
//!
//! Threshold on `λmax(P^{-1/2}HP^{-1/2})`, `P = (√ν + ε)·I`: `2/η`.
//!
//! Flow: `P(ν) = (√ν + ε)/η` on every coordinate, `dν/dt = ((1−β₂)/β₂)(‖g‖² − ν)`, so
//! `½∇²_g(dν/dt)[a, c] = ((1−β₂)/β₂) aᵀc` and `∂_ν(uᵀPv)[d] = (uᵀv) d/(2η√ν)`.

use serde::{Deserialize, Serialize};

use super::{
    check_invertible, Buffer, FlowError, FlowRule, Preconditioning, RuleState, Rmsprop, UpdateRule,
};
use crate::linalg::dot;
use crate::optimizer::OptimizerError;

/// Scalar RMSProp, with the hyper-parameters of [`Rmsprop`] (`lr`, `beta2` default 0.99,
/// `eps` default 1e-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScalarRmsprop(pub Rmsprop);

impl std::ops::Deref for ScalarRmsprop {
    type Target = Rmsprop;
    fn deref(&self) -> &Rmsprop {
        &self.0
    }
}

impl ScalarRmsprop {
    /// `β₂ν + (1−β₂)‖g‖²`.
    fn second_moment(&self, nu: f64, grad: &[f64]) -> f64 {
        let g2: f64 = grad.iter().map(|g| g * g).sum();
        self.0.beta2 * nu + (1.0 - self.0.beta2) * g2
    }
}

/// The state buffers.
const LAYOUT: &[Buffer] = &[Buffer::scalar("nu")];

impl UpdateRule for ScalarRmsprop {
    fn validate(&self) -> Result<(), OptimizerError> {
        self.0.validate()
    }
    fn layout(&self) -> &'static [Buffer] {
        LAYOUT
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        2.0 / lr
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let eps = self.0.eps;
        state.buffers[0] = self.second_moment(state.buffers[0], grad);
        let scale = lr / (state.buffers[0].sqrt() + eps);
        for (u, g) in update.iter_mut().zip(grad) {
            *u = -scale * g;
        }
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let nu = self.second_moment(state.buffers[0], grad);
        let scale = lr / (nu.sqrt() + self.0.eps);
        for (u, g) in update.iter_mut().zip(grad) {
            *u = -scale * g;
        }
    }
    /// `(√ν + ε)` on every coordinate once a step has filled ν.
    fn tracking_preconditioner(&self, state: &RuleState, out: &mut Vec<f64>) -> Preconditioning {
        if state.t == 0.0 {
            return Preconditioning::NotYet;
        }
        out.clear();
        out.resize(state.dim, state.buffers[0].sqrt() + self.0.eps);
        Preconditioning::Diagonal
    }
    fn flow(&self) -> Result<&dyn FlowRule, &'static str> {
        Ok(self)
    }
}

impl FlowRule for ScalarRmsprop {
    fn preconditioner(&self, lr: f64, buffers: &[f64], p: &mut [f64]) -> Result<(), FlowError> {
        p.fill((buffers[0].sqrt() + self.0.eps) / lr);
        check_invertible(p)
    }
    fn update_state(&self, buffers: &mut [f64], grad: &[f64]) {
        buffers[0] = self.second_moment(buffers[0], grad);
    }
    fn state_derivative(&self, buffers: &[f64], grad: &[f64], out: &mut [f64]) {
        out[0] = self.0.ode_rate() * (dot(grad, grad) - buffers[0]);
    }
    fn state_curvature(&self, _buffers: &[f64], a: &[f64], c: &[f64], out: &mut [f64]) {
        out[0] = self.0.ode_rate() * dot(a, c);
    }
    fn preconditioner_derivative(&self, lr: f64, b: &[f64], u: &[f64], v: &[f64], d: &[f64]) -> f64 {
        dot(u, v) * d[0] / (2.0 * lr * b[0].sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;
    use approx::assert_relative_eq;

    #[test]
    fn step_and_preconditioner_by_hand() {
        let rule = ScalarRmsprop(Rmsprop {
            lr: 0.01,
            beta2: 0.99,
            eps: 0.0,
        });
        let mut state = RuleState::zeros(&rule, 2);
        let mut w = vec![0.0; 2];
        // ν = 0.01·‖(3,4)‖² = 0.25, √ν = 0.5.
        let u = testing::apply(&rule, &mut state, &[3.0, 4.0], &mut w);
        assert_relative_eq!(u[0], -0.06, max_relative = 1e-14);
        assert_relative_eq!(u[1], -0.08, max_relative = 1e-14);
        assert_eq!(w, u);
        let mut p = Vec::new();
        rule.tracking_preconditioner(&state, &mut p);
        assert_eq!(p.len(), 2);
        assert_relative_eq!(p[0], 0.5, max_relative = 1e-15);
        assert_relative_eq!(p[1], 0.5, max_relative = 1e-15);
    }
}

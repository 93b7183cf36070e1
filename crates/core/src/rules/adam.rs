//! Adam with bias correction, PyTorch `Adam` (step number `k = t + 1`):
//! `m ← β₁m + (1−β₁)g; ν ← β₂ν + (1−β₂)g²; m̂ = m/(1−β₁ᵏ); ν̂ = ν/(1−β₂ᵏ);
//! w ← w − η m̂/(√ν̂ + ε)`, ε outside the root, buffers starting at zero.
//!
//! Threshold on the preconditioned sharpness `λmax(P^{-1/2}HP^{-1/2})`, `P = diag(√ν̂ + ε)`
//! (no η inside): `(2+2β₁)/((1−β₁)η)` (theory.md §3). Momentum: no flow.

use serde::{Deserialize, Serialize};

use super::{
    bias_correction, check_decay, check_non_negative, default_beta, default_beta2_adam,
    default_eps, Buffer, Preconditioning, RuleState, TypedStep, UpdateRule,
};
use crate::optimizer::OptimizerError;
use crate::real::Real;

/// Adam (PyTorch defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adam {
    /// Learning rate η.
    pub lr: f64,
    /// First-moment decay β₁ ∈ [0, 1).
    #[serde(default = "default_beta")]
    pub beta1: f64,
    /// Second-moment decay β₂ ∈ [0, 1).
    #[serde(default = "default_beta2_adam")]
    pub beta2: f64,
    /// ε ≥ 0, added to `√ν̂`.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

/// The state buffers.
const LAYOUT: &[Buffer] = &[Buffer::per_parameter("m"), Buffer::per_parameter("nu")];

impl UpdateRule for Adam {
    fn validate(&self) -> Result<(), OptimizerError> {
        check_decay("beta1", self.beta1)?;
        check_decay("beta2", self.beta2)?;
        check_non_negative("eps", self.eps)
    }
    fn layout(&self) -> &'static [Buffer] {
        LAYOUT
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        (2.0 + 2.0 * self.beta1) / ((1.0 - self.beta1) * lr)
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        self.step_in(lr, state, grad, w, update);
    }
    fn f32_step(&self) -> Option<&dyn TypedStep<f32>> {
        Some(self)
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let Self {
            beta1, beta2, eps, ..
        } = *self;
        let k = state.t + 1.0;
        let (bc1, bc2) = (bias_correction(beta1, k), bias_correction(beta2, k));
        let (m, nu) = state.buffers.split_at(grad.len());
        for (((u, m), nu), g) in update.iter_mut().zip(m).zip(nu).zip(grad) {
            let m = beta1 * m + (1.0 - beta1) * g;
            let nu = beta2 * nu + (1.0 - beta2) * g * g;
            *u = -lr * (m / bc1) / ((nu / bc2).sqrt() + eps);
        }
    }
    /// `√ν̂ + ε` with the bias correction of the last applied step; nothing before it.
    fn tracking_preconditioner(&self, state: &RuleState, out: &mut Vec<f64>) -> Preconditioning {
        if state.t == 0.0 {
            return Preconditioning::NotYet;
        }
        let bc2 = bias_correction(self.beta2, state.t);
        let nu = &state.buffers[state.dim..];
        out.clear();
        out.extend(nu.iter().map(|v| (v / bc2).sqrt() + self.eps));
        Preconditioning::Diagonal
    }
}

impl<T: Real> TypedStep<T> for Adam {
    fn step_in(&self, lr: f64, state: &mut RuleState<T>, grad: &[T], _w: &[T], update: &mut [T]) {
        let k = state.t + 1.0;
        let c = T::of_f64;
        let (bc1, bc2) = (c(bias_correction(self.beta1, k)), c(bias_correction(self.beta2, k)));
        let (beta1, beta2, eps, lr) = (c(self.beta1), c(self.beta2), c(self.eps), c(lr));
        let (one_minus_beta1, one_minus_beta2) = (c(1.0 - self.beta1), c(1.0 - self.beta2));
        let (m, nu) = state.buffers.split_at_mut(grad.len());
        for (((u, m), nu), &g) in update.iter_mut().zip(m).zip(nu).zip(grad) {
            *m = beta1 * *m + one_minus_beta1 * g;
            *nu = beta2 * *nu + one_minus_beta2 * g * g;
            *u = -lr * (*m / bc1) / ((*nu / bc2).sqrt() + eps);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;
    use approx::assert_relative_eq;

    fn adam(eps: f64) -> Adam {
        Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps,
        }
    }

    #[test]
    fn step_by_hand_with_bias_correction() {
        let u = testing::updates(&adam(0.0), &[&[2.0], &[-1.0]]);
        // Step 1: m̂ = g, ν̂ = g², so the step is −η·sign(g).
        assert_relative_eq!(u[0][0], -0.1, max_relative = 1e-14);
        // Step 2 (numbers from the formula evaluated in Python).
        assert_relative_eq!(u[1][0], -0.026633703966040066, max_relative = 1e-13);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        testing::virtual_step_contract(&adam(1e-8), 4);
    }

    #[test]
    fn f32_step_is_the_f64_step_in_f32() {
        testing::f32_step_contract(&adam(1e-8), 5);
    }

    #[test]
    fn preconditioner_and_threshold() {
        let rule = adam(1e-8);
        let mut state = RuleState::zeros(&rule, 2);
        let mut p = Vec::new();
        assert_eq!(
            rule.tracking_preconditioner(&state, &mut p),
            Preconditioning::NotYet
        );
        testing::apply(&rule, &mut state, &[2.0, -3.0], &mut [0.0, 0.0]);
        // After one step ν̂ = g², so P = |g| + ε.
        assert_eq!(
            rule.tracking_preconditioner(&state, &mut p),
            Preconditioning::Diagonal
        );
        assert_relative_eq!(p[0], 2.0 + 1e-8, max_relative = 1e-14);
        assert_relative_eq!(p[1], 3.0 + 1e-8, max_relative = 1e-14);
        assert_relative_eq!(rule.stability_threshold(0.1), 380.0, max_relative = 1e-14);
        assert!(rule.flow().is_err());
    }
}

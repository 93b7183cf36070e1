//! RMSProp, PyTorch `RMSprop` without momentum (its `alpha` is β₂ here), no bias correction:
//! `ν ← β₂ν + (1−β₂)g²; w ← w − η g/(√ν + ε)`, ε outside the root, `ν₀ = 0`.
//!
//! Threshold on `λmax(P^{-1/2}HP^{-1/2})`, `P = diag(√ν + ε)`: `2/η` (theory.md §3).
//!
//! Flow (theory.md §5): `P(ν) = (√ν + ε)/η` per coordinate, `dν/dt = ((1−β₂)/β₂)(g⊙g − ν)`
//! (the discrete update is its backward-Euler step with `dt = 1`), so
//! `½∇²_g(dν/dt)[a, c] = ((1−β₂)/β₂) a⊙c` and `∂_ν(uᵀPv)[d] = Σᵢ uᵢvᵢdᵢ/(2η√νᵢ)`.

use serde::{Deserialize, Serialize};

use super::{
    check_decay, check_invertible, check_non_negative, default_beta2_rms, default_eps,
    Buffer, FlowError, FlowRule, Preconditioning, RuleState, UpdateRule,
};
use crate::optimizer::OptimizerError;

/// Per-coordinate RMSProp (PyTorch defaults β₂ = 0.99, ε = 1e-8).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rmsprop {
    /// Learning rate η.
    pub lr: f64,
    /// Second-moment decay β₂ ∈ [0, 1).
    #[serde(default = "default_beta2_rms")]
    pub beta2: f64,
    /// ε ≥ 0, added to `√ν`.
    #[serde(default = "default_eps")]
    pub eps: f64,
}

impl Rmsprop {
    /// `(1−β₂)/β₂`, the rate of the state ODE.
    pub(super) fn ode_rate(&self) -> f64 {
        (1.0 - self.beta2) / self.beta2
    }
}

/// The state buffers.
const LAYOUT: &[Buffer] = &[Buffer::per_parameter("nu")];

impl UpdateRule for Rmsprop {
    fn validate(&self) -> Result<(), OptimizerError> {
        check_decay("beta2", self.beta2)?;
        check_non_negative("eps", self.eps)
    }
    fn layout(&self) -> &'static [Buffer] {
        LAYOUT
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        2.0 / lr
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let Self { beta2, eps, .. } = *self;
        for ((u, nu), g) in update.iter_mut().zip(&mut state.buffers).zip(grad) {
            *nu = beta2 * *nu + (1.0 - beta2) * g * g;
            *u = -lr * g / (nu.sqrt() + eps);
        }
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let Self { beta2, eps, .. } = *self;
        for ((u, nu), g) in update.iter_mut().zip(&state.buffers).zip(grad) {
            let nu = beta2 * nu + (1.0 - beta2) * g * g;
            *u = -lr * g / (nu.sqrt() + eps);
        }
    }
    /// `√ν + ε` once a step has filled ν.
    fn tracking_preconditioner(&self, state: &RuleState, out: &mut Vec<f64>) -> Preconditioning {
        if state.t == 0.0 {
            return Preconditioning::NotYet;
        }
        out.clear();
        out.extend(state.buffers.iter().map(|v| v.sqrt() + self.eps));
        Preconditioning::Diagonal
    }
    fn flow(&self) -> Result<&dyn FlowRule, &'static str> {
        Ok(self)
    }
}

impl FlowRule for Rmsprop {
    fn preconditioner(&self, lr: f64, buffers: &[f64], p: &mut [f64]) -> Result<(), FlowError> {
        for (p, nu) in p.iter_mut().zip(buffers) {
            *p = (nu.sqrt() + self.eps) / lr;
        }
        check_invertible(p)
    }
    fn update_state(&self, buffers: &mut [f64], grad: &[f64]) {
        let beta2 = self.beta2;
        for (nu, g) in buffers.iter_mut().zip(grad) {
            *nu = beta2 * *nu + (1.0 - beta2) * g * g;
        }
    }
    fn state_derivative(&self, buffers: &[f64], grad: &[f64], out: &mut [f64]) {
        let r = self.ode_rate();
        for ((o, nu), g) in out.iter_mut().zip(buffers).zip(grad) {
            *o = r * (g * g - nu);
        }
    }
    fn state_curvature(&self, _buffers: &[f64], a: &[f64], c: &[f64], out: &mut [f64]) {
        let r = self.ode_rate();
        for ((o, a), c) in out.iter_mut().zip(a).zip(c) {
            *o = r * a * c;
        }
    }
    fn preconditioner_derivative(&self, lr: f64, b: &[f64], u: &[f64], v: &[f64], d: &[f64]) -> f64 {
        b.iter()
            .zip(d)
            .zip(u.iter().zip(v))
            .map(|((nu, d), (u, v))| u * v * d / (2.0 * lr * nu.sqrt()))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{testing, ScalarRmsprop};
    use approx::assert_relative_eq;

    #[test]
    fn step_by_hand() {
        let rule = Rmsprop {
            lr: 0.01,
            beta2: 0.99,
            eps: 1e-8,
        };
        let u = testing::updates(&rule, &[&[3.0]]);
        // ν = 0.01·9 = 0.09, √ν = 0.3.
        assert_relative_eq!(u[0][0], -0.01 * 3.0 / (0.3 + 1e-8), max_relative = 1e-14);
        assert_eq!(rule.stability_threshold(0.01), 200.0);
    }

    /// Both RMSProps (per coordinate and scalar): the virtual step.
    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        let rule = Rmsprop {
            lr: 0.03,
            beta2: 0.9,
            eps: 1e-3,
        };
        testing::virtual_step_contract(&rule, 4);
        testing::virtual_step_contract(&ScalarRmsprop(rule), 4);
    }

    /// Both RMSProps (per coordinate and scalar) against the flow contract.
    #[test]
    fn flow_contract() {
        for eps in [0.0, 1e-3] {
            let rule = Rmsprop {
                lr: 0.03,
                beta2: 0.9,
                eps,
            };
            testing::flow_contract(&rule, 4);
            testing::flow_contract(&ScalarRmsprop(rule), 4);
        }
    }

    #[test]
    fn ode_matches_the_discrete_step_to_first_order() {
        let at = |s: f64| Rmsprop {
            lr: 0.05 * s,
            beta2: 1.0 - 0.1 * s,
            eps: 1e-8,
        };
        testing::ode_is_first_order_in_the_step(at, 4);
        testing::ode_is_first_order_in_the_step(|s| ScalarRmsprop(at(s)), 4);
    }

    #[test]
    fn unprimed_state_is_reported_not_a_panic() {
        let rule = Rmsprop {
            lr: 0.1,
            beta2: 0.9,
            eps: 0.0,
        };
        let state = RuleState::zeros(&rule, 3);
        let mut p = vec![0.0; 3];
        let err = rule.preconditioner(0.1, &state.buffers, &mut p).unwrap_err();
        assert!(matches!(err, FlowError::Singular { index: 0, .. }), "{err}");
        assert_eq!(
            rule.tracking_preconditioner(&state, &mut Vec::new()),
            Preconditioning::NotYet
        );
    }
}

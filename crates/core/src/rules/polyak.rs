//! Polyak heavy-ball momentum, PyTorch `SGD(momentum=β)`: `v ← βv + g; w ← w − ηv`
//! (`v₀ = 0`, so the first buffer equals the first gradient). Threshold `λmax(H) < (2+2β)/η`
//! (theory.md §3). Not preconditioned GD: no flow.

use serde::{Deserialize, Serialize};

use super::{check_decay, default_beta, Buffer, RuleState, TypedStep, UpdateRule};
use crate::optimizer::OptimizerError;
use crate::real::Real;

/// Polyak heavy-ball momentum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Polyak {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum β ∈ [0, 1) (default 0.9).
    #[serde(default = "default_beta")]
    pub beta: f64,
}

/// The state buffers.
const LAYOUT: &[Buffer] = &[Buffer::per_parameter("v")];

impl UpdateRule for Polyak {
    fn validate(&self) -> Result<(), OptimizerError> {
        check_decay("beta", self.beta)
    }
    fn layout(&self) -> &'static [Buffer] {
        LAYOUT
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        (2.0 + 2.0 * self.beta) / lr
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        self.step_in(lr, state, grad, w, update);
    }
    fn f32_step(&self) -> Option<&dyn TypedStep<f32>> {
        Some(self)
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let beta = self.beta;
        for ((u, v), g) in update.iter_mut().zip(&state.buffers).zip(grad) {
            *u = -lr * (beta * v + g);
        }
    }
}

impl<T: Real> TypedStep<T> for Polyak {
    fn step_in(&self, lr: f64, state: &mut RuleState<T>, grad: &[T], _w: &[T], update: &mut [T]) {
        let (lr, beta) = (T::of_f64(lr), T::of_f64(self.beta));
        for ((u, v), &g) in update.iter_mut().zip(&mut state.buffers).zip(grad) {
            *v = beta * *v + g;
            *u = -lr * *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;
    use approx::assert_relative_eq;

    #[test]
    fn step_by_hand() {
        // v1 = 1, v2 = 0.9·1 + 2 = 2.9.
        let p = testing::updates(&Polyak { lr: 0.1, beta: 0.9 }, &[&[1.0], &[2.0]]);
        assert_relative_eq!(p[0][0], -0.1, max_relative = 1e-15);
        assert_relative_eq!(p[1][0], -0.29, max_relative = 1e-15);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        testing::virtual_step_contract(&Polyak { lr: 0.1, beta: 0.9 }, 4);
    }

    #[test]
    fn f32_step_is_the_f64_step_in_f32() {
        testing::f32_step_contract(&Polyak { lr: 0.1, beta: 0.9 }, 5);
    }

    #[test]
    fn threshold_closed_form_and_on_quadratics() {
        let p = Polyak { lr: 0.1, beta: 0.9 };
        assert_relative_eq!(p.stability_threshold(0.1), 38.0, max_relative = 1e-15);
        testing::threshold_on_quadratics(&p);
        testing::threshold_on_quadratics(&Polyak { lr: 0.05, beta: 0.5 });
    }

    #[test]
    fn has_no_flow() {
        assert!(Polyak { lr: 0.1, beta: 0.9 }.flow().is_err());
    }
}

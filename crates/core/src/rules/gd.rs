//! Gradient descent: `w ← w − η g`; threshold `λmax(H) < 2/η`; flow `dw/dt = −η ∇L`
//! (`P = 1/η`, no state).

use serde::{Deserialize, Serialize};

use super::{FlowError, FlowRule, RuleState, TypedStep, UpdateRule};
use crate::real::Real;

/// Plain gradient descent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gd {
    /// Learning rate η.
    pub lr: f64,
}

impl UpdateRule for Gd {
    fn stability_threshold(&self, lr: f64) -> f64 {
        2.0 / lr
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        self.step_in(lr, state, grad, w, update);
    }
    fn virtual_step(&self, lr: f64, _state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        for (u, g) in update.iter_mut().zip(grad) {
            *u = -lr * g;
        }
    }
    fn f32_step(&self) -> Option<&dyn TypedStep<f32>> {
        Some(self)
    }
    fn flow(&self) -> Result<&dyn FlowRule, &'static str> {
        Ok(self)
    }
}

impl<T: Real> TypedStep<T> for Gd {
    fn step_in(&self, lr: f64, _state: &mut RuleState<T>, grad: &[T], _w: &[T], update: &mut [T]) {
        let lr = T::of_f64(lr);
        for (u, &g) in update.iter_mut().zip(grad) {
            *u = -lr * g;
        }
    }
}

impl FlowRule for Gd {
    fn preconditioner(&self, lr: f64, _buffers: &[f64], p: &mut [f64]) -> Result<(), FlowError> {
        p.fill(1.0 / lr);
        super::check_invertible(p)
    }
    fn update_state(&self, _buffers: &mut [f64], _grad: &[f64]) {}
    fn state_derivative(&self, _buffers: &[f64], _grad: &[f64], _out: &mut [f64]) {}
    fn state_curvature(&self, _buffers: &[f64], _a: &[f64], _c: &[f64], _out: &mut [f64]) {}
    fn preconditioner_derivative(&self, _lr: f64, _b: &[f64], _u: &[f64], _v: &[f64], _d: &[f64]) -> f64 {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;

    #[test]
    fn step_by_hand() {
        let u = testing::updates(&Gd { lr: 0.1 }, &[&[1.0, -2.0]]);
        assert_eq!(u[0], vec![-0.1, 0.2]);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        testing::virtual_step_contract(&Gd { lr: 0.1 }, 4);
    }

    #[test]
    fn f32_step_is_the_f64_step_in_f32() {
        testing::f32_step_contract(&Gd { lr: 0.1 }, 5);
    }

    #[test]
    fn threshold_separates_convergence_from_divergence() {
        testing::threshold_on_quadratics(&Gd { lr: 0.1 });
    }

    #[test]
    fn flow_matches_the_discrete_step() {
        testing::flow_contract(&Gd { lr: 0.1 }, 5);
        testing::ode_is_first_order_in_the_step(|s| Gd { lr: 0.1 * s }, 4);
    }
}

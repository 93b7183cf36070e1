//! Nesterov momentum, PyTorch `SGD(momentum=β, nesterov=True)`: `v ← βv + g;
//! w ← w − η(g + βv)`. Threshold `λmax(H) < (2+2β)/(η(1+2β))` (theory.md §3). No flow.

use serde::{Deserialize, Serialize};

use super::{Buffer, Polyak, RuleState, UpdateRule};
use crate::optimizer::OptimizerError;

/// Nesterov momentum, with the hyper-parameters of heavy ball ([`Polyak`]: `lr`, `beta`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Nesterov(pub Polyak);

impl std::ops::Deref for Nesterov {
    type Target = Polyak;
    fn deref(&self) -> &Polyak {
        &self.0
    }
}

impl UpdateRule for Nesterov {
    fn validate(&self) -> Result<(), OptimizerError> {
        self.0.validate()
    }
    fn layout(&self) -> &'static [Buffer] {
        self.0.layout()
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        let beta = self.0.beta;
        (2.0 + 2.0 * beta) / (lr * (1.0 + 2.0 * beta))
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let beta = self.0.beta;
        for ((u, v), g) in update.iter_mut().zip(&mut state.buffers).zip(grad) {
            *v = beta * *v + g;
            *u = -lr * (g + beta * *v);
        }
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let beta = self.0.beta;
        for ((u, v), g) in update.iter_mut().zip(&state.buffers).zip(grad) {
            *u = -lr * (g + beta * (beta * v + g));
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
        // −η(g + βv): −0.1(1 + 0.9) and −0.1(2 + 0.9·2.9).
        let n = testing::updates(&Nesterov(Polyak { lr: 0.1, beta: 0.9 }), &[&[1.0], &[2.0]]);
        assert_relative_eq!(n[0][0], -0.19, max_relative = 1e-15);
        assert_relative_eq!(n[1][0], -0.461, max_relative = 1e-14);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        testing::virtual_step_contract(&Nesterov(Polyak { lr: 0.1, beta: 0.9 }), 4);
    }

    #[test]
    fn threshold_closed_form_and_on_quadratics() {
        let n = Nesterov(Polyak { lr: 0.1, beta: 0.9 });
        assert_relative_eq!(n.stability_threshold(0.1), 3.8 / 0.28, max_relative = 1e-15);
        testing::threshold_on_quadratics(&n);
    }

    #[test]
    fn has_no_flow() {
        assert!(Nesterov(Polyak { lr: 0.1, beta: 0.9 }).flow().is_err());
    }
}

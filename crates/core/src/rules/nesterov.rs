//! Nesterov momentum, PyTorch `SGD(momentum=β, nesterov=True)`: `v ← βv + g;
//! w ← w − η(g + βv)`. Threshold `λmax(H) < (2+2β)/(η(1+2β))` (theory.md §3). No flow.

use serde::{Deserialize, Serialize};

use super::{
    check_decay, check_lr, default_beta, Buffer, FlowRule, NoFlow, Preconditioning, RuleState,
    UpdateRule,
};
use crate::optimizer::OptimizerError;

/// Nesterov momentum.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Nesterov {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum β ∈ [0, 1) (default 0.9).
    #[serde(default = "default_beta")]
    pub beta: f64,
}

/// The state buffers.
const LAYOUT: &[Buffer] = &[Buffer::per_parameter("v")];

impl UpdateRule for Nesterov {
    fn name(&self) -> &'static str {
        "nesterov"
    }
    fn lr(&self) -> f64 {
        self.lr
    }
    fn validate(&self) -> Result<(), OptimizerError> {
        check_lr(self.lr)?;
        check_decay("beta", self.beta)
    }
    fn layout(&self) -> &'static [Buffer] {
        LAYOUT
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        (2.0 + 2.0 * self.beta) / (lr * (1.0 + 2.0 * self.beta))
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], _w: &[f64], update: &mut [f64]) {
        let beta = self.beta;
        for ((u, v), g) in update.iter_mut().zip(&mut state.buffers).zip(grad) {
            *v = beta * *v + g;
            *u = -lr * (g + beta * *v);
        }
    }
    fn tracking_preconditioner(&self, _state: &RuleState, _out: &mut Vec<f64>) -> Preconditioning {
        Preconditioning::Identity
    }
    fn flow(&self) -> Result<&dyn FlowRule, NoFlow> {
        Err(NoFlow {
            rule: "nesterov",
            reason: "momentum is not preconditioned gradient descent w ← w − P(s)⁻¹g",
        })
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
        let n = testing::updates(&Nesterov { lr: 0.1, beta: 0.9 }, &[&[1.0], &[2.0]]);
        assert_relative_eq!(n[0][0], -0.19, max_relative = 1e-15);
        assert_relative_eq!(n[1][0], -0.461, max_relative = 1e-14);
    }

    #[test]
    fn threshold_closed_form_and_on_quadratics() {
        let n = Nesterov { lr: 0.1, beta: 0.9 };
        assert_relative_eq!(n.stability_threshold(0.1), 3.8 / 0.28, max_relative = 1e-15);
        testing::threshold_on_quadratics(&n);
    }

    #[test]
    fn has_no_flow() {
        assert!(Nesterov { lr: 0.1, beta: 0.9 }.flow().is_err());
    }
}

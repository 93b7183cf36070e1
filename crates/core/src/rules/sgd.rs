//! SGD with weight decay and optional momentum, PyTorch `SGD(lr, momentum, weight_decay)`
//! (dampening 0, not Nesterov): `g' = g + λw; v ← βv + g'; w ← w − ηv` (with β = 0:
//! `w ← w − ηg'`). The decay is coupled: it is the gradient of `λ‖w‖²/2`.
//!
//! **Threshold.** The linearized step sees `H + λI`, so heavy ball's threshold applies to
//! `λmax(H) + λ`: `λmax(H) < (2+2β)/η − λ` (for GD, `2/η − λ`: the `−γ` shift of Kalra et al.).
//! No flow: the decay term is not of the form `P(s)⁻¹∇L` (use `gd` for a flow).

use serde::{Deserialize, Serialize};

use super::{
    check_decay, check_non_negative, Buffer,
    RuleState, UpdateRule,
};
use crate::optimizer::OptimizerError;

/// SGD with weight decay (PyTorch defaults: momentum 0, weight decay 0).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sgd {
    /// Learning rate η.
    pub lr: f64,
    /// Momentum β ∈ [0, 1).
    #[serde(default)]
    pub momentum: f64,
    /// Weight decay λ ≥ 0 (added to the gradient as `λw`).
    #[serde(default)]
    pub weight_decay: f64,
}

/// The momentum buffer, present when `momentum > 0`.
const WITH_MOMENTUM: &[Buffer] = &[Buffer::per_parameter("v")];

impl UpdateRule for Sgd {
    fn validate(&self) -> Result<(), OptimizerError> {
        check_decay("momentum", self.momentum)?;
        check_non_negative("weight_decay", self.weight_decay)
    }
    fn layout(&self) -> &'static [Buffer] {
        if self.momentum > 0.0 {
            WITH_MOMENTUM
        } else {
            &[]
        }
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        (2.0 + 2.0 * self.momentum) / lr - self.weight_decay
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        let Self {
            momentum,
            weight_decay,
            ..
        } = *self;
        if momentum > 0.0 {
            for (((u, v), g), w) in update.iter_mut().zip(&mut state.buffers).zip(grad).zip(w) {
                *v = momentum * *v + (g + weight_decay * w);
                *u = -lr * *v;
            }
        } else {
            self.virtual_step(lr, state, grad, w, update);
        }
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        let Self {
            momentum,
            weight_decay,
            ..
        } = *self;
        if momentum > 0.0 {
            for (((u, v), g), w) in update.iter_mut().zip(&state.buffers).zip(grad).zip(w) {
                *u = -lr * (momentum * v + (g + weight_decay * w));
            }
        } else {
            for ((u, g), w) in update.iter_mut().zip(grad).zip(w) {
                *u = -lr * (g + weight_decay * w);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;
    use approx::assert_relative_eq;

    #[test]
    fn steps_by_hand() {
        // β = 0: Δw = −η(g + λw) from w = 0, then from w = −0.1.
        let plain = Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 0.5,
        };
        let u = testing::updates(&plain, &[&[1.0], &[1.0]]);
        assert_relative_eq!(u[0][0], -0.1, max_relative = 1e-15);
        assert_relative_eq!(u[1][0], -0.1 * (1.0 - 0.05), max_relative = 1e-15);
        // β = 0.9: v1 = 1, v2 = 0.9 + (1 − 0.05) = 1.85.
        let heavy = Sgd {
            momentum: 0.9,
            ..plain
        };
        let u = testing::updates(&heavy, &[&[1.0], &[1.0]]);
        assert_relative_eq!(u[1][0], -0.185, max_relative = 1e-14);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        for momentum in [0.0, 0.9] {
            let rule = Sgd {
                lr: 0.1,
                momentum,
                weight_decay: 0.3,
            };
            testing::virtual_step_contract(&rule, 4);
        }
    }

    #[test]
    fn threshold_with_decay_on_quadratics() {
        for (momentum, weight_decay) in [(0.0, 0.0), (0.0, 3.0), (0.9, 1.0), (0.5, 0.2)] {
            let rule = Sgd {
                lr: 0.1,
                momentum,
                weight_decay,
            };
            testing::threshold_on_quadratics(&rule);
        }
        let rule = Sgd {
            lr: 0.1,
            momentum: 0.0,
            weight_decay: 3.0,
        };
        assert_relative_eq!(rule.stability_threshold(0.1), 17.0, max_relative = 1e-15);
    }

    #[test]
    fn config_defaults_and_no_flow() {
        let cfg: crate::rules::OptimizerConfig =
            serde_json::from_str(r#"{"kind":"sgd","lr":0.1,"weight_decay":0.001}"#).unwrap();
        assert_eq!(
            cfg,
            crate::rules::OptimizerConfig::Sgd(Sgd {
                lr: 0.1,
                momentum: 0.0,
                weight_decay: 0.001
            })
        );
        assert!(cfg.rule().flow().is_err());
        assert!(cfg.rule().layout().is_empty());
    }
}

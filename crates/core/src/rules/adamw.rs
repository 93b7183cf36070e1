//! AdamW, PyTorch `AdamW`: Adam (see [`super::Adam`]) with decoupled weight decay λ applied
//! to the current weights, `w ← w − ηλw − η m̂/(√ν̂ + ε)`.
//!
//! **Threshold.** With the preconditioner frozen and bias corrections at 1, along an
//! eigenvector of `P⁻¹H` with eigenvalue `a` the update is linear:
//! `m ← β₁m + (1−β₁)a w`, `w ← (1−ηλ)w − ηm`. Its characteristic polynomial
//! `z² − (1 + β₁ − ηλ − η(1−β₁)a) z + β₁(1−ηλ)` has a root at `z = −1` exactly when
//! `a = (1+β₁)(2 − ηλ)/((1−β₁)η) = (2+2β₁)/((1−β₁)η) − λ(1+β₁)/(1−β₁)`: Adam's threshold
//! shifted by the decay term (for β₁ = 0 the shift is λ, the `−γ` of Kalra et al.; momentum
//! does not filter the decay, so it counts `(1+β₁)/(1−β₁)` times). Tracked operator and
//! preconditioner as for Adam. Momentum: no flow.

use serde::{Deserialize, Serialize};

use super::{
    check_non_negative, default_beta, default_beta2_adam, default_eps, Adam, Buffer, Preconditioning, RuleState, UpdateRule,
};
use crate::optimizer::OptimizerError;

fn default_weight_decay() -> f64 {
    1e-2
}

/// AdamW (PyTorch defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8, weight decay 0.01).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdamW {
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
    /// Decoupled weight decay λ ≥ 0.
    #[serde(default = "default_weight_decay")]
    pub weight_decay: f64,
}

impl AdamW {
    /// The Adam part of the update.
    fn adam(&self) -> Adam {
        Adam {
            lr: self.lr,
            beta1: self.beta1,
            beta2: self.beta2,
            eps: self.eps,
        }
    }
}

impl UpdateRule for AdamW {
    fn validate(&self) -> Result<(), OptimizerError> {
        self.adam().validate()?;
        check_non_negative("weight_decay", self.weight_decay)
    }
    fn layout(&self) -> &'static [Buffer] {
        self.adam().layout()
    }
    fn stability_threshold(&self, lr: f64) -> f64 {
        let b = self.beta1;
        self.adam().stability_threshold(lr) - self.weight_decay * (1.0 + b) / (1.0 - b)
    }
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        self.adam().step(lr, state, grad, w, update);
        let decay = lr * self.weight_decay;
        for (u, w) in update.iter_mut().zip(w) {
            *u -= decay * w;
        }
    }
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], w: &[f64], update: &mut [f64]) {
        self.adam().virtual_step(lr, state, grad, w, update);
        let decay = lr * self.weight_decay;
        for (u, w) in update.iter_mut().zip(w) {
            *u -= decay * w;
        }
    }
    fn tracking_preconditioner(&self, state: &RuleState, out: &mut Vec<f64>) -> Preconditioning {
        self.adam().tracking_preconditioner(state, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing;
    use approx::assert_relative_eq;

    fn adamw(weight_decay: f64) -> AdamW {
        AdamW {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 0.0,
            weight_decay,
        }
    }

    /// First step from w = 1 with g = 2: Adam's −η·sign(g) plus the decay −ηλw; later steps
    /// equal Adam's plus −ηλw at the current weights.
    #[test]
    fn step_is_adam_plus_decoupled_decay() {
        let rule = adamw(0.01);
        let mut state = RuleState::zeros(&rule, 1);
        let mut w = [1.0];
        let u = testing::apply(&rule, &mut state, &[2.0], &mut w);
        assert_relative_eq!(u[0], -0.1 - 0.1 * 0.01, max_relative = 1e-14);
        let mut adam_state = RuleState::zeros(&rule.adam(), 1);
        testing::apply(&rule.adam(), &mut adam_state, &[2.0], &mut [1.0]);
        let before = w[0];
        let u = testing::apply(&rule, &mut state, &[-1.0], &mut w);
        let plain = testing::apply(&rule.adam(), &mut adam_state, &[-1.0], &mut [0.0]);
        assert_relative_eq!(u[0], plain[0] - 0.1 * 0.01 * before, max_relative = 1e-14);
        assert_eq!(state.buffers, adam_state.buffers);
    }

    #[test]
    fn virtual_step_is_the_step_from_a_frozen_state() {
        testing::virtual_step_contract(&adamw(0.3), 4);
    }

    /// The frozen-preconditioner recursion of the module docs converges at 0.97× the
    /// threshold and diverges at 1.03×; without decay the threshold is Adam's.
    #[test]
    fn threshold_with_decay() {
        for (beta1, lambda) in [(0.9, 0.5), (0.0, 2.0), (0.5, 0.1)] {
            let rule = AdamW {
                beta1,
                weight_decay: lambda,
                ..adamw(0.0)
            };
            let thr = rule.stability_threshold(rule.lr);
            let run = |a: f64| {
                let (mut m, mut w) = (0.0, 1.0f64);
                for _ in 0..20_000 {
                    m = beta1 * m + (1.0 - beta1) * a * w;
                    w = (1.0 - rule.lr * lambda) * w - rule.lr * m;
                    if w.abs() > 1e10 {
                        break;
                    }
                }
                w.abs()
            };
            assert!(run(0.97 * thr) < 1e-3, "β1 {beta1} λ {lambda}");
            assert!(run(1.03 * thr) > 1e3, "β1 {beta1} λ {lambda}");
        }
        assert_eq!(
            adamw(0.0).stability_threshold(0.1),
            adamw(0.0).adam().stability_threshold(0.1)
        );
        assert_relative_eq!(adamw(0.5).stability_threshold(0.1), 380.0 - 9.5, max_relative = 1e-14);
    }

    #[test]
    fn config_defaults_and_no_flow() {
        let cfg: crate::rules::OptimizerConfig =
            serde_json::from_str(r#"{"kind":"adamw","lr":0.001}"#).unwrap();
        assert_eq!(
            cfg,
            crate::rules::OptimizerConfig::AdamW(AdamW {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
                weight_decay: 0.01
            })
        );
        assert!(cfg.rule().flow().is_err());
        assert!(AdamW { weight_decay: -1.0, ..adamw(0.0) }.validate().is_err());
    }
}

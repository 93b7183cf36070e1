//! First-order optimizers over flat `f64` parameter vectors, with PyTorch's update
//! conventions, their linear stability thresholds and their diagonal preconditioners
//! (`docs/theory.md` §1, §3 and §5).
//!
//! | optimizer | update (g = ∇f(w), step t = 1, 2, …) | threshold on |
//! |---|---|---|
//! | GD | `w ← w − ηg` | `λmax(H) < 2/η` |
//! | Polyak (heavy ball) | `v ← βv + g; w ← w − ηv` | `λmax(H) < (2+2β)/η` |
//! | Nesterov | `v ← βv + g; w ← w − η(g + βv)` | `λmax(H) < (2+2β)/(η(1+2β))` |
//! | Adam | `m ← β1m + (1−β1)g; ν ← β2ν + (1−β2)g²; m̂ = m/(1−β1ᵗ); ν̂ = ν/(1−β2ᵗ); w ← w − ηm̂/(√ν̂ + ε)` | `λmax(P^{-1/2}HP^{-1/2}) < (2+2β1)/((1−β1)η)`, `P = diag(√ν̂ + ε)` |
//! | RMSProp | `ν ← β2ν + (1−β2)g²; w ← w − ηg/(√ν + ε)` | `λmax(P^{-1/2}HP^{-1/2}) < 2/η`, `P = diag(√ν + ε)` |
//! | scalar RMSProp | `ν ← β2ν + (1−β2)‖g‖²; w ← w − ηg/(√ν + ε)` | same with `P = (√ν + ε)·I` |
//!
//! ε is added to the square root (outside it), as PyTorch does; the buffers start at zero
//! (so the first momentum buffer equals the first gradient). RMSProp has no bias correction
//! (PyTorch `RMSprop`, its β2 is PyTorch's `alpha`). `theory.md` §5 writes scalar RMSProp
//! without ε: set `eps = 0` to get exactly that update (an all-zero first gradient then
//! gives a non-finite step, which the run loop records as divergence).

use serde::{Deserialize, Serialize};

/// Errors from building or stepping an optimizer (bad hyper-parameters, wrong lengths).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptimizerError {
    /// A hyper-parameter outside its domain.
    #[error("invalid optimizer setting `{name}` = {value}: {expected}")]
    InvalidParameter {
        /// Parameter name as in the config (`lr`, `beta`, …).
        name: &'static str,
        /// The offending value.
        value: f64,
        /// What is allowed.
        expected: &'static str,
    },
    /// Gradient, parameters and stored buffers disagree in length.
    #[error(
        "length mismatch: parameters have {params} entries, gradient {grad}, optimizer state {state} \
         (a state restored from a checkpoint must come from a run of the same model)"
    )]
    LengthMismatch {
        /// `w.len()`
        params: usize,
        /// `grad.len()`
        grad: usize,
        /// Length of the stored buffers (0 before the first step).
        state: usize,
    },
}

fn default_beta() -> f64 {
    0.9
}
fn default_beta2_adam() -> f64 {
    0.999
}
fn default_beta2_rms() -> f64 {
    0.99
}
fn default_eps() -> f64 {
    1e-8
}

/// Which optimizer, with every hyper-parameter. Serialized with a `kind` tag, e.g.
/// `{"kind": "adam", "lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}`; omitted
/// fields take PyTorch's defaults (β = 0.9; Adam β2 = 0.999; RMSProp β2 = 0.99; ε = 1e-8).
/// The learning rate is always required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// Plain gradient descent.
    Gd {
        /// Learning rate η.
        lr: f64,
    },
    /// Polyak heavy-ball momentum (PyTorch `SGD(momentum=β)`).
    Polyak {
        /// Learning rate η.
        lr: f64,
        /// Momentum β ∈ [0, 1).
        #[serde(default = "default_beta")]
        beta: f64,
    },
    /// Nesterov momentum (PyTorch `SGD(momentum=β, nesterov=True)`).
    Nesterov {
        /// Learning rate η.
        lr: f64,
        /// Momentum β ∈ [0, 1).
        #[serde(default = "default_beta")]
        beta: f64,
    },
    /// Adam with bias correction (PyTorch `Adam`).
    Adam {
        /// Learning rate η.
        lr: f64,
        /// First-moment decay β1 ∈ [0, 1).
        #[serde(default = "default_beta")]
        beta1: f64,
        /// Second-moment decay β2 ∈ [0, 1).
        #[serde(default = "default_beta2_adam")]
        beta2: f64,
        /// ε ≥ 0, added to `√ν̂`.
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// Per-coordinate RMSProp (PyTorch `RMSprop`, `alpha` = β2), no momentum.
    Rmsprop {
        /// Learning rate η.
        lr: f64,
        /// Second-moment decay β2 ∈ [0, 1).
        #[serde(default = "default_beta2_rms")]
        beta2: f64,
        /// ε ≥ 0, added to `√ν`.
        #[serde(default = "default_eps")]
        eps: f64,
    },
    /// RMSProp with one scalar second moment `ν` of `‖g‖²` (`theory.md` §5).
    ScalarRmsprop {
        /// Learning rate η.
        lr: f64,
        /// Second-moment decay β2 ∈ [0, 1).
        #[serde(default = "default_beta2_rms")]
        beta2: f64,
        /// ε ≥ 0, added to `√ν`.
        #[serde(default = "default_eps")]
        eps: f64,
    },
}

impl OptimizerConfig {
    /// Plain GD with learning rate `lr`.
    pub fn gd(lr: f64) -> Self {
        Self::Gd { lr }
    }

    /// The learning rate η.
    pub fn lr(&self) -> f64 {
        match *self {
            Self::Gd { lr }
            | Self::Polyak { lr, .. }
            | Self::Nesterov { lr, .. }
            | Self::Adam { lr, .. }
            | Self::Rmsprop { lr, .. }
            | Self::ScalarRmsprop { lr, .. } => lr,
        }
    }

    /// Short name, equal to the serde tag.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Gd { .. } => "gd",
            Self::Polyak { .. } => "polyak",
            Self::Nesterov { .. } => "nesterov",
            Self::Adam { .. } => "adam",
            Self::Rmsprop { .. } => "rmsprop",
            Self::ScalarRmsprop { .. } => "scalar_rmsprop",
        }
    }

    /// Checks every hyper-parameter: `lr > 0` finite, decays in `[0, 1)`, `eps ≥ 0` finite.
    pub fn validate(&self) -> Result<(), OptimizerError> {
        let lr = self.lr();
        check("lr", lr, lr.is_finite() && lr > 0.0, "a finite number > 0")?;
        let decay = |name, b: f64| check(name, b, (0.0..1.0).contains(&b), "a number in [0, 1)");
        let eps_ok = |e: f64| check("eps", e, e.is_finite() && e >= 0.0, "a finite number >= 0");
        match *self {
            Self::Gd { .. } => Ok(()),
            Self::Polyak { beta, .. } | Self::Nesterov { beta, .. } => decay("beta", beta),
            Self::Adam {
                beta1, beta2, eps, ..
            } => {
                decay("beta1", beta1)?;
                decay("beta2", beta2)?;
                eps_ok(eps)
            }
            Self::Rmsprop { beta2, eps, .. } | Self::ScalarRmsprop { beta2, eps, .. } => {
                decay("beta2", beta2)?;
                eps_ok(eps)
            }
        }
    }

    /// Linear stability threshold on the (preconditioned, for Adam/RMSProp) sharpness:
    /// GD `2/η`; Polyak `(2+2β)/η`; Nesterov `(2+2β)/(η(1+2β))`;
    /// Adam `(2+2β1)/((1−β1)η)`; RMSProp and scalar RMSProp `2/η` (`theory.md` §3).
    pub fn stability_threshold(&self) -> f64 {
        match *self {
            Self::Gd { lr } | Self::Rmsprop { lr, .. } | Self::ScalarRmsprop { lr, .. } => 2.0 / lr,
            Self::Polyak { lr, beta } => (2.0 + 2.0 * beta) / lr,
            Self::Nesterov { lr, beta } => (2.0 + 2.0 * beta) / (lr * (1.0 + 2.0 * beta)),
            Self::Adam { lr, beta1, .. } => (2.0 + 2.0 * beta1) / ((1.0 - beta1) * lr),
        }
    }
}

fn check(
    name: &'static str,
    value: f64,
    ok: bool,
    expected: &'static str,
) -> Result<(), OptimizerError> {
    if ok {
        Ok(())
    } else {
        Err(OptimizerError::InvalidParameter {
            name,
            value,
            expected,
        })
    }
}

/// Everything an optimizer carries between steps; serializable so that checkpoints can
/// resume a run bit for bit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    /// Number of parameters (0 before the first step).
    pub dim: usize,
    /// Number of steps applied so far (`t` in the bias corrections).
    pub step: u64,
    /// Momentum buffer `v` (Polyak, Nesterov) or Adam's first moment `m`; empty otherwise.
    pub first_moment: Vec<f64>,
    /// Second moment `ν` (Adam, RMSProp: one entry per parameter; scalar RMSProp: one entry).
    pub second_moment: Vec<f64>,
}

/// An optimizer: its configuration, its state and a buffer with the last applied update.
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    state: OptimizerState,
    update: Vec<f64>,
}

impl Optimizer {
    /// A fresh optimizer (zero buffers, allocated at the first step).
    pub fn new(config: OptimizerConfig) -> Result<Self, OptimizerError> {
        Self::with_state(config, OptimizerState::default())
    }

    /// Resumes from a saved state (for example a checkpoint).
    /// The buffers must have the lengths this optimizer uses for `state.dim` parameters.
    pub fn with_state(
        config: OptimizerConfig,
        state: OptimizerState,
    ) -> Result<Self, OptimizerError> {
        config.validate()?;
        let (first, second) = buffer_lengths(&config, state.dim);
        if state.first_moment.len() != first || state.second_moment.len() != second {
            return Err(OptimizerError::LengthMismatch {
                params: state.dim,
                grad: state.dim,
                state: state.first_moment.len().max(state.second_moment.len()),
            });
        }
        Ok(Self {
            config,
            state,
            update: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The state (for checkpoints).
    pub fn state(&self) -> &OptimizerState {
        &self.state
    }

    /// See [`OptimizerConfig::stability_threshold`].
    pub fn stability_threshold(&self) -> f64 {
        self.config.stability_threshold()
    }

    /// Diagonal `P` of the last applied step, such that the step is preconditioned GD with
    /// effective Hessian `P^{-1/2} H P^{-1/2}` compared against
    /// [`stability_threshold`](Self::stability_threshold): Adam `√ν̂ + ε`, RMSProp `√ν + ε`,
    /// scalar RMSProp `√ν + ε` repeated. `None` for GD and momentum (P = I), and for an
    /// adaptive method before its first step (no ν yet).
    pub fn preconditioner(&self) -> Option<Vec<f64>> {
        let nu = &self.state.second_moment;
        if nu.is_empty() {
            return None;
        }
        match self.config {
            OptimizerConfig::Adam { beta2, eps, .. } => {
                let bc2 = bias_correction(beta2, self.state.step);
                Some(nu.iter().map(|v| (v / bc2).sqrt() + eps).collect())
            }
            OptimizerConfig::Rmsprop { eps, .. } => {
                Some(nu.iter().map(|v| v.sqrt() + eps).collect())
            }
            OptimizerConfig::ScalarRmsprop { eps, .. } => {
                Some(vec![nu[0].sqrt() + eps; self.state.dim])
            }
            OptimizerConfig::Gd { .. }
            | OptimizerConfig::Polyak { .. }
            | OptimizerConfig::Nesterov { .. } => None,
        }
    }

    /// Applies one step to `w` given `grad = ∇f(w)` and returns the applied update
    /// `Δw = w_new − w_old` (a view of an internal buffer, valid until the next step).
    /// Buffers are allocated on the first step; later steps must keep the same length.
    pub fn step(&mut self, grad: &[f64], w: &mut [f64]) -> Result<&[f64], OptimizerError> {
        let n = w.len();
        let fresh = self.state.dim == 0;
        if grad.len() != n || (!fresh && self.state.dim != n) {
            return Err(OptimizerError::LengthMismatch {
                params: n,
                grad: grad.len(),
                state: self.state.dim,
            });
        }
        if fresh {
            self.allocate(n);
        }
        self.update.resize(n, 0.0);
        self.state.step += 1;
        let t = self.state.step;
        let st = &mut self.state;
        let upd = &mut self.update;
        match self.config {
            OptimizerConfig::Gd { lr } => {
                for (u, g) in upd.iter_mut().zip(grad) {
                    *u = -lr * g;
                }
            }
            OptimizerConfig::Polyak { lr, beta } => {
                for ((u, v), g) in upd.iter_mut().zip(&mut st.first_moment).zip(grad) {
                    *v = beta * *v + g;
                    *u = -lr * *v;
                }
            }
            OptimizerConfig::Nesterov { lr, beta } => {
                for ((u, v), g) in upd.iter_mut().zip(&mut st.first_moment).zip(grad) {
                    *v = beta * *v + g;
                    *u = -lr * (g + beta * *v);
                }
            }
            OptimizerConfig::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let bc1 = bias_correction(beta1, t);
                let bc2 = bias_correction(beta2, t);
                for (((u, m), nu), g) in upd
                    .iter_mut()
                    .zip(&mut st.first_moment)
                    .zip(&mut st.second_moment)
                    .zip(grad)
                {
                    *m = beta1 * *m + (1.0 - beta1) * g;
                    *nu = beta2 * *nu + (1.0 - beta2) * g * g;
                    *u = -lr * (*m / bc1) / ((*nu / bc2).sqrt() + eps);
                }
            }
            OptimizerConfig::Rmsprop { lr, beta2, eps } => {
                for ((u, nu), g) in upd.iter_mut().zip(&mut st.second_moment).zip(grad) {
                    *nu = beta2 * *nu + (1.0 - beta2) * g * g;
                    *u = -lr * g / (nu.sqrt() + eps);
                }
            }
            OptimizerConfig::ScalarRmsprop { lr, beta2, eps } => {
                let g2: f64 = grad.iter().map(|g| g * g).sum();
                let nu = &mut st.second_moment[0];
                *nu = beta2 * *nu + (1.0 - beta2) * g2;
                let scale = lr / (nu.sqrt() + eps);
                for (u, g) in upd.iter_mut().zip(grad) {
                    *u = -scale * g;
                }
            }
        }
        for (wi, u) in w.iter_mut().zip(upd.iter()) {
            *wi += u;
        }
        Ok(&self.update)
    }

    fn allocate(&mut self, n: usize) {
        let (first, second) = buffer_lengths(&self.config, n);
        self.state.dim = n;
        self.state.first_moment = vec![0.0; first];
        self.state.second_moment = vec![0.0; second];
    }
}

/// Lengths of (first, second) moment buffers for `n` parameters (all empty for `n = 0`).
fn buffer_lengths(config: &OptimizerConfig, n: usize) -> (usize, usize) {
    if n == 0 {
        return (0, 0);
    }
    match config {
        OptimizerConfig::Gd { .. } => (0, 0),
        OptimizerConfig::Polyak { .. } | OptimizerConfig::Nesterov { .. } => (n, 0),
        OptimizerConfig::Adam { .. } => (n, n),
        OptimizerConfig::Rmsprop { .. } => (0, n),
        OptimizerConfig::ScalarRmsprop { .. } => (0, 1),
    }
}

/// `1 − βᵗ`, the bias correction of an exponential average after `t` steps.
fn bias_correction(beta: f64, t: u64) -> f64 {
    1.0 - beta.powf(t as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    fn steps(config: OptimizerConfig, grads: &[&[f64]]) -> Vec<Vec<f64>> {
        let mut opt = Optimizer::new(config).unwrap();
        let mut w = vec![0.0; grads[0].len()];
        grads
            .iter()
            .map(|g| opt.step(g, &mut w).unwrap().to_vec())
            .collect()
    }

    #[test]
    fn gd_step_by_hand() {
        let u = steps(OptimizerConfig::gd(0.1), &[&[1.0, -2.0]]);
        assert_eq!(u[0], vec![-0.1, 0.2]);
    }

    #[test]
    fn polyak_and_nesterov_by_hand() {
        // v1 = 1, v2 = 0.9·1 + 2 = 2.9.
        let p = steps(
            OptimizerConfig::Polyak { lr: 0.1, beta: 0.9 },
            &[&[1.0], &[2.0]],
        );
        assert_relative_eq!(p[0][0], -0.1, max_relative = 1e-15);
        assert_relative_eq!(p[1][0], -0.29, max_relative = 1e-15);
        // Nesterov: −η(g + βv): −0.1(1 + 0.9) and −0.1(2 + 0.9·2.9).
        let n = steps(
            OptimizerConfig::Nesterov { lr: 0.1, beta: 0.9 },
            &[&[1.0], &[2.0]],
        );
        assert_relative_eq!(n[0][0], -0.19, max_relative = 1e-15);
        assert_relative_eq!(n[1][0], -0.461, max_relative = 1e-14);
    }

    #[test]
    fn adam_by_hand_with_bias_correction() {
        let cfg = OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 0.0,
        };
        let u = steps(cfg, &[&[2.0], &[-1.0]]);
        // Step 1: m̂ = g, ν̂ = g², so the step is −η·sign(g).
        assert_relative_eq!(u[0][0], -0.1, max_relative = 1e-14);
        // Step 2 (numbers from the formula evaluated in Python).
        assert_relative_eq!(u[1][0], -0.026633703966040066, max_relative = 1e-13);
    }

    #[test]
    fn rmsprop_and_scalar_rmsprop_by_hand() {
        let u = steps(
            OptimizerConfig::Rmsprop {
                lr: 0.01,
                beta2: 0.99,
                eps: 1e-8,
            },
            &[&[3.0]],
        );
        // ν = 0.01·9 = 0.09, √ν = 0.3.
        assert_relative_eq!(u[0][0], -0.01 * 3.0 / (0.3 + 1e-8), max_relative = 1e-14);
        let cfg = OptimizerConfig::ScalarRmsprop {
            lr: 0.01,
            beta2: 0.99,
            eps: 0.0,
        };
        let mut opt = Optimizer::new(cfg).unwrap();
        let mut w = vec![0.0; 2];
        // ν = 0.01·‖(3,4)‖² = 0.25, √ν = 0.5.
        let u = opt.step(&[3.0, 4.0], &mut w).unwrap().to_vec();
        assert_relative_eq!(u[0], -0.06, max_relative = 1e-14);
        assert_relative_eq!(u[1], -0.08, max_relative = 1e-14);
        assert_eq!(w, u);
        let p = opt.preconditioner().unwrap();
        assert_eq!(p.len(), 2);
        assert_relative_eq!(p[0], 0.5, max_relative = 1e-15);
        assert_relative_eq!(p[1], 0.5, max_relative = 1e-15);
    }

    #[test]
    fn preconditioners() {
        assert_eq!(
            Optimizer::new(OptimizerConfig::gd(0.1))
                .unwrap()
                .preconditioner(),
            None
        );
        let mut adam = Optimizer::new(OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        })
        .unwrap();
        assert_eq!(adam.preconditioner(), None);
        adam.step(&[2.0, -3.0], &mut [0.0, 0.0]).unwrap();
        // After one step ν̂ = g², so P = |g| + ε.
        let p = adam.preconditioner().unwrap();
        assert_relative_eq!(p[0], 2.0 + 1e-8, max_relative = 1e-14);
        assert_relative_eq!(p[1], 3.0 + 1e-8, max_relative = 1e-14);
    }

    #[test]
    fn thresholds_closed_form() {
        assert_relative_eq!(OptimizerConfig::gd(0.5).stability_threshold(), 4.0);
        let p = OptimizerConfig::Polyak { lr: 0.1, beta: 0.9 };
        assert_relative_eq!(p.stability_threshold(), 38.0, max_relative = 1e-15);
        let n = OptimizerConfig::Nesterov { lr: 0.1, beta: 0.9 };
        assert_relative_eq!(n.stability_threshold(), 3.8 / 0.28, max_relative = 1e-15);
        let a = OptimizerConfig::Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        };
        assert_relative_eq!(a.stability_threshold(), 380.0, max_relative = 1e-14);
    }

    /// Runs the optimizer on `f = λ w²/2` from w = 1 and returns |w| at the end (or as
    /// soon as it passes 1e10).
    fn final_abs_on_quadratic(config: OptimizerConfig, lambda: f64, n_steps: usize) -> f64 {
        let mut opt = Optimizer::new(config).unwrap();
        let mut w = [1.0];
        for _ in 0..n_steps {
            let g = [lambda * w[0]];
            opt.step(&g, &mut w).unwrap();
            if w[0].abs() > 1e10 {
                break;
            }
        }
        w[0].abs()
    }

    #[test]
    fn thresholds_separate_convergence_from_divergence_on_quadratics() {
        for cfg in [
            OptimizerConfig::gd(0.1),
            OptimizerConfig::Polyak { lr: 0.1, beta: 0.9 },
            OptimizerConfig::Nesterov { lr: 0.1, beta: 0.9 },
            OptimizerConfig::Polyak {
                lr: 0.05,
                beta: 0.5,
            },
        ] {
            let s = cfg.stability_threshold();
            let below = final_abs_on_quadratic(cfg.clone(), 0.97 * s, 20_000);
            let above = final_abs_on_quadratic(cfg.clone(), 1.03 * s, 20_000);
            assert!(
                below < 1e-3,
                "{cfg:?}: λ = 0.97·threshold should converge, |w| = {below}"
            );
            assert!(
                above > 1e3,
                "{cfg:?}: λ = 1.03·threshold should diverge, |w| = {above}"
            );
        }
    }

    #[test]
    fn serde_defaults_and_roundtrip() {
        let cfg: OptimizerConfig = serde_json::from_str(r#"{"kind":"adam","lr":0.001}"#).unwrap();
        assert_eq!(
            cfg,
            OptimizerConfig::Adam {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8
            }
        );
        let mut opt = Optimizer::new(cfg.clone()).unwrap();
        opt.step(&[1.0, 2.0], &mut [0.0, 0.0]).unwrap();
        let saved = serde_json::to_string(opt.state()).unwrap();
        let restored: OptimizerState = serde_json::from_str(&saved).unwrap();
        let mut resumed = Optimizer::with_state(cfg, restored).unwrap();
        let mut w1 = [0.5, 0.5];
        let mut w2 = w1;
        let a = opt.step(&[0.3, -0.2], &mut w1).unwrap().to_vec();
        let b = resumed.step(&[0.3, -0.2], &mut w2).unwrap().to_vec();
        assert_eq!(a, b);
        assert!(serde_json::from_str::<OptimizerConfig>(r#"{"kind":"gd"}"#).is_err());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            Optimizer::new(OptimizerConfig::gd(-1.0)),
            Err(OptimizerError::InvalidParameter { name: "lr", .. })
        ));
        assert!(Optimizer::new(OptimizerConfig::Polyak { lr: 0.1, beta: 1.0 }).is_err());
        let mut opt = Optimizer::new(OptimizerConfig::Polyak { lr: 0.1, beta: 0.5 }).unwrap();
        assert!(opt.step(&[1.0], &mut [0.0, 0.0]).is_err());
        opt.step(&[1.0, 1.0], &mut [0.0, 0.0]).unwrap();
        assert!(opt.step(&[1.0, 1.0, 1.0], &mut [0.0, 0.0, 0.0]).is_err());
        let bad_state = OptimizerState {
            dim: 3,
            step: 1,
            first_moment: vec![0.0],
            second_moment: vec![],
        };
        assert!(
            Optimizer::with_state(OptimizerConfig::Polyak { lr: 0.1, beta: 0.5 }, bad_state)
                .is_err()
        );
    }
}

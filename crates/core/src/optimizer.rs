//! Optimizers over flat `f64` parameter vectors: a [`Rule`] (one registered update rule of
//! [`crate::rules`] plus its learning-rate schedule) and an [`Optimizer`] (a rule with its
//! state, for single-trajectory loops such as [`crate::run`]).
//!
//! | kind | update (g = ∇f(w), step t = 1, 2, …) | threshold on |
//! |---|---|---|
//! | `gd` | `w ← w − ηg` | `λmax(H) < 2/η` |
//! | `polyak` | `v ← βv + g; w ← w − ηv` | `λmax(H) < (2+2β)/η` |
//! | `nesterov` | `v ← βv + g; w ← w − η(g + βv)` | `λmax(H) < (2+2β)/(η(1+2β))` |
//! | `adam` | `m ← β1m + (1−β1)g; ν ← β2ν + (1−β2)g²; w ← w − η m̂/(√ν̂ + ε)` | `λmax(P^{-1/2}HP^{-1/2}) < (2+2β1)/((1−β1)η)`, `P = diag(√ν̂ + ε)` |
//! | `rmsprop` | `ν ← β2ν + (1−β2)g²; w ← w − ηg/(√ν + ε)` | `λmax(P^{-1/2}HP^{-1/2}) < 2/η`, `P = diag(√ν + ε)` |
//! | `scalar_rmsprop` | `ν ← β2ν + (1−β2)‖g‖²; w ← w − ηg/(√ν + ε)` | same with `P = (√ν + ε)·I` |
//!
//! ε is added to the square root (outside it), as PyTorch does; buffers start at zero. Each
//! rule's file (`crates/core/src/rules/<kind>.rs`) states its equations, threshold and flow.

use crate::real::Real;
use crate::rules::{FlowError, FlowRule, NoFlow, Preconditioning, UpdateRule};
use crate::schedule::LrSchedule;

pub use crate::rules::{OptimizerConfig, RuleState};

/// The state an [`Optimizer`] carries between steps (see [`RuleState`]).
pub type OptimizerState = RuleState;

/// Errors from building or stepping an optimizer (bad hyper-parameters, wrong lengths).
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum OptimizerError {
    /// A hyper-parameter outside its domain.
    #[error("invalid optimizer setting `{name}` = {value}: expected {expected}")]
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
        /// Parameters the stored state is laid out for (0 before the first step).
        state: usize,
    },
    /// An `f32` step asked of a rule that has only an `f64` one.
    #[error("optimizer `{rule}` has no f32 step; run it with dtype = \"f64\" (gd, polyak and adam have one)")]
    NoSinglePrecision {
        /// The rule's registry name.
        rule: &'static str,
    },
}

impl OptimizerConfig {
    /// Plain GD with learning rate `lr`.
    pub fn gd(lr: f64) -> Self {
        Self::Gd(crate::rules::Gd { lr })
    }

    /// The base learning rate η.
    pub fn lr(&self) -> f64 {
        self.rule().lr()
    }

    /// Checks every hyper-parameter (`lr > 0` finite, decays in `[0, 1)`, `eps ≥ 0`, …).
    pub fn validate(&self) -> Result<(), OptimizerError> {
        crate::rules::check_lr(self.lr())?;
        self.rule().validate()
    }

    /// Linear stability threshold at the base learning rate (theory.md §3).
    pub fn stability_threshold(&self) -> f64 {
        self.rule().stability_threshold(self.lr())
    }
}

/// A rule with its learning-rate schedule: `η(t) = η · schedule.factor_at(t, total_steps)`.
/// Immutable during a run and shared by every process that follows the optimizer; states
/// live beside it ([`RuleState`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    config: OptimizerConfig,
    schedule: LrSchedule,
    total_steps: u64,
}

impl Rule {
    /// A validated rule; `total_steps` is the run length the schedule refers to.
    pub fn new(
        config: OptimizerConfig,
        schedule: LrSchedule,
        total_steps: u64,
    ) -> Result<Self, OptimizerError> {
        config.validate()?;
        Ok(Self {
            config,
            schedule,
            total_steps,
        })
    }

    /// A rule with a constant learning rate.
    pub fn constant(config: OptimizerConfig) -> Result<Self, OptimizerError> {
        Self::new(config, LrSchedule::Constant, 1)
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// The update rule.
    pub fn rule(&self) -> &dyn UpdateRule {
        self.config.rule()
    }

    /// `η(t)` at step (or flow time) `t`.
    pub fn lr_at(&self, t: f64) -> f64 {
        self.config.lr() * self.schedule.factor_at(t, self.total_steps)
    }

    /// The stability threshold at `η(t)`.
    pub fn threshold_at(&self, t: f64) -> f64 {
        self.rule().stability_threshold(self.lr_at(t))
    }

    /// A zero state for `n` parameters.
    pub fn zero_state(&self, n: usize) -> RuleState {
        RuleState::zeros(self.rule(), n)
    }

    /// Checks that `state` is laid out for `n` parameters of this rule.
    pub fn check_state(&self, state: &RuleState, n: usize) -> Result<(), OptimizerError> {
        if state.dim == n && state.fits(self.rule()) {
            Ok(())
        } else {
            Err(OptimizerError::LengthMismatch {
                params: n,
                grad: n,
                state: state.dim,
            })
        }
    }

    /// One discrete step at `η(state.t)`: writes `Δw` into `update`, adds it to `w` and
    /// advances `state.t` by one. The state must be laid out for `w.len()` parameters.
    pub fn step(
        &self,
        state: &mut RuleState,
        grad: &[f64],
        w: &mut [f64],
        update: &mut [f64],
    ) -> Result<(), OptimizerError> {
        let rule = self.rule();
        self.apply(state, grad, w, update, |lr, s, g, w, u| {
            rule.step(lr, s, g, w, u)
        })
    }

    /// [`step`](Self::step) with weights, gradient, update and buffers in `f32` (the rule's
    /// [`TypedStep<f32>`]); an error for a rule without one.
    pub fn step_f32(
        &self,
        state: &mut RuleState<f32>,
        grad: &[f32],
        w: &mut [f32],
        update: &mut [f32],
    ) -> Result<(), OptimizerError> {
        let single = self
            .rule()
            .f32_step()
            .ok_or(OptimizerError::NoSinglePrecision {
                rule: self.config.name(),
            })?;
        self.apply(state, grad, w, update, |lr, s, g, w, u| {
            single.step_in(lr, s, g, w, u)
        })
    }

    /// Whether the rule has an `f32` step ([`step_f32`](Self::step_f32)).
    pub fn has_f32_step(&self) -> bool {
        self.rule().f32_step().is_some()
    }

    /// The shared frame of a step in precision `T`: check lengths, let `rule_step` write
    /// `Δw` at `η(t)`, add it to `w`, advance `t`.
    fn apply<T: Real>(
        &self,
        state: &mut RuleState<T>,
        grad: &[T],
        w: &mut [T],
        update: &mut [T],
        rule_step: impl FnOnce(f64, &mut RuleState<T>, &[T], &[T], &mut [T]),
    ) -> Result<(), OptimizerError> {
        self.check_lengths(state, grad.len(), w.len(), update.len())?;
        rule_step(self.lr_at(state.t), state, grad, w, update);
        for (wi, &u) in w.iter_mut().zip(update.iter()) {
            *wi = *wi + u;
        }
        state.t += 1.0;
        Ok(())
    }

    /// `Ok` when the gradient, the update and the state all have `n` entries.
    fn check_lengths<T: Real>(
        &self,
        state: &RuleState<T>,
        grad: usize,
        n: usize,
        update: usize,
    ) -> Result<(), OptimizerError> {
        if grad != n || update != n || state.dim != n || !state.fits(self.rule()) {
            return Err(OptimizerError::LengthMismatch {
                params: n,
                grad,
                state: state.dim,
            });
        }
        Ok(())
    }

    /// The virtual step at `η(state.t)` ([`UpdateRule::virtual_step`]): writes the `Δw` that
    /// [`step`](Self::step) would take for `grad` from `state`, changing nothing.
    pub fn virtual_step(
        &self,
        state: &RuleState,
        grad: &[f64],
        w: &[f64],
        update: &mut [f64],
    ) -> Result<(), OptimizerError> {
        self.check_lengths(state, grad.len(), w.len(), update.len())?;
        self.rule()
            .virtual_step(self.lr_at(state.t), state, grad, w, update);
        Ok(())
    }

    /// See [`UpdateRule::tracking_preconditioner`].
    pub fn tracking_preconditioner(
        &self,
        state: &RuleState,
        out: &mut Vec<f64>,
    ) -> Preconditioning {
        self.rule().tracking_preconditioner(state, out)
    }

    /// The rule's flow with the schedule's time dependence, or why there is none.
    pub fn flow(&self) -> Result<Flow<'_>, NoFlow> {
        let flow = self.rule().flow().map_err(|reason| NoFlow {
            rule: self.config.name(),
            reason,
        })?;
        Ok(Flow { rule: self, flow })
    }
}

/// The flow of a [`Rule`] at states `s = (t, b)`: `dw/dt = −P(t, b)⁻¹ g`,
/// `db/dt = f(b, g)`, `dt/dt = 1`, with `P(t, b) = P_rule(η(t), b)` (see [`crate::rules`]).
#[derive(Clone, Copy)]
pub struct Flow<'a> {
    rule: &'a Rule,
    flow: &'a dyn FlowRule,
}

impl Flow<'_> {
    /// The per-rule flow operations (state ODE, its curvature in `g`, …).
    pub fn rule(&self) -> &dyn FlowRule {
        self.flow
    }

    /// Writes `P(t, b)` (flow units) into `p`.
    pub fn preconditioner(&self, t: f64, buffers: &[f64], p: &mut [f64]) -> Result<(), FlowError> {
        self.flow.preconditioner(self.rule.lr_at(t), buffers, p)
    }

    /// `d/dτ uᵀP(s(τ))v` along `ds/dτ = (1, direction)` at `s = (t, b)`: the buffer part
    /// from the rule plus the schedule part `−(d ln η/dt) uᵀPv` (every flow `P` is
    /// proportional to `1/η(t)`). `p` must hold `P(t, b)` (from
    /// [`preconditioner`](Self::preconditioner)).
    #[allow(clippy::too_many_arguments)]
    pub fn preconditioner_derivative(
        &self,
        t: f64,
        buffers: &[f64],
        p: &[f64],
        u: &[f64],
        v: &[f64],
        direction: &[f64],
    ) -> f64 {
        let lr = self.rule.lr_at(t);
        let slope = self.rule.schedule.log_slope_at(t, self.rule.total_steps);
        let form: f64 = u.iter().zip(v).zip(p).map(|((u, v), p)| u * p * v).sum();
        self.flow
            .preconditioner_derivative(lr, buffers, u, v, direction)
            - slope * form
    }
}

/// A rule, its state and the last applied update: what a single trajectory needs.
#[derive(Debug, Clone)]
pub struct Optimizer {
    rule: Rule,
    state: RuleState,
    update: Vec<f64>,
}

impl Optimizer {
    /// A fresh optimizer with a constant learning rate (buffers allocated at the first step).
    pub fn new(config: OptimizerConfig) -> Result<Self, OptimizerError> {
        Self::with_state(config, RuleState::default())
    }

    /// Resumes from a saved state (for example a checkpoint); the buffers must have the
    /// lengths this optimizer uses for `state.dim` parameters.
    pub fn with_state(config: OptimizerConfig, state: RuleState) -> Result<Self, OptimizerError> {
        let rule = Rule::constant(config)?;
        if !state.fits(rule.rule()) {
            return Err(OptimizerError::LengthMismatch {
                params: state.dim,
                grad: state.dim,
                state: state.buffers.len(),
            });
        }
        Ok(Self {
            rule,
            state,
            update: Vec::new(),
        })
    }

    /// The configuration.
    pub fn config(&self) -> &OptimizerConfig {
        self.rule.config()
    }

    /// The state (for checkpoints).
    pub fn state(&self) -> &RuleState {
        &self.state
    }

    /// See [`OptimizerConfig::stability_threshold`].
    pub fn stability_threshold(&self) -> f64 {
        self.rule.threshold_at(self.state.t)
    }

    /// Diagonal `P` of the tracked operator `P^{-1/2} H P^{-1/2}` after the last applied
    /// step (Adam `√ν̂ + ε`, RMSProp `√ν + ε`, scalar RMSProp `√ν + ε` repeated); `None` for
    /// GD and momentum (P = I) and for an adaptive method before its first step.
    pub fn preconditioner(&self) -> Option<Vec<f64>> {
        let mut p = Vec::new();
        match self.rule.tracking_preconditioner(&self.state, &mut p) {
            Preconditioning::Diagonal => Some(p),
            Preconditioning::Identity | Preconditioning::NotYet => None,
        }
    }

    /// Applies one step to `w` given `grad = ∇f(w)` and returns the applied update
    /// `Δw = w_new − w_old` (a view of an internal buffer, valid until the next step).
    /// Buffers are allocated on the first step; later steps must keep the same length.
    pub fn step(&mut self, grad: &[f64], w: &mut [f64]) -> Result<&[f64], OptimizerError> {
        let n = w.len();
        if self.state.dim == 0 && grad.len() == n {
            self.state = self.rule.zero_state(n);
        }
        self.update.resize(n, 0.0);
        self.rule.step(&mut self.state, grad, w, &mut self.update)?;
        Ok(&self.update)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{Adam, Polyak};

    #[test]
    fn serde_defaults_and_roundtrip() {
        let cfg: OptimizerConfig = serde_json::from_str(r#"{"kind":"adam","lr":0.001}"#).unwrap();
        assert_eq!(
            cfg,
            OptimizerConfig::Adam(Adam {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8
            })
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
        let e = serde_json::from_str::<OptimizerConfig>(r#"{"kind":"gd","lr":0.1,"beta":1}"#)
            .unwrap_err();
        assert!(e.to_string().contains("beta"), "{e}");
    }

    #[test]
    fn preconditioners() {
        let gd = Optimizer::new(OptimizerConfig::gd(0.5)).unwrap();
        assert_eq!(gd.preconditioner(), None);
        assert_eq!(gd.stability_threshold(), 4.0);
        let mut adam = Optimizer::new(OptimizerConfig::Adam(Adam {
            lr: 0.1,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }))
        .unwrap();
        assert_eq!(adam.preconditioner(), None);
        adam.step(&[2.0, -3.0], &mut [0.0, 0.0]).unwrap();
        // After one step ν̂ = g², so P = |g| + ε.
        let p = adam.preconditioner().unwrap();
        assert!((p[0] - (2.0 + 1e-8)).abs() < 1e-14 && (p[1] - (3.0 + 1e-8)).abs() < 1e-14);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            Optimizer::new(OptimizerConfig::gd(-1.0)),
            Err(OptimizerError::InvalidParameter { name: "lr", .. })
        ));
        let polyak = |beta| OptimizerConfig::Polyak(Polyak { lr: 0.1, beta });
        assert!(Optimizer::new(polyak(1.0)).is_err());
        let mut opt = Optimizer::new(polyak(0.5)).unwrap();
        assert!(opt.step(&[1.0], &mut [0.0, 0.0]).is_err());
        opt.step(&[1.0, 1.0], &mut [0.0, 0.0]).unwrap();
        assert!(opt.step(&[1.0, 1.0, 1.0], &mut [0.0, 0.0, 0.0]).is_err());
        let bad_state = RuleState {
            dim: 3,
            t: 1.0,
            buffers: vec![0.0],
        };
        assert!(Optimizer::with_state(polyak(0.5), bad_state).is_err());
    }

    /// The schedule lives in the rule: the rate follows `η(t)` without rebuilding, and the
    /// flow's `dP/dt` picks up the schedule's slope.
    #[test]
    fn schedule_inside_the_rule() {
        let rule = Rule::new(
            OptimizerConfig::gd(0.4),
            LrSchedule::Step {
                every: 2,
                gamma: 0.5,
            },
            10,
        )
        .unwrap();
        let mut state = rule.zero_state(1);
        let mut w = [1.0];
        let mut u = [0.0];
        let mut rates = Vec::new();
        for _ in 0..5 {
            rule.step(&mut state, &[1.0], &mut w, &mut u).unwrap();
            rates.push(-u[0]);
        }
        assert_eq!(rates, [0.4, 0.4, 0.2, 0.2, 0.1]);
        assert_eq!(rule.threshold_at(2.0), 10.0);

        let warm = Rule::new(
            OptimizerConfig::gd(0.4),
            LrSchedule::Warmup { warmup_steps: 10 },
            10,
        )
        .unwrap();
        let flow = warm.flow().unwrap();
        let mut p = [0.0];
        flow.preconditioner(3.5, &[], &mut p).unwrap();
        // P = 1/η(t) = w/(0.4(t+1)): dP/dt = −P/(t+1).
        let d = flow.preconditioner_derivative(3.5, &[], &p, &[1.0], &[1.0], &[]);
        assert!((d + p[0] / 4.5).abs() < 1e-12, "{d}");
        assert!(
            Rule::constant(OptimizerConfig::Polyak(Polyak { lr: 0.1, beta: 0.5 }))
                .unwrap()
                .flow()
                .is_err()
        );
    }
}

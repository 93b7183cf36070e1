//! Update rules: every optimizer in its own file, behind one trait ([`UpdateRule`]), and the
//! registry that turns a config `kind` into a rule ([`OptimizerConfig`]).
//!
//! # The contract (docs/theory.md §1, §3, §5; docs/ARCHITECTURE.md "How to add an optimizer")
//!
//! A rule holds hyper-parameters only. Its **state** `s = (t, b)` is a [`RuleState`]: a step
//! counter `t` (the number of updates applied; in a flow it is the flow time and advances
//! continuously) and flat buffers `b` laid out as [`UpdateRule::layout`] says (`f64`; `f32` in
//! a single-precision run, for the rules with a [`TypedStep<f32>`]). The
//! learning rate is `η(t) = η · schedule(t)`; the schedule lives beside the rule
//! ([`crate::optimizer::Rule`]) and the rule receives the rate of the current step, so a
//! scheduled change never rebuilds anything.
//!
//! **Discrete step** ([`UpdateRule::step`], PyTorch conventions): given `g = ∇L(w_t)` and
//! `η = η(t)`, update the buffers and write `Δw = w_{t+1} − w_t`; the caller adds `Δw` to `w`
//! and then advances `t ← t + 1`. Inside `step`, `state.t` is the number of updates applied
//! *before* this one (Adam's bias corrections use `t + 1`).
//!
//! **Virtual step** ([`UpdateRule::virtual_step`]): the same `Δw` from a frozen state (the
//! buffers are not written), for measurements of the step a gradient would cause.
//!
//! **Stability threshold** ([`UpdateRule::stability_threshold`]): the largest eigenvalue of
//! the tracked operator (`H`, or `P^{-1/2} H P^{-1/2}` with the tracking preconditioner of
//! [`UpdateRule::tracking_preconditioner`]) above which the linearized update (preconditioner
//! frozen) is unstable: GD `2/η`, heavy ball `(2+2β)/η`, … (theory.md §3). Weight decay shifts
//! it (each rule file derives its own).
//!
//! **Flows.** A rule that is preconditioned GD, `w ← w − P(s)⁻¹ g` with a diagonal `P`, also
//! implements [`FlowRule`] and returns it from [`UpdateRule::flow`]; momentum methods are not
//! of that form and return [`NoFlow`] (said by the type, never by a panic). A flow rule gives:
//! - `P(s)` in **flow units** at rate `η`: `dw/dt = −P(s)⁻¹ ∇L` (GD: `P = 1/η`; RMSProp:
//!   `P = (√ν + ε)/η`, ε outside the root as in the discrete step). Every flow `P` is
//!   proportional to `1/η(t)` and equals the tracking preconditioner divided by `η`.
//! - the **state ODE** `db/dt = f(b, g)` matched to the discrete update: the discrete step
//!   uses the *freshly updated* buffers, `b_{t+1} = U(b_t, g_t)` then `w_{t+1} = w_t −
//!   P(b_{t+1})⁻¹ g_t`, so it is one **backward-Euler** step of the ODE with `dt = 1`:
//!   `b_{t+1} − b_t = f(b_{t+1}, g_t)`. For `U(ν, g) = β₂ν + (1−β₂)g²` this gives
//!   `f(ν, g) = ((1−β₂)/β₂)(g² − ν)`, the reference's `/β₂` factor (theory.md §5). The flow
//!   state at time `t` is therefore the discrete state *in effect during step t*
//!   (`b_{t+1}`); a flow started from a discrete state is primed with one
//!   [`FlowRule::update_state`] at the starting gradient.
//! - **Step counter in flows:** `dt/dt = 1` — flow time is measured in steps, so the schedule
//!   and any bias correction see the same `t` in a flow as in the discrete run. (The public
//!   RMSProp flows divide the whole state derivative, counter included, by β₂, so their `t`
//!   runs at `1/β₂`; gdscope does not copy that.)
//! - `½ ∇²_g f(b, g)[a, c]` ([`FlowRule::state_curvature`]): the central flow's expectation of
//!   `f(b, g + Hδ)` over the oscillation δ; exact because `f` is quadratic in `g` for the
//!   RMSProp family (`((1−β₂)/β₂) a⊙c`).
//! - `∂_b (uᵀ P(b) v)[d]` ([`FlowRule::preconditioner_derivative`]): the derivative of the
//!   bilinear form along a buffer direction `d` at fixed `η` (the central flow's `dP/dt`).
//!   The dependence on `t` through `η(t)` is added by [`crate::optimizer::Rule`], since
//!   `P ∝ 1/η(t)` for every flow rule.

use serde::{Deserialize, Serialize};

use crate::optimizer::OptimizerError;
use crate::real::Real;

#[cfg(test)]
mod testing;

/// The registry: one line per rule, `Variant(module::Type) = "config kind"`. It declares the
/// module, the variant of [`OptimizerConfig`] (serialized with `kind = "<name>"`) and the
/// dispatch to [`UpdateRule`]. Adding an optimizer is a new file in this folder plus one line.
macro_rules! registry {
    ($($variant:ident($module:ident :: $ty:ident) = $name:literal,)+) => {
        $(mod $module; pub use $module::$ty;)+

        $(
            impl LearningRate for $ty {
                fn lr(&self) -> f64 {
                    self.lr
                }
            }
        )+

        /// Which optimizer, with every hyper-parameter, tagged by `kind` (for example
        /// `{"kind": "adam", "lr": 0.001}`; omitted fields take PyTorch's defaults, the
        /// learning rate is always required). Each variant's fields are documented in its
        /// rule's file.
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "kind")]
        pub enum OptimizerConfig {
            $(
                #[doc = concat!("`kind = \"", $name, "\"`: see [`", stringify!($ty), "`].")]
                #[serde(rename = $name)]
                $variant($ty),
            )+
        }

        impl OptimizerConfig {
            /// Every registered `kind`, in registry order.
            pub const KINDS: &'static [&'static str] = &[$($name),+];

            /// The rule behind this configuration.
            pub fn rule(&self) -> &dyn UpdateRule {
                match self {
                    $(Self::$variant(r) => r,)+
                }
            }

            /// Short name, equal to the `kind` tag.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $name,)+
                }
            }
        }
    };
}

registry! {
    Gd(gd::Gd) = "gd",
    Polyak(polyak::Polyak) = "polyak",
    Nesterov(nesterov::Nesterov) = "nesterov",
    Adam(adam::Adam) = "adam",
    Rmsprop(rmsprop::Rmsprop) = "rmsprop",
    ScalarRmsprop(scalar_rmsprop::ScalarRmsprop) = "scalar_rmsprop",
    AdamW(adamw::AdamW) = "adamw",
    Sgd(sgd::Sgd) = "sgd",
}

/// Length of one state buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BufferLen {
    /// One entry per parameter.
    PerParameter,
    /// A single number.
    Scalar,
}

/// One named buffer of a rule's state (for example Adam's `m` and `nu`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffer {
    /// Name, as in the rule's equations.
    pub name: &'static str,
    /// Its length.
    pub len: BufferLen,
}

impl Buffer {
    /// A buffer with one entry per parameter.
    pub const fn per_parameter(name: &'static str) -> Self {
        Self {
            name,
            len: BufferLen::PerParameter,
        }
    }

    /// A one-number buffer.
    pub const fn scalar(name: &'static str) -> Self {
        Self {
            name,
            len: BufferLen::Scalar,
        }
    }
}

/// Total length of the buffers of `layout` for `n` parameters.
pub fn buffers_len(layout: &[Buffer], n: usize) -> usize {
    layout
        .iter()
        .map(|b| match b.len {
            BufferLen::PerParameter => n,
            BufferLen::Scalar => 1,
        })
        .sum()
}

/// An optimizer's state: the step counter and the flat buffers (see the module docs), the
/// buffers in the run's precision `T` (`f64`, or `f32` for the rules with a
/// [`TypedStep<f32>`]; the counter is always `f64`). Serializable, so a checkpoint restores
/// it bit for bit.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RuleState<T = f64> {
    /// Number of parameters the buffers are laid out for (0 before allocation).
    pub dim: usize,
    /// Step counter: updates applied so far (continuous flow time inside a flow).
    pub t: f64,
    /// The buffers of [`UpdateRule::layout`], concatenated in order.
    pub buffers: Vec<T>,
}

impl RuleState {
    /// A fresh state (`t = 0`, zero buffers) for `n` parameters.
    pub fn zeros(rule: &dyn UpdateRule, n: usize) -> Self {
        Self::zeroed(rule, n)
    }
}

impl<T: Real> RuleState<T> {
    /// A fresh state in precision `T` (`t = 0`, zero buffers) for `n` parameters.
    pub fn zeroed(rule: &dyn UpdateRule, n: usize) -> Self {
        Self {
            dim: n,
            t: 0.0,
            buffers: vec![T::zero(); buffers_len(rule.layout(), n)],
        }
    }

    /// The same state in precision `U` (buffers rounded or widened).
    pub fn convert<U: Real>(&self) -> RuleState<U> {
        let mut out = RuleState::default();
        self.convert_into(&mut out);
        out
    }

    /// [`convert`](Self::convert) into `out`, reusing its buffer.
    pub fn convert_into<U: Real>(&self, out: &mut RuleState<U>) {
        out.dim = self.dim;
        out.t = self.t;
        out.buffers.clear();
        out.buffers
            .extend(self.buffers.iter().map(|&b| U::of_f64(b.as_f64())));
    }

    /// Whether the buffers have the lengths `rule` uses for [`dim`](Self::dim) parameters.
    pub fn fits(&self, rule: &dyn UpdateRule) -> bool {
        let want = if self.dim == 0 {
            0
        } else {
            buffers_len(rule.layout(), self.dim)
        };
        self.buffers.len() == want
    }
}

/// The discrete step of a rule in precision `T`: the same contract as
/// [`UpdateRule::step`], every parameter-sized quantity in `T` (hyper-parameters and the
/// learning rate rounded to `T`, bias corrections computed in `f64` and rounded), so an
/// `f32` run accumulates in `f32` as a JAX `float32` run does. The rules that implement it
/// generically run their `f64` [`UpdateRule::step`] through it too (one body per rule).
pub trait TypedStep<T: Real> {
    /// One step at rate `lr`: updates `state.buffers` (not `state.t`), writes `Δw`.
    fn step_in(&self, lr: f64, state: &mut RuleState<T>, grad: &[T], w: &[T], update: &mut [T]);
}

/// How the tracked Hessian is preconditioned (the operator whose top eigenvalue is compared
/// with [`UpdateRule::stability_threshold`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preconditioning {
    /// The plain Hessian `H` (GD and momentum methods).
    Identity,
    /// `P^{-1/2} H P^{-1/2}` with the diagonal `P` written into the caller's buffer.
    Diagonal,
    /// An adaptive rule before its first step: no second moment yet, nothing to measure.
    NotYet,
}

/// Why a rule has no flow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("optimizer `{rule}` has no flow: {reason}")]
pub struct NoFlow {
    /// The rule's registry name.
    pub rule: &'static str,
    /// What is missing.
    pub reason: &'static str,
}

/// The reason of the default [`UpdateRule::flow`].
pub const NOT_PRECONDITIONED_GD: &str =
    "its update (momentum, weight decay) is not preconditioned gradient descent w ← w − P(s)⁻¹∇L";

/// Why a flow quantity cannot be evaluated at a state.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FlowError {
    /// `P(s)` has a zero, negative or non-finite entry (for example RMSProp with ε = 0 and a
    /// coordinate whose gradient has been exactly zero so far).
    #[error(
        "the flow preconditioner P(s) is not invertible at parameter {index} (P = {value}); \
         prime the state with a non-zero gradient or use eps > 0"
    )]
    Singular {
        /// First offending coordinate.
        index: usize,
        /// Its value.
        value: f64,
    },
}

/// The base learning rate `η` of a rule (the schedule multiplies it): every rule has a field
/// `lr` (directly or through `Deref`), and the registry implements this trait from it.
pub trait LearningRate {
    /// `η`.
    fn lr(&self) -> f64;
}

/// One optimizer: hyper-parameters, discrete step, threshold and (if it has one) its flow.
/// See the module docs for the contract and its equations.
pub trait UpdateRule: LearningRate + std::fmt::Debug + Send + Sync {
    /// Checks the hyper-parameters other than `lr` (which [`OptimizerConfig::validate`]
    /// checks for every rule); the error names the field and the allowed range.
    fn validate(&self) -> Result<(), OptimizerError> {
        Ok(())
    }

    /// The state buffers, in storage order (none by default).
    fn layout(&self) -> &'static [Buffer] {
        &[]
    }

    /// Linear stability threshold on the tracked operator at learning rate `lr`.
    fn stability_threshold(&self, lr: f64) -> f64;

    /// One discrete step at rate `lr`: updates `state.buffers` (not `state.t`) and writes
    /// `Δw` into `update`. `state.t` counts the steps applied before this one; `w` is the
    /// current iterate (for weight decay); all slices have the state's length.
    fn step(&self, lr: f64, state: &mut RuleState, grad: &[f64], w: &[f64], update: &mut [f64]);

    /// The **virtual step** from the frozen state: writes into `update` the `Δw` that
    /// [`step`](Self::step) would write for `grad` at rate `lr` from `state`, bit for bit,
    /// without changing `state` (the buffers are updated in registers only). This is the
    /// step `s_B` a minibatch gradient `g_B` would cause from the optimizer's current state
    /// (generalized batch sharpness, critical sharpness; docs/curvature.md). Every rule's
    /// step is proportional to `lr` (`Δw(c·η) = c·Δw(η)`, tested), so `Δw/η` is the update
    /// direction per unit learning rate.
    fn virtual_step(&self, lr: f64, state: &RuleState, grad: &[f64], w: &[f64], update: &mut [f64]);

    /// The diagonal `P` of the tracked operator `P^{-1/2} H P^{-1/2}`, written into `out`
    /// (resized) when the answer is [`Preconditioning::Diagonal`]; the plain Hessian by
    /// default.
    fn tracking_preconditioner(&self, state: &RuleState, out: &mut Vec<f64>) -> Preconditioning {
        let _ = (state, out);
        Preconditioning::Identity
    }

    /// The rule's step in single precision, for runs that keep their vectors in `f32`;
    /// `None` (the default) for rules without one: such a run keeps an `f64` state.
    fn f32_step(&self) -> Option<&dyn TypedStep<f32>> {
        None
    }

    /// The rule as preconditioned GD with a state ODE, or why it is not one (by default:
    /// [`NOT_PRECONDITIONED_GD`]).
    fn flow(&self) -> Result<&dyn FlowRule, &'static str> {
        Err(NOT_PRECONDITIONED_GD)
    }
}

/// A rule of the form `w ← w − P(s)⁻¹ g` with a diagonal `P` (module docs, "Flows").
/// Every method takes the buffers `b` of a [`RuleState`] laid out for `g.len()` parameters.
pub trait FlowRule {
    /// Writes `P(b)` in flow units at rate `lr` (one entry per parameter) into `p`.
    fn preconditioner(&self, lr: f64, buffers: &[f64], p: &mut [f64]) -> Result<(), FlowError>;

    /// The discrete state update `b ← U(b, g)` alone (used to prime a flow from a discrete
    /// state, see the module docs).
    fn update_state(&self, buffers: &mut [f64], grad: &[f64]);

    /// The state ODE `db/dt = f(b, g)` (matched to [`update_state`](Self::update_state) by
    /// backward Euler with `dt = 1`), written into `out`.
    fn state_derivative(&self, buffers: &[f64], grad: &[f64], out: &mut [f64]);

    /// `½ ∇²_g f(b, g)[a, c]` (independent of `g`: `f` is at most quadratic in `g`).
    fn state_curvature(&self, buffers: &[f64], a: &[f64], c: &[f64], out: &mut [f64]);

    /// `d/dε uᵀ P(b + ε d) v` at `ε = 0` and fixed `lr` (`b`: the buffers, `d`: a direction
    /// in buffer space).
    fn preconditioner_derivative(&self, lr: f64, b: &[f64], u: &[f64], v: &[f64], d: &[f64])
        -> f64;
}

/// `Ok` when `value` passes `ok`, else [`OptimizerError::InvalidParameter`].
pub(crate) fn check(
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

/// `lr > 0` and finite (every rule's learning rate).
pub(crate) fn check_lr(lr: f64) -> Result<(), OptimizerError> {
    check("lr", lr, lr.is_finite() && lr > 0.0, "a finite number > 0")
}

/// An exponential-average decay in `[0, 1)`.
pub(crate) fn check_decay(name: &'static str, beta: f64) -> Result<(), OptimizerError> {
    check(name, beta, (0.0..1.0).contains(&beta), "a number in [0, 1)")
}

/// A finite number `≥ 0` (ε, weight decay).
pub(crate) fn check_non_negative(name: &'static str, value: f64) -> Result<(), OptimizerError> {
    check(
        name,
        value,
        value.is_finite() && value >= 0.0,
        "a finite number >= 0",
    )
}

/// `1 − βᵗ`, the bias correction of an exponential average after `t` steps.
pub(crate) fn bias_correction(beta: f64, t: f64) -> f64 {
    1.0 - beta.powf(t)
}

/// Checks that every entry of a flow preconditioner is finite and positive.
pub(crate) fn check_invertible(p: &[f64]) -> Result<(), FlowError> {
    match p.iter().position(|x| !(x.is_finite() && *x > 0.0)) {
        Some(index) => Err(FlowError::Singular {
            index,
            value: p[index],
        }),
        None => Ok(()),
    }
}

pub(crate) fn default_beta() -> f64 {
    0.9
}
pub(crate) fn default_beta2_adam() -> f64 {
    0.999
}
pub(crate) fn default_beta2_rms() -> f64 {
    0.99
}
pub(crate) fn default_eps() -> f64 {
    1e-8
}

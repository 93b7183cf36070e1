//! Processes: trajectories advanced in lockstep from the same weights and optimizer state
//! (docs/ARCHITECTURE.md "Processes and the driver"; the central-flows code's processes).
//!
//! A process owns its weights, its optimizer state ([`RuleState`]), its curvature tracker
//! ([`Curvature`]) and whatever else it needs between steps, all serializable, so a
//! checkpoint of the [`AnyProcess`] list resumes it bit for bit. Each step of the driver is
//! two phases: [`Process::prepare`] evaluates the loss and gradient at the process's
//! *measured point* and stages the next state; observers then read the prepared processes;
//! [`Process::commit`] makes the staged state current.
//!
//! | process | measured point at step t | advance |
//! |---|---|---|
//! | `discrete` | `w_t` | one optimizer step (full batch or this step's minibatch) |
//! | `midpoint` | `w*_t = (w_{t−1} + 2w_t + w_{t+1})/4` (`w_0` at t = 0) | one optimizer step |
//! | `stable` | `w(t)` of the stable flow | `dw/dt = −P(s)⁻¹∇L`, `ds/dt` from the rule, over one unit of time |
//! | `central` | `w(t)` of the central flow | the stable flow plus the curvature penalty `½∇⟨Σ, H⟩`, Σ from the SDCP, over one unit of time |
//!
//! Adding a process is a file in this folder (a type implementing [`Process`] and
//! [`ProcessKind`]) and one line in the [`processes!`] invocation below.

use gdscope_core::optimizer::{Rule, RuleState};
use gdscope_core::{Real, Values};
use serde::{Deserialize, Serialize};

use crate::config::{TrackingConfig, TrackingOverride};
use crate::noise::{GradientNoise, NoiseSource};
use crate::precision::{Point, State};
use crate::problem::Problem;
use crate::tracker::{Curvature, StateKind};
use crate::Timings;

/// What a process sees at step `t`.
#[derive(Clone, Copy)]
pub struct StepContext<'a> {
    /// The objective (and evaluator).
    pub problem: Problem<'a>,
    /// The optimizer rule with its schedule, shared by all processes.
    pub rule: &'a Rule,
    /// The driver step `t`.
    pub step: u64,
    /// This step's minibatch (sorted example indices), `None` for full batch.
    pub batch: Option<&'a [usize]>,
    /// The run's seed.
    pub seed: u64,
    /// The gradient-noise control (`None`: the optimizer's own gradient).
    pub noise: Option<&'a GradientNoise>,
}

impl StepContext<'_> {
    /// Loss and gradient at `w` on this step's examples, in the precision of `w`.
    pub fn value_grad<T: Real>(&self, w: &[T], grad: &mut [T]) -> f64 {
        T::value_grad(self.problem.objective, w, self.batch, grad)
    }

    /// The gradient the optimizer steps with at `w`: `grad` (this step's gradient there),
    /// plus the noise of the gradient-noise control when one is configured (`source` holds
    /// its scratch, built on first use).
    pub fn step_gradient<'g>(
        &self,
        w: &[f64],
        grad: &'g [f64],
        source: &'g mut Option<NoiseSource>,
    ) -> anyhow::Result<&'g [f64]> {
        let Some(noise) = self.noise.filter(|n| n.is_on()) else {
            return Ok(grad);
        };
        let obj = self.problem.objective;
        if source.is_none() {
            *source = Some(NoiseSource::new(noise, obj.num_examples())?);
        }
        let source = source.as_mut().expect("built above");
        Ok(source.perturb(noise, self.seed, self.step, obj, w, grad))
    }
}

/// Everything a process starts from.
pub struct Start<'a> {
    /// The objective.
    pub problem: Problem<'a>,
    /// The rule.
    pub rule: &'a Rule,
    /// Initial weights (shared by every process).
    pub w0: &'a [f64],
    /// Initial optimizer state (shared by every process).
    pub state0: &'a RuleState,
    /// This process's resolved tracking settings.
    pub tracking: TrackingConfig,
    /// Seed of this process's eigen-solver starts.
    pub eigen_seed: u64,
    /// Whether the run keeps its vectors in `f32` (the objective computes in `f32`, the
    /// optimizer has an `f32` step and no gradient-noise control is on): processes that
    /// support it (`discrete`) then hold weights, gradient and optimizer state in `f32`.
    pub single: bool,
}

/// A process's borrowed parts, for observers that measure at its point.
pub struct Parts<'a> {
    /// The measured point of the current step, in the process's precision.
    pub point: Point<'a>,
    /// The optimizer state in effect at that point, in the process's precision.
    pub state: State<'a>,
    /// The process's curvature tracker.
    pub curvature: &'a mut Curvature,
    /// Whether `state` is a discrete optimizer state or a flow state.
    pub kind: StateKind,
}

/// What every process carries: weights, optimizer state and curvature tracker
/// (checkpointed), and the loss and gradient at the measured point of the prepared step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Core {
    /// The process's weights.
    pub w: Vec<f64>,
    /// Its optimizer (or flow) state.
    pub state: RuleState,
    /// Its curvature tracker.
    pub curvature: Curvature,
    /// Loss at the measured point of the prepared step.
    #[serde(skip)]
    pub loss: f64,
    /// Gradient there.
    #[serde(skip)]
    pub grad: Vec<f64>,
}

impl Core {
    /// The start of a process: `w0`, `state`, a fresh tracker.
    pub fn new(
        start: &Start<'_>,
        state: RuleState,
        tracking: &TrackingConfig,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            w: start.w0.to_vec(),
            state,
            curvature: Curvature::new(tracking, start.eigen_seed)?,
            loss: f64::NAN,
            grad: Vec::new(),
        })
    }
}

/// `core()` and `core_mut()` of a process that keeps its [`Core`] in a field `core`.
macro_rules! core_in_field {
    () => {
        fn core(&self) -> &Core {
            &self.core
        }
        fn core_mut(&mut self) -> &mut Core {
            &mut self.core
        }
    };
}
pub(crate) use core_in_field;

/// One trajectory of the lockstep run (see the module docs).
pub trait Process {
    /// Evaluates the loss and gradient at the measured point of step `ctx.step` and stages
    /// the next state. Errors only for inconsistent inputs; divergence is reported through
    /// non-finite values (and, for flows, [`halted`](Self::halted)).
    fn prepare(&mut self, ctx: &StepContext<'_>, timings: &mut Timings) -> anyhow::Result<()>;

    /// Makes the staged state current.
    fn commit(&mut self);

    /// Weights, state, curvature, loss and gradient (a single-precision `discrete` process
    /// keeps its vectors elsewhere, so read them through the accessors below, never here).
    fn core(&self) -> &Core;

    /// The same, mutably.
    fn core_mut(&mut self) -> &mut Core;

    /// The staged change of the process's weights (`w_{t+1} − w_t`), when meaningful.
    fn update(&self) -> Option<&[f64]>;

    /// The measured point of the prepared step (its weights unless overridden).
    fn point(&self) -> &[f64] {
        &self.core().w
    }

    /// Whether its state is a discrete optimizer state or a flow state.
    fn kind(&self) -> StateKind {
        StateKind::Discrete
    }

    /// Point, state and curvature tracker together.
    fn parts(&mut self) -> Parts<'_> {
        let kind = self.kind();
        let c = self.core_mut();
        Parts {
            point: Point::F64(&c.w),
            state: State::F64(&c.state),
            curvature: &mut c.curvature,
            kind,
        }
    }

    /// The measured point as stored (`f32` for a single-precision process): for readers
    /// that need no `f64` copy.
    fn values(&self) -> Values<'_> {
        Values::F64(self.point())
    }

    /// The gradient as stored.
    fn grad_values(&self) -> Values<'_> {
        Values::F64(self.grad())
    }

    /// The staged update as stored.
    fn update_values(&self) -> Option<Values<'_>> {
        self.update().map(Values::F64)
    }

    /// The step counter (or flow time) of the state in effect at the measured point.
    fn t(&self) -> f64 {
        self.state().t
    }

    /// Puts the process in the run's precision ([`Start::single`]) between steps: a process
    /// that supports `f32` vectors converts them once (a run resumed, or forked, with another
    /// `dtype` or an optimizer without an `f32` step); the others stay `f64` (the default).
    fn set_single(&mut self, single: bool) {
        let _ = single;
    }

    /// Loss at the measured point (on this step's examples).
    fn loss(&self) -> f64 {
        self.core().loss
    }

    /// Gradient at the measured point (on this step's examples).
    fn grad(&self) -> &[f64] {
        &self.core().grad
    }

    /// The optimizer state in effect at the measured point.
    fn state(&self) -> &RuleState {
        &self.core().state
    }

    /// The curvature tracker.
    fn curvature(&self) -> &Curvature {
        &self.core().curvature
    }

    /// Why the process stopped advancing (a flow past its cost cap, a blow-up); `None`
    /// while it runs. A halted process is skipped by observers (its columns are `NaN`).
    fn halted(&self) -> Option<&str> {
        None
    }

    /// Process-specific metrics of the prepared step, in the order of
    /// [`ProcessKind::METRICS`].
    fn metrics(&self, out: &mut Vec<f64>) {
        out.clear();
    }
}

/// Settings of a `[process.<name>]` section: they include the process's overrides of the
/// shared `[tracking]` settings.
pub trait Settings:
    Serialize + serde::de::DeserializeOwned + Default + Clone + PartialEq + std::fmt::Debug
{
    /// The per-process overrides of `[tracking]`.
    fn tracking(&self) -> &TrackingOverride;

    /// The process's tracking settings: the shared ones with its overrides applied (a
    /// process may fix some of them).
    fn resolve(&self, shared: &TrackingConfig) -> TrackingConfig {
        self.tracking().apply(shared)
    }
}

impl Settings for TrackingOnly {
    fn tracking(&self) -> &TrackingOverride {
        &self.tracking
    }
}

/// The registry side of a process: its name, settings and construction.
pub trait ProcessKind: Process + Sized {
    /// Settings of `[process.<name>]`, with every default.
    type Settings: Settings;

    /// Names of the process-specific metrics of [`Process::metrics`].
    const METRICS: &'static [&'static str] = &[];

    /// Checks the settings; messages name fields as `{section}.field`.
    fn validate(settings: &Self::Settings, section: &str) -> anyhow::Result<()> {
        let _ = (settings, section);
        Ok(())
    }

    /// A process at the start of a run.
    fn build(settings: &Self::Settings, start: &Start<'_>) -> anyhow::Result<Self>;
}

/// The registry: one line per process, `Variant(module::Type) = "name"`. It declares the
/// module and generates [`ProcessName`] (the values of `processes = [...]`),
/// [`ProcessSettings`] (the `[process.<name>]` sections) and [`AnyProcess`] (a serializable
/// process of any kind).
macro_rules! processes {
    ($($variant:ident($module:ident :: $ty:ident) = $name:literal,)+) => {
        $(pub mod $module; pub use $module::$ty;)+

        /// A registered process.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum ProcessName {
            $(
                #[doc = concat!("`", $name, "`: see [`", stringify!($ty), "`].")]
                #[serde(rename = $name)]
                $variant,
            )+
        }

        impl ProcessName {
            /// Every registered process, in registry order.
            pub const ALL: &'static [ProcessName] = &[$(ProcessName::$variant),+];

            /// The name, as in configs and column prefixes.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(ProcessName::$variant => $name,)+
                }
            }

            /// Names of the process-specific metrics.
            pub fn metrics(self) -> &'static [&'static str] {
                match self {
                    $(ProcessName::$variant => <$ty as ProcessKind>::METRICS,)+
                }
            }
        }

        /// The `[process.<name>]` sections: each process's settings (all written out, with
        /// their defaults, whether or not the process runs).
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct ProcessSettings {
            $(
                #[doc = concat!("Settings of the `", $name, "` process.")]
                pub $module: <$ty as ProcessKind>::Settings,
            )+
        }

        impl ProcessSettings {
            /// The shared tracking settings with `name`'s overrides applied.
            pub fn tracking(&self, name: ProcessName, shared: &TrackingConfig) -> TrackingConfig {
                match name {
                    $(ProcessName::$variant => self.$module.resolve(shared),)+
                }
            }

            /// Checks every process's settings and resolved tracking.
            pub fn validate(&self, shared: &TrackingConfig) -> anyhow::Result<()> {
                $(
                    let section = concat!("process.", $name);
                    <$ty as ProcessKind>::validate(&self.$module, section)?;
                    self.tracking(ProcessName::$variant, shared)
                        .validate(&format!("{section}.tracking"))?;
                )+
                Ok(())
            }
        }

        /// A process of any registered kind (serializable: checkpoints store these).
        #[derive(Debug, Clone, Serialize, Deserialize)]
        #[allow(clippy::large_enum_variant)]
        pub enum AnyProcess {
            $(
                #[doc = concat!("A `", $name, "` process.")]
                $variant($ty),
            )+
        }

        impl AnyProcess {
            /// Builds process `name` with its settings.
            pub fn build(name: ProcessName, settings: &ProcessSettings, start: &Start<'_>) -> anyhow::Result<Self> {
                Ok(match name {
                    $(ProcessName::$variant => AnyProcess::$variant(<$ty as ProcessKind>::build(&settings.$module, start)?),)+
                })
            }

            /// Its name.
            pub fn name(&self) -> ProcessName {
                match self {
                    $(AnyProcess::$variant(_) => ProcessName::$variant,)+
                }
            }

            /// The process.
            pub fn get(&self) -> &dyn Process {
                match self {
                    $(AnyProcess::$variant(p) => p,)+
                }
            }

            /// The process, mutably.
            pub fn get_mut(&mut self) -> &mut dyn Process {
                match self {
                    $(AnyProcess::$variant(p) => p,)+
                }
            }
        }
    };
}

processes! {
    Discrete(discrete::Discrete) = "discrete",
    Midpoint(midpoint::Midpoint) = "midpoint",
    Stable(stable::Stable) = "stable",
    Central(central::Central) = "central",
}

/// Settings of a process that has nothing to set but its tracking overrides.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingOnly {
    /// Overrides of the shared `[tracking]` settings for this process.
    pub tracking: TrackingOverride,
}

/// `buffer` resized to `n` (allocates only when the length changes: once per run, or after
/// a restore, since scratch buffers are not checkpointed).
pub(crate) fn scratch<T: Real>(buffer: &mut Vec<T>, n: usize) -> &mut [T] {
    buffer.resize(n, T::zero());
    buffer
}

/// The optimizer step shared by the discrete-type processes: from `(w, state)` and `grad`,
/// stage `next_w = w + Δw`, `next_state` and `update = Δw` (no allocation after the first
/// step), in the precision `T` of the process.
pub(crate) fn stage_step<T: Real>(
    rule: &Rule,
    w: &[T],
    state: &RuleState<T>,
    grad: &[T],
    next: &mut Staged<T>,
) -> anyhow::Result<()> {
    let n = w.len();
    next.w.clear();
    next.w.extend_from_slice(w);
    next.state.clone_from(state);
    let update = scratch(&mut next.update, n);
    T::step(rule, &mut next.state, grad, &mut next.w, update)
        .map_err(|e| anyhow::anyhow!("optimizer step: {e}"))
}

/// The staged result of an optimizer step (scratch, not checkpointed).
#[derive(Debug, Clone, Default)]
pub(crate) struct Staged<T = f64> {
    pub w: Vec<T>,
    pub state: RuleState<T>,
    pub update: Vec<T>,
}

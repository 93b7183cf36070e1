//! `discrete`: the optimizer itself, `w_{t+1} = w_t + Δw_t` with the rule's step on the
//! full-batch gradient or on this step's minibatch (plus the gradient-noise control, when
//! one is configured; the recorded gradient stays the noiseless one). Measured point: `w_t`; the optimizer
//! state in effect there is the one before the step (as the eigen-measurements of a plain
//! training loop see it).
//!
//! In a single-precision run ([`Start::single`]) the weights, gradient, update and optimizer
//! buffers are `f32` end to end — the objective's `f32` entry points, the rule's `f32` step —
//! and the `f64` accessors widen on request ([`crate::precision`]).

use gdscope_core::optimizer::RuleState;
use gdscope_core::Values;
use serde::{Deserialize, Serialize};

use super::{scratch, stage_step, Core, Parts, Process, ProcessKind, Staged, Start, StepContext, TrackingOnly};
use crate::noise::NoiseSource;
use crate::precision::{widen_into, Point, State, Widened};
use crate::Timings;

/// The optimizer's own trajectory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discrete {
    /// The process in `f64`; in a single-precision run, its curvature tracker and loss only
    /// (the vectors live in `single`).
    core: Core,
    /// The vectors of a single-precision run.
    single: Option<Single>,
    #[serde(skip)]
    next: Staged,
    #[serde(skip)]
    noise: Option<NoiseSource>,
}

/// The `f32` vectors of a single-precision `discrete` process (checkpointed: weights and
/// optimizer state) and their `f64` views.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Single {
    w: Vec<f32>,
    state: RuleState<f32>,
    #[serde(skip)]
    grad: Vec<f32>,
    #[serde(skip)]
    next: Staged<f32>,
    #[serde(skip)]
    wide: Wide,
}

/// `f64` views of [`Single`], widened on request.
#[derive(Debug, Clone, Default)]
struct Wide {
    w: Widened<Vec<f64>>,
    grad: Widened<Vec<f64>>,
    update: Widened<Vec<f64>>,
    state: Widened<RuleState>,
}

impl Wide {
    fn invalidate(&mut self) {
        self.w.invalidate();
        self.grad.invalidate();
        self.update.invalidate();
        self.state.invalidate();
    }
}

impl ProcessKind for Discrete {
    type Settings = TrackingOnly;

    fn build(_settings: &TrackingOnly, start: &Start<'_>) -> anyhow::Result<Self> {
        let mut process = Self {
            core: Core::new(start, start.state0.clone(), &start.tracking)?,
            single: None,
            next: Staged::default(),
            noise: None,
        };
        process.set_single(start.single);
        Ok(process)
    }
}

impl Process for Discrete {
    fn prepare(&mut self, ctx: &StepContext<'_>, _timings: &mut Timings) -> anyhow::Result<()> {
        let c = &mut self.core;
        if let Some(s) = &mut self.single {
            // Single precision is chosen only without gradient noise (Start::single).
            s.wide.invalidate();
            let grad = scratch(&mut s.grad, s.w.len());
            c.loss = ctx.value_grad(&s.w, grad);
            return stage_step(ctx.rule, &s.w, &s.state, &s.grad, &mut s.next);
        }
        let grad = scratch(&mut c.grad, c.w.len());
        c.loss = ctx.value_grad(&c.w, grad);
        let step_grad = ctx.step_gradient(&c.w, &c.grad, &mut self.noise)?;
        stage_step(ctx.rule, &c.w, &c.state, step_grad, &mut self.next)
    }

    fn commit(&mut self) {
        if let Some(s) = &mut self.single {
            std::mem::swap(&mut s.w, &mut s.next.w);
            std::mem::swap(&mut s.state, &mut s.next.state);
            s.wide.w.invalidate();
            s.wide.state.invalidate();
            return;
        }
        std::mem::swap(&mut self.core.w, &mut self.next.w);
        std::mem::swap(&mut self.core.state, &mut self.next.state);
    }

    super::core_in_field!();

    fn update(&self) -> Option<&[f64]> {
        Some(match &self.single {
            Some(s) => s.wide.update.get(|out| widen_into(&s.next.update, out)),
            None => &self.next.update,
        })
    }

    fn point(&self) -> &[f64] {
        match &self.single {
            Some(s) => s.wide.w.get(|out| widen_into(&s.w, out)),
            None => &self.core.w,
        }
    }

    fn grad(&self) -> &[f64] {
        match &self.single {
            Some(s) => s.wide.grad.get(|out| widen_into(&s.grad, out)),
            None => &self.core.grad,
        }
    }

    fn state(&self) -> &RuleState {
        match &self.single {
            Some(s) => s.wide.state.get(|out| s.state.convert_into(out)),
            None => &self.core.state,
        }
    }

    fn parts(&mut self) -> Parts<'_> {
        let kind = self.kind();
        let Self { core, single, .. } = self;
        let (point, state) = match single {
            Some(s) => (
                Point::F32(&s.w, &s.wide.w),
                State::F32(&s.state, &s.wide.state),
            ),
            None => (Point::F64(&core.w), State::F64(&core.state)),
        };
        Parts {
            point,
            state,
            curvature: &mut core.curvature,
            kind,
        }
    }

    fn values(&self) -> Values<'_> {
        match &self.single {
            Some(s) => Values::F32(&s.w),
            None => Values::F64(&self.core.w),
        }
    }

    fn grad_values(&self) -> Values<'_> {
        match &self.single {
            Some(s) => Values::F32(&s.grad),
            None => Values::F64(&self.core.grad),
        }
    }

    fn update_values(&self) -> Option<Values<'_>> {
        Some(match &self.single {
            Some(s) => Values::F32(&s.next.update),
            None => Values::F64(&self.next.update),
        })
    }

    fn t(&self) -> f64 {
        match &self.single {
            Some(s) => s.state.t,
            None => self.core.state.t,
        }
    }

    fn set_single(&mut self, single: bool) {
        let c = &mut self.core;
        match (&self.single, single) {
            (None, true) => {
                self.single = Some(Single {
                    w: std::mem::take(&mut c.w).iter().map(|&v| v as f32).collect(),
                    state: std::mem::take(&mut c.state).convert(),
                    grad: Vec::new(),
                    next: Staged::default(),
                    wide: Wide::default(),
                });
                c.grad = Vec::new();
            }
            (Some(s), false) => {
                c.w = s.w.iter().map(|&v| f64::from(v)).collect();
                c.state = s.state.convert();
                self.single = None;
            }
            _ => {}
        }
    }
}

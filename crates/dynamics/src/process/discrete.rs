//! `discrete`: the optimizer itself, `w_{t+1} = w_t + Δw_t` with the rule's step on the
//! full-batch gradient or on this step's minibatch. Measured point: `w_t`; the optimizer
//! state in effect there is the one before the step (as the eigen-measurements of a plain
//! training loop see it).

use gdscope_core::optimizer::RuleState;
use serde::{Deserialize, Serialize};

use super::{scratch, stage_step, Parts, Process, ProcessKind, Staged, Start, StepContext, TrackingOnly};
use crate::config::TrackingOverride;
use crate::tracker::{Curvature, StateKind};
use crate::Timings;

/// The optimizer's own trajectory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discrete {
    w: Vec<f64>,
    state: RuleState,
    curvature: Curvature,
    #[serde(skip)]
    loss: f64,
    #[serde(skip)]
    grad: Vec<f64>,
    #[serde(skip)]
    next: Staged,
}

impl ProcessKind for Discrete {
    type Settings = TrackingOnly;

    fn tracking(settings: &TrackingOnly) -> &TrackingOverride {
        &settings.tracking
    }

    fn build(_settings: &TrackingOnly, start: &Start<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            w: start.w0.to_vec(),
            state: start.state0.clone(),
            curvature: Curvature::new(&start.tracking, start.eigen_seed)?,
            loss: f64::NAN,
            grad: Vec::new(),
            next: Staged::default(),
        })
    }
}

impl Process for Discrete {
    fn prepare(&mut self, ctx: &StepContext<'_>, _timings: &mut Timings) -> anyhow::Result<()> {
        let grad = scratch(&mut self.grad, self.w.len());
        self.loss = ctx.value_grad(&self.w, grad);
        stage_step(ctx.rule, &self.w, &self.state, &self.grad, &mut self.next)
    }

    fn commit(&mut self) {
        std::mem::swap(&mut self.w, &mut self.next.w);
        std::mem::swap(&mut self.state, &mut self.next.state);
    }

    fn point(&self) -> &[f64] {
        &self.w
    }

    fn loss(&self) -> f64 {
        self.loss
    }

    fn grad(&self) -> &[f64] {
        &self.grad
    }

    fn state(&self) -> &RuleState {
        &self.state
    }

    fn update(&self) -> Option<&[f64]> {
        Some(&self.next.update)
    }

    fn curvature(&self) -> &Curvature {
        &self.curvature
    }

    fn parts(&mut self) -> Parts<'_> {
        Parts {
            point: &self.w,
            state: &self.state,
            curvature: &mut self.curvature,
            kind: StateKind::Discrete,
        }
    }
}

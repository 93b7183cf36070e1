//! `discrete`: the optimizer itself, `w_{t+1} = w_t + Δw_t` with the rule's step on the
//! full-batch gradient or on this step's minibatch (plus the gradient-noise control, when
//! one is configured; the recorded gradient stays the noiseless one). Measured point: `w_t`; the optimizer
//! state in effect there is the one before the step (as the eigen-measurements of a plain
//! training loop see it).

use serde::{Deserialize, Serialize};

use super::{scratch, stage_step, Core, Process, ProcessKind, Staged, Start, StepContext, TrackingOnly};
use crate::noise::NoiseSource;
use crate::Timings;

/// The optimizer's own trajectory.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discrete {
    core: Core,
    #[serde(skip)]
    next: Staged,
    #[serde(skip)]
    noise: Option<NoiseSource>,
}

impl ProcessKind for Discrete {
    type Settings = TrackingOnly;

    fn build(_settings: &TrackingOnly, start: &Start<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            core: Core::new(start, start.state0.clone(), &start.tracking)?,
            next: Staged::default(),
            noise: None,
        })
    }
}

impl Process for Discrete {
    fn prepare(&mut self, ctx: &StepContext<'_>, _timings: &mut Timings) -> anyhow::Result<()> {
        let c = &mut self.core;
        let grad = scratch(&mut c.grad, c.w.len());
        c.loss = ctx.value_grad(&c.w, grad);
        let step_grad = ctx.step_gradient(&c.w, &c.grad, &mut self.noise)?;
        stage_step(ctx.rule, &c.w, &c.state, step_grad, &mut self.next)
    }

    fn commit(&mut self) {
        std::mem::swap(&mut self.core.w, &mut self.next.w);
        std::mem::swap(&mut self.core.state, &mut self.next.state);
    }

    super::core_in_field!();

    fn update(&self) -> Option<&[f64]> {
        Some(&self.next.update)
    }
}

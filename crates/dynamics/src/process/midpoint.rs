//! `midpoint`: the optimizer's trajectory measured at the second-order midpoints
//! `w*_t = (w_{t−1} + 2w_t + w_{t+1})/4` (`w*_0 = w_0`), an online [¼, ½, ¼] filter that
//! cancels most of a period-2 oscillation (theory.md §5, "time-averaging of GD"). Costs a
//! second gradient per step (at `w*_t`, on the same examples as the step). The optimizer
//! state in effect at `w*_t` is the one before step `t`.

use gdscope_core::optimizer::RuleState;
use serde::{Deserialize, Serialize};

use super::{scratch, stage_step, Parts, Process, ProcessKind, Staged, Start, StepContext, TrackingOnly};
use crate::config::TrackingOverride;
use crate::tracker::{Curvature, StateKind};
use crate::Timings;

/// The optimizer's trajectory, seen at its midpoints.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Midpoint {
    w: Vec<f64>,
    previous: Option<Vec<f64>>,
    state: RuleState,
    curvature: Curvature,
    #[serde(skip)]
    point: Vec<f64>,
    #[serde(skip)]
    loss: f64,
    #[serde(skip)]
    grad: Vec<f64>,
    #[serde(skip)]
    step_grad: Vec<f64>,
    #[serde(skip)]
    next: Staged,
}

impl ProcessKind for Midpoint {
    type Settings = TrackingOnly;

    fn tracking(settings: &TrackingOnly) -> &TrackingOverride {
        &settings.tracking
    }

    fn build(_settings: &TrackingOnly, start: &Start<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            w: start.w0.to_vec(),
            previous: None,
            state: start.state0.clone(),
            curvature: Curvature::new(&start.tracking, start.eigen_seed)?,
            point: Vec::new(),
            loss: f64::NAN,
            grad: Vec::new(),
            step_grad: Vec::new(),
            next: Staged::default(),
        })
    }
}

impl Process for Midpoint {
    fn prepare(&mut self, ctx: &StepContext<'_>, _timings: &mut Timings) -> anyhow::Result<()> {
        let n = self.w.len();
        let step_grad = scratch(&mut self.step_grad, n);
        ctx.value_grad(&self.w, step_grad);
        stage_step(ctx.rule, &self.w, &self.state, &self.step_grad, &mut self.next)?;
        let point = scratch(&mut self.point, n);
        match &self.previous {
            Some(prev) => {
                for (((m, a), b), c) in point.iter_mut().zip(prev).zip(&self.w).zip(&self.next.w) {
                    *m = 0.25 * (a + 2.0 * b + c);
                }
            }
            None => point.copy_from_slice(&self.w),
        }
        let grad = scratch(&mut self.grad, n);
        self.loss = ctx.value_grad(&self.point, grad);
        Ok(())
    }

    fn commit(&mut self) {
        // previous ← w ← next (the old `previous` buffer is reused for the next stage).
        let recycled = self.previous.take().unwrap_or_default();
        let next = std::mem::replace(&mut self.next.w, recycled);
        self.previous = Some(std::mem::replace(&mut self.w, next));
        std::mem::swap(&mut self.state, &mut self.next.state);
    }

    fn point(&self) -> &[f64] {
        &self.point
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
        None
    }

    fn curvature(&self) -> &Curvature {
        &self.curvature
    }

    fn parts(&mut self) -> Parts<'_> {
        Parts {
            point: &self.point,
            state: &self.state,
            curvature: &mut self.curvature,
            kind: StateKind::Discrete,
        }
    }
}

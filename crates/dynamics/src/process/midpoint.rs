//! `midpoint`: the optimizer's trajectory measured at the second-order midpoints
//! `w*_t = (w_{t−1} + 2w_t + w_{t+1})/4` (`w*_0 = w_0`), an online [¼, ½, ¼] filter that
//! cancels most of a period-2 oscillation (theory.md §5, "time-averaging of GD"). Costs a
//! second gradient per step (at `w*_t`, on the same examples as the step). Its steps carry
//! the same gradient noise as `discrete`'s (same seed and step), so both follow one
//! trajectory. The optimizer
//! state in effect at `w*_t` is the one before step `t`.

use serde::{Deserialize, Serialize};

use super::{
    scratch, stage_step, Core, Parts, Process, ProcessKind, Staged, Start, StepContext,
    TrackingOnly,
};
use crate::noise::NoiseSource;
use crate::precision::{Point, State};
use crate::tracker::StateKind;
use crate::Timings;

/// The optimizer's trajectory, seen at its midpoints (`core.loss`, `core.grad` are those at
/// the midpoint).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Midpoint {
    core: Core,
    previous: Option<Vec<f64>>,
    #[serde(skip)]
    point: Vec<f64>,
    #[serde(skip)]
    step_grad: Vec<f64>,
    #[serde(skip)]
    next: Staged,
    #[serde(skip)]
    noise: Option<NoiseSource>,
}

impl ProcessKind for Midpoint {
    type Settings = TrackingOnly;

    fn build(_settings: &TrackingOnly, start: &Start<'_>) -> anyhow::Result<Self> {
        Ok(Self {
            core: Core::new(start, start.state0.clone(), &start.tracking)?,
            previous: None,
            point: Vec::new(),
            step_grad: Vec::new(),
            next: Staged::default(),
            noise: None,
        })
    }
}

impl Process for Midpoint {
    fn prepare(&mut self, ctx: &StepContext<'_>, _timings: &mut Timings) -> anyhow::Result<()> {
        let c = &mut self.core;
        let n = c.w.len();
        let step_grad = scratch(&mut self.step_grad, n);
        ctx.value_grad(&c.w, step_grad);
        let step_grad = ctx.step_gradient(&c.w, &self.step_grad, &mut self.noise)?;
        stage_step(ctx.rule, &c.w, &c.state, step_grad, &mut self.next)?;
        let point = scratch(&mut self.point, n);
        match &self.previous {
            Some(prev) => {
                for (((m, a), b), c) in point.iter_mut().zip(prev).zip(&c.w).zip(&self.next.w) {
                    *m = 0.25 * (a + 2.0 * b + c);
                }
            }
            None => point.copy_from_slice(&c.w),
        }
        let grad = scratch(&mut c.grad, n);
        c.loss = ctx.value_grad(&self.point, grad);
        Ok(())
    }

    fn commit(&mut self) {
        // previous ← w ← next (the old `previous` buffer is reused for the next stage).
        let recycled = self.previous.take().unwrap_or_default();
        let next = std::mem::replace(&mut self.next.w, recycled);
        self.previous = Some(std::mem::replace(&mut self.core.w, next));
        std::mem::swap(&mut self.core.state, &mut self.next.state);
    }

    super::core_in_field!();

    fn update(&self) -> Option<&[f64]> {
        None
    }

    fn point(&self) -> &[f64] {
        &self.point
    }

    fn parts(&mut self) -> Parts<'_> {
        Parts {
            point: Point::F64(&self.point),
            state: State::F64(&self.core.state),
            curvature: &mut self.core.curvature,
            kind: StateKind::Discrete,
        }
    }
}

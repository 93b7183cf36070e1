//! Helpers for the analytic checks and the phase-1 tests: the discrete optimizer and the
//! central flow alone on any [`Objective`], one unit of time per step. Runs with several
//! processes in lockstep (the optimizer, its stable flow, its central flow) are
//! `gdscope_dynamics`' driver (`processes = ["discrete", "stable", "central"]`), which also
//! draws the 2-D figures of `gdscope flow`.
//!
//! The central flow starts at `w₀` with its state primed by one discrete state update at
//! `∇L(w₀)` ([`FlowState::primed`], a no-op for GD), so that it is the state in effect during
//! the first discrete step.

use gdscope_core::optimizer::Rule;
use gdscope_core::Objective;

use crate::central::{central_step, CentralCache, CentralSettings, CentralStep};
use crate::error::FlowError;
use crate::state::FlowState;

/// One discrete step of `rule` (buffers, then `w`, then `t ← t + 1`); returns `L(w)` before
/// it.
pub fn discrete_step(
    obj: &dyn Objective,
    rule: &Rule,
    state: &mut FlowState,
) -> Result<f64, FlowError> {
    let n = state.w.len();
    let mut grad = vec![0.0; n];
    let loss = obj.value_grad(&state.w, &mut grad);
    let mut update = vec![0.0; n];
    rule.step(&mut state.optimizer, &grad, &mut state.w, &mut update)?;
    Ok(loss)
}

/// The average of the observable `f` (vector-valued) over the discrete iterates
/// `w_from, …, w_{to−1}` started at `w0` with a fresh optimizer state: GD's time averages, to
/// compare with the central flow's predictions.
pub fn discrete_average(
    obj: &dyn Objective,
    rule: &Rule,
    w0: &[f64],
    from: usize,
    to: usize,
    f: impl Fn(&[f64]) -> Vec<f64>,
) -> Result<Vec<f64>, FlowError> {
    let mut state = FlowState::fresh(rule, w0);
    let mut sum = vec![0.0; f(w0).len()];
    for t in 0..to {
        if t >= from {
            sum.iter_mut().zip(f(&state.w)).for_each(|(s, v)| *s += v);
        }
        discrete_step(obj, rule, &mut state)?;
    }
    let n = to.saturating_sub(from).max(1) as f64;
    Ok(sum.iter().map(|s| s / n).collect())
}

/// The central flow alone for `steps` steps from a primed state at `w0`: the points
/// `w(0), w(1), …` and the step reports.
pub fn central_trajectory(
    obj: &dyn Objective,
    rule: &Rule,
    w0: &[f64],
    steps: usize,
    settings: &CentralSettings,
) -> Result<(Vec<Vec<f64>>, Vec<CentralStep>), FlowError> {
    let flow = rule.flow()?;
    let mut state = FlowState::primed(obj, rule, w0)?;
    let mut cache = CentralCache::new(settings)?;
    let mut points = vec![w0.to_vec()];
    let mut reports = Vec::with_capacity(steps);
    for _ in 0..steps {
        reports.push(central_step(obj, flow, &mut state, settings, &mut cache)?);
        points.push(state.w.clone());
    }
    Ok((points, reports))
}

//! A small side-by-side driver (docs/central-flows.md "Using it"): the discrete optimizer, its
//! stable flow and its central flow from the same start, one unit of time per step, on any
//! [`Objective`]. It is what the analytic checks and the 2-D contour figures use; the
//! `gdscope train` processes (phase 2) wrap the same step functions.
//!
//! All three start at `w₀` with a fresh optimizer state; the flows' state is primed with one
//! discrete state update at `∇L(w₀)` ([`FlowState::primed`], a no-op for GD), so that it is
//! the state in effect during the first discrete step.

use gdscope_core::optimizer::Rule;
use gdscope_core::Objective;

use crate::central::{central_step, CentralCache, CentralSettings, CentralStep};
use crate::error::FlowError;
use crate::stable::{stable_step, StableCache, StableSettings, StableStep};
use crate::state::FlowState;

/// Settings of [`side_by_side`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DriverSettings {
    /// Central flow settings.
    pub central: CentralSettings,
    /// Stable flow settings.
    pub stable: StableSettings,
}

/// The three trajectories, `steps + 1` points each (`w₀` first); the reports are one per
/// step.
#[derive(Debug, Clone)]
pub struct Trajectories {
    /// Discrete iterates `w_t`.
    pub discrete: Vec<Vec<f64>>,
    /// `L(w_t)`.
    pub discrete_loss: Vec<f64>,
    /// Stable-flow points `w(t)`.
    pub stable: Vec<Vec<f64>>,
    /// Stable-flow step reports.
    pub stable_steps: Vec<StableStep>,
    /// Central-flow points `w(t)`.
    pub central: Vec<Vec<f64>>,
    /// Central-flow step reports.
    pub central_steps: Vec<CentralStep>,
}

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

/// Runs the discrete optimizer, the stable flow and the central flow for `steps` steps.
/// Errors stop the run (a diverged discrete run shows as non-finite losses instead).
pub fn side_by_side(
    obj: &dyn Objective,
    rule: &Rule,
    w0: &[f64],
    steps: usize,
    settings: &DriverSettings,
) -> Result<Trajectories, FlowError> {
    let flow = rule.flow()?;
    let mut discrete = FlowState::fresh(rule, w0);
    let mut stable = FlowState::primed(obj, rule, w0)?;
    let mut central = stable.clone();
    let mut stable_cache = StableCache::new(&settings.stable)?;
    let mut central_cache = CentralCache::new(&settings.central)?;
    let mut out = Trajectories {
        discrete: vec![w0.to_vec()],
        discrete_loss: Vec::with_capacity(steps + 1),
        stable: vec![w0.to_vec()],
        stable_steps: Vec::with_capacity(steps),
        central: vec![w0.to_vec()],
        central_steps: Vec::with_capacity(steps),
    };
    for _ in 0..steps {
        out.discrete_loss
            .push(discrete_step(obj, rule, &mut discrete)?);
        out.discrete.push(discrete.w.clone());
        let s = stable_step(obj, flow, &mut stable, &settings.stable, &mut stable_cache)?;
        out.stable_steps.push(s);
        out.stable.push(stable.w.clone());
        let c = central_step(
            obj,
            flow,
            &mut central,
            &settings.central,
            &mut central_cache,
        )?;
        out.central_steps.push(c);
        out.central.push(central.w.clone());
    }
    out.discrete_loss.push(obj.value(&discrete.w));
    Ok(out)
}

/// The central flow alone for `steps` steps from a primed state at `w0`: the points
/// `w(0), w(1), …` and the step reports (used to compare substep counts).
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

//! A small side-by-side driver (docs/central-flows.md "Driver"): the discrete optimizer, its
//! stable flow and its central flow from the same start, one unit of time per step, on any
//! [`Objective`]. It is what the analytic checks and the 2-D contour figures use; the
//! `gdscope train` processes (phase 2) wrap the same step functions.
//!
//! All three start at `w₀` with the same optimizer state; as in the reference, the flows'
//! state is primed with one discrete state update at `∇L(w₀)` (a no-op for GD), so that it
//! is the state in effect during the first discrete step.

use gdscope_core::Objective;

use crate::central::{central_step, CentralCache, CentralSettings, CentralStep};
use crate::dynamics::{Dynamics, FlowState};
use crate::error::FlowError;
use crate::stable::{stable_step, StableCache, StableSettings, StableStep};

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

/// A flow state at `w0` with fresh buffers primed by one discrete state update at `∇L(w₀)`.
pub fn primed_state(obj: &dyn Objective, dynamics: &dyn Dynamics, w0: &[f64]) -> FlowState {
    let mut buffers = vec![0.0; dynamics.buffers_len(w0.len())];
    let mut grad = vec![0.0; w0.len()];
    obj.value_grad(w0, &mut grad);
    dynamics.update_state(&mut buffers, &grad);
    FlowState {
        w: w0.to_vec(),
        t: 0.0,
        buffers,
    }
}

/// One discrete step `b ← U(b, g)`, `w ← w − P(b)⁻¹g`, `t ← t + 1`; returns `L(w)` before it.
pub fn discrete_step(obj: &dyn Objective, dynamics: &dyn Dynamics, state: &mut FlowState) -> f64 {
    let n = state.w.len();
    let mut grad = vec![0.0; n];
    let loss = obj.value_grad(&state.w, &mut grad);
    dynamics.update_state(&mut state.buffers, &grad);
    let mut p = vec![0.0; n];
    dynamics.preconditioner(state.t, &state.buffers, &mut p);
    state
        .w
        .iter_mut()
        .zip(grad.iter().zip(&p))
        .for_each(|(w, (g, p))| *w -= g / p);
    state.t += 1.0;
    loss
}

/// The average of the observable `f` (vector-valued) over the discrete iterates
/// `w_from, …, w_{to−1}` started at `w0` with fresh optimizer buffers: GD's time averages,
/// to compare with the central flow's predictions.
pub fn discrete_average(
    obj: &dyn Objective,
    dynamics: &dyn Dynamics,
    w0: &[f64],
    from: usize,
    to: usize,
    f: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    let mut state = FlowState {
        w: w0.to_vec(),
        t: 0.0,
        buffers: vec![0.0; dynamics.buffers_len(w0.len())],
    };
    let mut sum = vec![0.0; f(w0).len()];
    for t in 0..to {
        if t >= from {
            sum.iter_mut().zip(f(&state.w)).for_each(|(s, v)| *s += v);
        }
        discrete_step(obj, dynamics, &mut state);
    }
    let n = to.saturating_sub(from).max(1) as f64;
    sum.iter().map(|s| s / n).collect()
}

/// Runs the discrete optimizer, the stable flow and the central flow for `steps` steps.
/// Errors stop the run (a diverged discrete run shows as non-finite losses instead).
pub fn side_by_side(
    obj: &dyn Objective,
    dynamics: &dyn Dynamics,
    w0: &[f64],
    steps: usize,
    settings: &DriverSettings,
) -> Result<Trajectories, FlowError> {
    let mut discrete = FlowState {
        w: w0.to_vec(),
        t: 0.0,
        buffers: vec![0.0; dynamics.buffers_len(w0.len())],
    };
    let mut stable = primed_state(obj, dynamics, w0);
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
            .push(discrete_step(obj, dynamics, &mut discrete));
        out.discrete.push(discrete.w.clone());
        out.stable_steps.push(stable_step(
            obj,
            dynamics,
            &mut stable,
            &settings.stable,
            &mut stable_cache,
        )?);
        out.stable.push(stable.w.clone());
        out.central_steps.push(central_step(
            obj,
            dynamics,
            &mut central,
            &settings.central,
            &mut central_cache,
        )?);
        out.central.push(central.w.clone());
    }
    out.discrete_loss.push(obj.value(&discrete.w));
    Ok(out)
}

/// The central flow alone for `steps` steps from a primed state at `w0`: the points
/// `w(0), w(1), …` and the step reports (used to compare substep counts).
pub fn central_trajectory(
    obj: &dyn Objective,
    dynamics: &dyn Dynamics,
    w0: &[f64],
    steps: usize,
    settings: &CentralSettings,
) -> Result<(Vec<Vec<f64>>, Vec<CentralStep>), FlowError> {
    let mut state = primed_state(obj, dynamics, w0);
    let mut cache = CentralCache::new(settings)?;
    let mut points = vec![w0.to_vec()];
    let mut reports = Vec::with_capacity(steps);
    for _ in 0..steps {
        reports.push(central_step(
            obj, dynamics, &mut state, settings, &mut cache,
        )?);
        points.push(state.w.clone());
    }
    Ok((points, reports))
}

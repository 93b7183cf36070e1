//! Step-size control for the central flow by step doubling (docs/central-flows.md
//! "Step-size control"). The reference scheme is forward Euler at a fixed `dt = 1/4` and
//! first order: the error of a step halves when `dt` halves, so the difference between a
//! step with `n` and with `2n` substeps estimates the error of the finer one. Each step:
//!
//! 1. integrate one unit of time with `n` and with `2n` substeps from the same state;
//! 2. `err = ‖w_{2n} − w_n‖`; accept the `2n` result if `err ≤ atol + rtol·‖w_{2n} − w₀‖`
//!    (relative to the distance moved in the step), else double `n` and repeat (the old `2n`
//!    result becomes the new coarse one), up to `max_nsubsteps`;
//! 3. start the next step with `n/2` if `err` was below a quarter of the bound.
//!
//! A step costs `3n` substeps at least (`n` + `2n`), so about 3× a fixed-`n` step; the
//! error estimate is reported for every step. No Richardson extrapolation: the complementarity
//! condition makes the velocity non-smooth where an eigenvalue turns critical, and the
//! accepted point must be a genuine Euler solution.

use gdscope_core::optimizer::Flow;
use gdscope_core::Objective;
use serde::{Deserialize, Serialize};

use crate::central::{central_step_with, CentralCache, CentralSettings, CentralStep};
use crate::error::FlowError;
use crate::state::FlowState;

/// Tolerances and limits of the step-size control.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepControl {
    /// Relative tolerance on the distance moved per step. Default `1e-3`.
    pub rtol: f64,
    /// Absolute tolerance (parameter units). Default `1e-10`.
    pub atol: f64,
    /// Fewest substeps of the coarse integration. Default 4.
    pub min_nsubsteps: usize,
    /// Most substeps of the fine integration. Default 256.
    pub max_nsubsteps: usize,
}

impl Default for StepControl {
    fn default() -> Self {
        Self {
            rtol: 1e-3,
            atol: 1e-10,
            min_nsubsteps: 4,
            max_nsubsteps: 256,
        }
    }
}

/// One controlled step.
#[derive(Debug, Clone)]
pub struct ControlledStep {
    /// The accepted (fine) integration's report.
    pub step: CentralStep,
    /// Substeps of the accepted integration.
    pub nsubsteps: usize,
    /// Error estimate `‖w_{2n} − w_n‖` of the accepted point.
    pub error_estimate: f64,
    /// Whether the tolerance was met (false when `max_nsubsteps` was reached first).
    pub within_tolerance: bool,
}

/// Step doubling with a memory of the last coarse substep count.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepDoubling {
    /// Tolerances.
    pub control: StepControl,
    /// Coarse substeps the next step starts with.
    pub nsubsteps: usize,
}

impl StepDoubling {
    /// Starts at `control.min_nsubsteps`.
    pub fn new(control: StepControl) -> Result<Self, FlowError> {
        let ok = control.min_nsubsteps >= 1
            && control.max_nsubsteps >= 2 * control.min_nsubsteps
            && control.rtol > 0.0
            && control.atol >= 0.0;
        if !ok {
            return Err(FlowError::InvalidSetting(format!(
                "step control needs rtol > 0, atol >= 0, min_nsubsteps >= 1 and \
                 max_nsubsteps >= 2·min_nsubsteps (got {control:?})"
            )));
        }
        Ok(Self {
            nsubsteps: control.min_nsubsteps,
            control,
        })
    }

    /// Advances `state` (and `cache`) by one controlled unit of time.
    pub fn step(
        &mut self,
        obj: &dyn Objective,
        flow: Flow<'_>,
        state: &mut FlowState,
        settings: &CentralSettings,
        cache: &mut CentralCache,
    ) -> Result<ControlledStep, FlowError> {
        let c = &self.control;
        let mut n = self.nsubsteps;
        let mut coarse = state.clone();
        central_step_with(obj, flow, &mut coarse, settings, n, &mut cache.clone())?;
        loop {
            let (mut fine, mut fine_cache) = (state.clone(), cache.clone());
            let step = central_step_with(obj, flow, &mut fine, settings, 2 * n, &mut fine_cache)?;
            let err = distance(&fine.w, &coarse.w);
            let bound = c.atol + c.rtol * distance(&fine.w, &state.w);
            let within = err <= bound;
            if within || 2 * n >= c.max_nsubsteps {
                self.nsubsteps = if err <= 0.25 * bound {
                    (n / 2).max(c.min_nsubsteps)
                } else {
                    n
                };
                *state = fine;
                *cache = fine_cache;
                return Ok(ControlledStep {
                    step,
                    nsubsteps: 2 * n,
                    error_estimate: err,
                    within_tolerance: within,
                });
            }
            coarse = fine;
            n *= 2;
        }
    }
}

/// `‖a − b‖₂`.
pub(crate) fn distance(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

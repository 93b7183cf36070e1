//! The stable flow (docs/theory.md §5; gradient flow for GD): `dw/dt = −P(s)⁻¹∇L`,
//! `db/dt = f(b, g)`, integrated by forward Euler with `max(min_nsubsteps, ⌈2·S_eff⌉)`
//! substeps per unit time, `S_eff` the top effective eigenvalue from a warm-started tracker
//! (one pair, no growth) at the start of the step. Euler on a direction of curvature `S_eff`
//! is stable for `dt < 2/S_eff`; the factor 4 margin (`dt ≤ 1/(2 S_eff)`) keeps its damping
//! error small, as in the reference.
//!
//! **Cap and cost.** Along the stable flow of a network the sharpness keeps rising, and the
//! cost (one gradient per substep) with it. Once `S_eff > max_seff` (default 100: 200
//! substeps per step) the flow stops and stays frozen, as in the reference; the step reports
//! it. Per step the cost is one eigen-solve (a few HVPs, warm) plus the substep gradients.

use gdscope_core::optimizer::Flow;
use gdscope_core::Objective;
use serde::{Deserialize, Serialize};

use crate::eigen::{EigenSettings, EigenSolver};
use crate::error::FlowError;
use crate::state::FlowState;

/// Settings of the stable flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StableSettings {
    /// Fewest Euler substeps per unit time. Default 4.
    pub min_nsubsteps: usize,
    /// The flow stops once the effective sharpness exceeds this. Default 100.
    pub max_seff: f64,
    /// Eigen-solver settings (`initial_k` pairs are tracked, without growth).
    pub eigen: EigenSettings,
}

impl Default for StableSettings {
    fn default() -> Self {
        Self {
            min_nsubsteps: 4,
            max_seff: 100.0,
            eigen: EigenSettings::default(),
        }
    }
}

/// The stable flow's tracker and whether it has stopped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StableCache {
    /// Effective-Hessian eigen-solver (one pair, warm-started).
    pub eigen: EigenSolver,
    /// Set once `S_eff > max_seff`: the flow no longer moves.
    pub stopped: bool,
}

impl StableCache {
    /// A cold cache.
    pub fn new(settings: &StableSettings) -> Result<Self, FlowError> {
        if settings.min_nsubsteps == 0 || settings.max_seff.is_nan() || settings.max_seff <= 0.0 {
            return Err(FlowError::InvalidSetting(format!(
                "stable flow needs min_nsubsteps >= 1 and max_seff > 0 (got {} and {})",
                settings.min_nsubsteps, settings.max_seff
            )));
        }
        Ok(Self {
            eigen: EigenSolver::new(&settings.eigen, None)?,
            stopped: false,
        })
    }
}

/// One unit of time of the stable flow.
#[derive(Debug, Clone, PartialEq)]
pub struct StableStep {
    /// `L(w)` at the start of the step.
    pub loss: f64,
    /// Tracked effective eigenvalues at the start (descending; empty once stopped).
    pub eigenvalues: Vec<f64>,
    /// Euler substeps taken (0 once stopped).
    pub substeps: usize,
    /// Whether the flow is stopped (frozen) after this step.
    pub stopped: bool,
}

/// Advances `state` by one unit of time (or leaves it, once stopped).
pub fn stable_step(
    obj: &dyn Objective,
    flow: Flow<'_>,
    state: &mut FlowState,
    settings: &StableSettings,
    cache: &mut StableCache,
) -> Result<StableStep, FlowError> {
    let n = state.w.len();
    let mut grad = vec![0.0; n];
    let loss = obj.value_grad(&state.w, &mut grad);
    if cache.stopped {
        return Ok(StableStep {
            loss,
            eigenvalues: Vec::new(),
            substeps: 0,
            stopped: true,
        });
    }
    let mut p = vec![0.0; n];
    flow.preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut p)?;
    let eig = cache.eigen.solve(obj, &state.w, &p)?;
    let seff = eig.values[0];
    if seff > settings.max_seff {
        cache.stopped = true;
        return Ok(StableStep {
            loss,
            eigenvalues: eig.values,
            substeps: 0,
            stopped: true,
        });
    }
    let substeps = settings.min_nsubsteps.max((2.0 * seff).ceil() as usize);
    let dt = 1.0 / substeps as f64;
    let mut dw = vec![0.0; n];
    let mut ds = vec![0.0; state.optimizer.buffers.len()];
    for i in 0..substeps {
        if i > 0 {
            obj.value_grad(&state.w, &mut grad);
            flow.preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut p)?;
        }
        dw.iter_mut()
            .zip(grad.iter().zip(&p))
            .for_each(|(d, (g, p))| *d = -g / p);
        flow.rule()
            .state_derivative(&state.optimizer.buffers, &grad, &mut ds);
        state.advance(&dw, &ds, dt)?;
    }
    Ok(StableStep {
        loss,
        eigenvalues: eig.values,
        substeps,
        stopped: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdscope_core::objective::DenseQuadratic;
    use gdscope_core::optimizer::Rule;
    use gdscope_core::rules::{Gd, OptimizerConfig};
    use nalgebra::DMatrix;

    fn quadratic(values: &[f64]) -> DenseQuadratic {
        DenseQuadratic::new(DMatrix::from_diagonal(
            &nalgebra::DVector::from_column_slice(values),
        ))
    }

    #[test]
    fn euler_on_a_quadratic_with_substeps_from_the_sharpness() {
        // ½·diag(10, 1): S_eff = ηλ₁ = 2.5 ⇒ ⌈2·2.5⌉ = 5 substeps, and each coordinate is
        // multiplied by (1 − ηλ/5)⁵ per unit time.
        let obj = quadratic(&[10.0, 1.0]);
        let gd = Rule::constant(OptimizerConfig::Gd(Gd { lr: 0.25 })).unwrap();
        let settings = StableSettings::default();
        let mut cache = StableCache::new(&settings).unwrap();
        let mut state = FlowState::fresh(&gd, &[1.0, 1.0]);
        let step =
            stable_step(&obj, gd.flow().unwrap(), &mut state, &settings, &mut cache).unwrap();
        assert_eq!(step.substeps, 5);
        assert!((step.eigenvalues[0] - 2.5).abs() < 1e-12);
        assert!((state.w[0] - (1.0f64 - 2.5 / 5.0).powi(5)).abs() < 1e-15);
        assert!((state.w[1] - (1.0f64 - 0.25 / 5.0).powi(5)).abs() < 1e-15);
        assert!((state.optimizer.t - 1.0).abs() < 1e-15);
    }

    #[test]
    fn the_flow_stops_beyond_max_seff_and_stays_frozen() {
        let obj = quadratic(&[10.0, 1.0]);
        let gd = Rule::constant(OptimizerConfig::Gd(Gd { lr: 1.0 })).unwrap();
        let settings = StableSettings {
            max_seff: 5.0,
            ..StableSettings::default()
        };
        let mut cache = StableCache::new(&settings).unwrap();
        let mut state = FlowState::fresh(&gd, &[1.0, 1.0]);
        for _ in 0..3 {
            let step =
                stable_step(&obj, gd.flow().unwrap(), &mut state, &settings, &mut cache).unwrap();
            assert!(step.stopped && step.substeps == 0);
            assert_eq!(state.w, vec![1.0, 1.0]);
        }
        assert!(StableCache::new(&StableSettings {
            min_nsubsteps: 0,
            ..StableSettings::default()
        })
        .is_err());
    }
}

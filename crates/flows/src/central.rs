//! One unit of time (one optimizer step) of the central flow in the reference
//! discretization (docs/central-flows.md "Discretization"): `nsubsteps` forward-Euler
//! substeps of size `dt = 1/nsubsteps`, each with freshly converged effective eigenpairs from
//! the warm-started tracker (as `minimal.py` does), the critical set `λ > sdcp_threshold`, and
//! the SDCP ([`crate::substep`]). The tracked set grows while its smallest effective
//! eigenvalue is above `track_threshold`.
//!
//! Reported per step ([`CentralStep`]): the quantities of the **first** substep (loss,
//! gradient, eigenpairs, `X`) as the references log them, and `X` **averaged over the
//! substeps** (as the JAX package reports it), each substep's `Σ` expressed in the first
//! substep's tracked basis so that the average does not depend on eigenvector signs.

use gdscope_core::optimizer::Flow;
use gdscope_core::{Block, Objective};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use crate::eigen::{EigenSettings, EigenSolver};
use crate::error::FlowError;
use crate::sdcp::SdcpOptions;
use crate::state::FlowState;
use crate::substep::{central_velocity, Scratch};

/// Settings of the central flow (defaults: the reference values).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CentralSettings {
    /// Euler substeps per unit time (`dt = 1/nsubsteps`). Default 4.
    pub nsubsteps: usize,
    /// Effective eigenvalues above this are critical (enter the SDCP). Default 1.95.
    pub sdcp_threshold: f64,
    /// The tracked set grows while its smallest effective eigenvalue is above this.
    /// Default 1.5.
    pub track_threshold: f64,
    /// Eigen-solver settings.
    pub eigen: EigenSettings,
    /// SDCP solver settings.
    pub sdcp: SdcpOptions,
}

impl Default for CentralSettings {
    fn default() -> Self {
        Self {
            nsubsteps: 4,
            sdcp_threshold: 1.95,
            track_threshold: 1.5,
            eigen: EigenSettings::default(),
            sdcp: SdcpOptions::default(),
        }
    }
}

impl CentralSettings {
    /// Checks the ranges: `nsubsteps ≥ 1`, `0 < track_threshold ≤ sdcp_threshold < 2`.
    pub fn validate(&self) -> Result<(), FlowError> {
        let bad = |msg: String| Err(FlowError::InvalidSetting(msg));
        if self.nsubsteps == 0 {
            return bad("nsubsteps must be at least 1".into());
        }
        let (t, s) = (self.track_threshold, self.sdcp_threshold);
        if !(t > 0.0 && t <= s && s < 2.0) {
            return bad(format!(
                "need 0 < track_threshold ({t}) <= sdcp_threshold ({s}) < 2 (effective units)"
            ));
        }
        Ok(())
    }
}

/// What a central flow carries between steps besides its state: the eigen-solver (its
/// cache of eigenvectors is the warm start, and it serializes with a checkpoint) and
/// scratch buffers (rebuilt on load).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CentralCache {
    /// Effective-Hessian eigen-solver (warm starts).
    pub eigen: EigenSolver,
    #[serde(skip)]
    scratch: Scratch,
}

impl CentralCache {
    /// A cold cache for `settings`.
    pub fn new(settings: &CentralSettings) -> Result<Self, FlowError> {
        settings.validate()?;
        Ok(Self {
            eigen: EigenSolver::new(&settings.eigen, Some(settings.track_threshold))?,
            scratch: Scratch::default(),
        })
    }
}

/// SDCP statistics over the substeps of a step.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct SdcpLog {
    /// Solves (substeps with at least one critical eigenvalue).
    pub solves: usize,
    /// Largest relative KKT residual.
    pub max_residual: f64,
    /// Solves that did not reach the tolerance.
    pub not_converged: usize,
    /// Interior-point iterations, summed.
    pub iterations: usize,
    /// Newton polishing steps, summed.
    pub newton_steps: usize,
}

/// One step (unit of time) of the central flow.
#[derive(Debug, Clone)]
pub struct CentralStep {
    /// `L(w)` at the first substep.
    pub loss: f64,
    /// `∇L(w)` at the first substep.
    pub grad: Vec<f64>,
    /// `P(s)` at the first substep.
    pub preconditioner: Vec<f64>,
    /// Tracked effective eigenvalues at the first substep (descending).
    pub eigenvalues: Vec<f64>,
    /// Tracked `U` at the first substep (`UᵀPU = I`).
    pub basis: Block,
    /// Critical eigenvalues at the first substep (the first `critical_k` columns of `basis`).
    pub critical_k: usize,
    /// `H U_c` at the first substep.
    pub hu: Block,
    /// `X` of the first substep (`critical_k × critical_k`).
    pub x_first: DMatrix<f64>,
    /// `X` averaged over the substeps, in the first substep's tracked basis
    /// (`basis.ncols()` square).
    pub x_mean: DMatrix<f64>,
    /// SDCP statistics.
    pub sdcp: SdcpLog,
    /// Hessian-vector products of the eigen-solver, summed over substeps.
    pub eigen_hvps: usize,
    /// Whether every eigen-solve reached its tolerance.
    pub eigen_converged: bool,
    /// Substeps taken.
    pub substeps: usize,
}

/// Advances `state` by one unit of time with `settings.nsubsteps` substeps.
pub fn central_step(
    obj: &dyn Objective,
    flow: Flow<'_>,
    state: &mut FlowState,
    settings: &CentralSettings,
    cache: &mut CentralCache,
) -> Result<CentralStep, FlowError> {
    central_step_with(obj, flow, state, settings, settings.nsubsteps, cache)
}

/// [`central_step`] with `nsubsteps` substeps instead of `settings.nsubsteps` (used by the
/// step-size control).
pub fn central_step_with(
    obj: &dyn Objective,
    flow: Flow<'_>,
    state: &mut FlowState,
    settings: &CentralSettings,
    nsubsteps: usize,
    cache: &mut CentralCache,
) -> Result<CentralStep, FlowError> {
    settings.validate()?;
    if nsubsteps == 0 {
        return Err(FlowError::InvalidSetting(
            "nsubsteps must be at least 1".into(),
        ));
    }
    let dt = 1.0 / nsubsteps as f64;
    let n = state.w.len();
    let mut p = vec![0.0; n];
    let mut report: Option<CentralStep> = None;
    for _ in 0..nsubsteps {
        flow.preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut p)?;
        let eig = cache.eigen.solve(obj, &state.w, &p)?;
        let sub = central_velocity(obj, flow, state, &eig, dt, settings, &mut cache.scratch)?;
        let r = report.get_or_insert_with(|| {
            let k0 = eig.vectors.ncols();
            CentralStep {
                loss: sub.loss,
                grad: sub.grad.clone(),
                preconditioner: sub.preconditioner.clone(),
                eigenvalues: eig.values.clone(),
                basis: eig.vectors.clone(),
                critical_k: sub.critical_k,
                hu: sub.hu.clone(),
                x_first: sub.x.clone(),
                x_mean: DMatrix::zeros(k0, k0),
                sdcp: SdcpLog::default(),
                eigen_hvps: 0,
                eigen_converged: true,
                substeps: nsubsteps,
            }
        });
        r.eigen_hvps += eig.hvps;
        r.eigen_converged &= eig.converged;
        if let Some(sol) = &sub.sdcp {
            let log = &mut r.sdcp;
            log.solves += 1;
            log.max_residual = log.max_residual.max(sol.residuals.max());
            log.not_converged += usize::from(!sol.converged());
            log.iterations += sol.iterations;
            log.newton_steps += sol.newton_steps;
            // Σ = U_c X U_cᵀ in the first basis: X₀ = M X Mᵀ with M = U₀ᵀ P₀ U_c.
            let uc = eig.vectors.columns(0, sub.critical_k);
            let pu0 = DMatrix::from_fn(n, r.basis.ncols(), |i, j| {
                r.basis[(i, j)] * r.preconditioner[i]
            });
            let m = pu0.transpose() * uc;
            r.x_mean += &m * &sub.x * m.transpose() / nsubsteps as f64;
        }
        state.advance(&sub.dw_dt, &sub.ds_dt, dt)?;
    }
    Ok(report.expect("nsubsteps >= 1"))
}

//! Eigenpairs of the effective Hessian for a flow substep (docs/theory.md §5): the top
//! eigenpairs `(λ_i, v_i)` of the symmetric `P^{-1/2} H P^{-1/2}`, returned as right
//! eigenvectors `U = P^{-1/2} V` of `P⁻¹H`, so that `UᵀPU = I` and `HU = PUΛ`.
//!
//! The warm-started [`EigenTracker`] (block LOBPCG; `gdscope-curvature` solves operators with
//! `n ≤ 3k` densely by itself) gives them; its tolerance is on the relative residual
//! `‖Av − λv‖/max(1, |λ|)` of each unit vector and does not grow with the parameter count.
//!
//! The tracked set grows while its smallest effective eigenvalue is above the
//! track threshold (so exactly one tracked eigenvalue sits below it, up to `k_max`).

use gdscope_core::{Block, Objective};
use gdscope_curvature::{AdaptiveK, EigOptions, EigenTracker, HessianOperator};
use serde::{Deserialize, Serialize};

use crate::error::FlowError;

/// Eigen-solver settings of a flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenSettings {
    /// Relative residual tolerance of each pair. Default `1e-9`.
    pub tol: f64,
    /// LOBPCG iteration cap per solve. Default 500.
    pub max_iters: usize,
    /// Pairs tracked at the start. Default 1.
    pub initial_k: usize,
    /// Upper bound on the tracked pairs (the SDCP is solved for at most this many). Default 10.
    pub k_max: usize,
    /// Seed of the random start columns. Default 0.
    pub seed: u64,
}

impl Default for EigenSettings {
    fn default() -> Self {
        Self {
            tol: 1e-9,
            max_iters: 500,
            initial_k: 1,
            k_max: 10,
            seed: 0,
        }
    }
}

/// Stability threshold of effective eigenvalues (`ηλ < 2` for GD).
pub const EFFECTIVE_THRESHOLD: f64 = 2.0;

/// The eigen-solver of one flow: the tracker with its growth rule (warm starts; serializable
/// with a checkpoint).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenSolver {
    /// Warm-started tracker.
    pub tracker: EigenTracker,
}

impl EigenSolver {
    /// A solver tracking `settings.initial_k` pairs, growing while the smallest tracked
    /// effective eigenvalue is above `track_threshold` (`None` keeps `k` fixed, as the stable
    /// flow does).
    pub fn new(settings: &EigenSettings, track_threshold: Option<f64>) -> Result<Self, FlowError> {
        let options = EigOptions {
            k: settings.initial_k,
            tol: settings.tol,
            max_iters: settings.max_iters,
            seed: settings.seed,
        };
        let k_max = match track_threshold {
            Some(_) => settings.k_max,
            None => settings.initial_k,
        };
        if let Some(cut) = track_threshold {
            if !(cut.is_finite() && cut > 0.0) {
                return Err(FlowError::InvalidSetting(format!(
                    "track_threshold must be finite and positive, got {cut}"
                )));
            }
        }
        // The tracker compares with `fraction · threshold`, the threshold being 2.
        let adaptive = AdaptiveK {
            fraction: track_threshold.map_or(1.0, |c| c / EFFECTIVE_THRESHOLD),
            k_max,
        };
        Ok(Self {
            tracker: EigenTracker::new(options, adaptive)?,
        })
    }

    /// The tracked effective eigenpairs of `obj` at `w` for the preconditioner `p`
    /// (`P = diag(p)`, flow units).
    pub fn solve(
        &mut self,
        obj: &dyn Objective,
        w: &[f64],
        p: &[f64],
    ) -> Result<Eigenpairs, FlowError> {
        let op = HessianOperator::new(obj, w)?.with_preconditioner(p)?;
        let r = self.tracker.track(&op, EFFECTIVE_THRESHOLD)?;
        let mut pairs = Eigenpairs {
            max_residual: r.residuals.iter().copied().fold(0.0, f64::max),
            values: r.values,
            vectors: r.vectors,
            hvps: r.hvps,
            iterations: r.iterations,
            converged: r.converged,
        };
        // V → U = P^{-1/2} V.
        for mut col in pairs.vectors.column_iter_mut() {
            col.iter_mut().zip(p).for_each(|(v, pi)| *v /= pi.sqrt());
        }
        Ok(pairs)
    }
}

/// Tracked eigenpairs of `P⁻¹H` at one point.
#[derive(Debug, Clone, PartialEq)]
pub struct Eigenpairs {
    /// Effective eigenvalues, descending.
    pub values: Vec<f64>,
    /// `U = P^{-1/2}V` (`n × k`): `UᵀPU = I`, `HU ≈ PUΛ`.
    pub vectors: Block,
    /// Hessian-vector products spent.
    pub hvps: usize,
    /// LOBPCG iterations (0 for a dense solve).
    pub iterations: usize,
    /// Largest relative residual `‖Av − λv‖/max(1, |λ|)` of the symmetric problem.
    pub max_residual: f64,
    /// Whether every pair reached the tolerance.
    pub converged: bool,
}

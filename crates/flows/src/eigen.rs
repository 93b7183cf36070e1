//! Eigenpairs of the effective Hessian for a flow substep (docs/theory.md §5): the top
//! eigenpairs `(λ_i, v_i)` of the symmetric `P^{-1/2} H P^{-1/2}`, returned as right
//! eigenvectors `U = P^{-1/2} V` of `P⁻¹H`, so that `UᵀPU = I` and `HU = PUΛ`.
//!
//! Large problems use the warm-started [`EigenTracker`] (block LOBPCG); its tolerance is on
//! the relative residual `‖Av − λv‖/max(1, |λ|)` of each unit vector and does not grow with
//! the parameter count. Small problems (`n ≤ 4·k_max`, as the reference does for `n < 4k`)
//! build the effective Hessian from `n` HVPs and diagonalize it exactly: LOBPCG's search
//! space `[X, W, P]` has `3k` columns and degenerates when that approaches `n` (it was seen
//! to return a wrong Ritz value on a 5-parameter objective with `k = 3`).
//!
//! Either way the tracked set grows while its smallest effective eigenvalue is above the
//! track threshold (so exactly one tracked eigenvalue sits below it, up to `k_max`).

use gdscope_core::{Block, Objective};
use gdscope_curvature::{AdaptiveK, EigOptions, EigenTracker, HessianOperator, LinearOperator};
use nalgebra::DMatrix;
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

/// The eigen-solver of one flow: the tracker (warm starts; serializable with a checkpoint)
/// and the growth rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigenSolver {
    /// Warm-started tracker (used when `n > 4·k_max`).
    pub tracker: EigenTracker,
    /// Effective value above which the tracked set grows (`None`: fixed `k`).
    track_threshold: Option<f64>,
    initial_k: usize,
    k_max: usize,
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
            track_threshold,
            initial_k: settings.initial_k,
            k_max,
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
        let n = w.len();
        let mut pairs = if n <= 4 * self.k_max {
            self.dense(&op)?
        } else {
            let r = self.tracker.track(&op, EFFECTIVE_THRESHOLD)?;
            Eigenpairs {
                values: r.values,
                vectors: r.vectors,
                hvps: r.hvps,
                converged: r.converged,
            }
        };
        // V → U = P^{-1/2} V.
        for mut col in pairs.vectors.column_iter_mut() {
            col.iter_mut().zip(p).for_each(|(v, pi)| *v /= pi.sqrt());
        }
        Ok(pairs)
    }

    /// Exact eigen-decomposition of the `n × n` effective Hessian; keeps the top `k` pairs
    /// (symmetric eigenvectors `V`) with `k` the tracker's rule (one below the cut, between
    /// `initial_k` and `k_max`).
    fn dense(&self, op: &HessianOperator<'_>) -> Result<Eigenpairs, FlowError> {
        let n = op.dim();
        let a = op.apply(&DMatrix::identity(n, n));
        if !a.iter().all(|v| v.is_finite()) {
            return Err(gdscope_curvature::CurvatureError::NonFinite.into());
        }
        let e = ((&a + a.transpose()) * 0.5).symmetric_eigen();
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&i, &j| e.eigenvalues[j].total_cmp(&e.eigenvalues[i]));
        let above = self.track_threshold.map_or(0, |cut| {
            order
                .iter()
                .take_while(|&&i| e.eigenvalues[i] > cut)
                .count()
        });
        let k = (above + 1).clamp(self.initial_k, self.k_max).min(n);
        Ok(Eigenpairs {
            values: order[..k].iter().map(|&i| e.eigenvalues[i]).collect(),
            vectors: DMatrix::from_fn(n, k, |r, c| e.eigenvectors[(r, order[c])]),
            hvps: n,
            converged: true,
        })
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
    /// Whether every pair reached the tolerance.
    pub converged: bool,
}

//! Curvature tracking during training (docs/training.md "Tracking", docs/theory.md §3):
//! the top-k **largest algebraic** eigenpairs of `H(w_t)` — or of the effective Hessian
//! `P^{-1/2} H P^{-1/2}` of an adaptive optimizer — by `gdscope-curvature`'s
//! [`EigenTracker`] (block LOBPCG warm-started from the previous eigenvectors, adaptive k:
//! k grows while the k-th eigenvalue exceeds `adaptive_fraction ×` the threshold), and
//! Hutchinson trace estimates of the same operator.

use gdscope_core::Objective;
use gdscope_curvature::{hutchinson, AdaptiveK, EigOptions, EigenTracker, HessianOperator};
use serde::{Deserialize, Serialize};

use crate::config::TrackingConfig;

/// One eigen-measurement.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Eigenvalues, descending.
    pub values: Vec<f64>,
    /// Largest relative residual `‖Hv − λv‖ / max(1, |λ|)` among the returned pairs.
    pub max_residual: f64,
    /// Hessian-vector products spent (including adaptive-k re-solves).
    pub hvps: usize,
    /// LOBPCG iterations (summed over re-solves).
    pub iterations: usize,
    /// Weight-space direction of the top eigenpair: the eigenvector `v` of `H`, or `P^{-1/2}v`
    /// (an eigenvector of `P⁻¹H`) for the effective Hessian; not normalized.
    pub top_vector: Vec<f64>,
}

/// Eigen-solver state carried across steps and checkpoints (options, current k and the
/// eigenvector cache, all inside the serializable [`EigenTracker`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurvatureTracker {
    tracker: EigenTracker,
    /// Total Hessian-vector products spent by all measurements.
    pub total_hvps: u64,
}

impl CurvatureTracker {
    /// A tracker with no cached vectors, configured from `[tracking]`.
    pub fn new(cfg: &TrackingConfig, seed: u64) -> anyhow::Result<Self> {
        let options = EigOptions {
            k: cfg.top_k,
            tol: cfg.tol,
            max_iters: cfg.max_iters,
            seed,
        };
        let k_max = if cfg.adaptive_k { cfg.max_k } else { cfg.top_k };
        let adaptive = AdaptiveK {
            fraction: cfg.adaptive_fraction,
            k_max,
        };
        Ok(Self {
            tracker: EigenTracker::new(options, adaptive)?,
            total_hvps: 0,
        })
    }

    /// Number of pairs the next measurement starts with.
    pub fn k(&self) -> usize {
        self.tracker.k()
    }

    /// Measures the top eigenpairs at `w` (effective Hessian when `precond` is given).
    /// `threshold` is the optimizer's stability threshold (it drives adaptive k).
    pub fn measure(
        &mut self,
        obj: &dyn Objective,
        w: &[f64],
        precond: Option<&[f64]>,
        threshold: f64,
    ) -> anyhow::Result<Measurement> {
        let mut op = HessianOperator::new(obj, w)?;
        if let Some(p) = precond {
            op = op.with_preconditioner(p)?;
        }
        let r = self.tracker.track(&op, threshold)?;
        self.total_hvps += r.hvps as u64;
        let mut top_vector: Vec<f64> = r.vectors.column(0).iter().copied().collect();
        if let Some(p) = precond {
            top_vector
                .iter_mut()
                .zip(p)
                .for_each(|(v, pi)| *v /= pi.sqrt());
        }
        Ok(Measurement {
            max_residual: r.residuals.iter().copied().fold(0.0, f64::max),
            top_vector,
            values: r.values,
            hvps: r.hvps,
            iterations: r.iterations,
        })
    }
}

/// Hutchinson estimate `(tr, standard error)` of `H(w)` (or `P^{-1/2}HP^{-1/2}`) from
/// `probes` Rademacher vectors.
pub fn trace_estimate(
    obj: &dyn Objective,
    w: &[f64],
    precond: Option<&[f64]>,
    probes: usize,
    seed: u64,
) -> anyhow::Result<(f64, f64)> {
    let mut op = HessianOperator::new(obj, w)?;
    if let Some(p) = precond {
        op = op.with_preconditioner(p)?;
    }
    let t = hutchinson(&op, probes, seed)?;
    Ok((t.value, t.std_error))
}

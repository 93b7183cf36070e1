//! Settings of the dynamics: what to measure and how often ([`TrackingConfig`], shared by
//! every process and overridable per process with [`TrackingOverride`]) and when a run
//! stops ([`StopConfig`]). Every section denies unknown fields, so a typo names the field.

use serde::{Deserialize, Serialize};

use crate::montecarlo::MonteCarlo;

/// Curvature tracking and diagnostics (the `[tracking]` section).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Measure the top eigenvalues every this many steps (0: never).
    pub every: u64,
    /// Number of top eigenvalues to track (the initial k when `adaptive_k`).
    pub top_k: usize,
    /// Grow k while the k-th eigenvalue is above `adaptive_fraction ×` the stability threshold.
    pub adaptive_k: bool,
    /// Fraction of the threshold used by `adaptive_k`.
    pub adaptive_fraction: f64,
    /// Upper bound on k.
    pub max_k: usize,
    /// Convergence tolerance on the relative residual `‖Hv − λv‖ / |λ|`.
    pub tol: f64,
    /// Iteration cap of one eigen-solve.
    pub max_iters: usize,
    /// For adaptive optimizers (Adam, AdamW, RMSProp, scalar RMSProp): track the
    /// preconditioned Hessian `P^{-1/2} H P^{-1/2}` (compared with the optimizer's threshold)
    /// instead of `H`.
    pub effective_hessian: bool,
    /// Hutchinson trace estimate every this many steps (0: never).
    pub trace_every: u64,
    /// Rademacher probes per trace estimate.
    pub trace_probes: usize,
    /// Record `⟨w_t − w_{t0}, u_{t0}⟩`.
    pub projection: bool,
    /// Step `t0` of the projection; absent: the first measurement where the sharpness reaches
    /// 0.95 × threshold.
    pub projection_step: Option<u64>,
    /// Full-batch train loss/accuracy and test metrics every this many steps (0: never).
    pub eval_every: u64,
    /// Curvature along the step (batch sharpness and its relatives) of the `discrete`
    /// process (`[tracking.step_curvature]`).
    pub step_curvature: StepCurvatureConfig,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            every: 20,
            top_k: 2,
            adaptive_k: false,
            adaptive_fraction: 0.75,
            max_k: 10,
            tol: 1e-6,
            max_iters: 100,
            effective_hessian: true,
            trace_every: 0,
            trace_probes: 16,
            projection: true,
            projection_step: None,
            eval_every: 20,
            step_curvature: StepCurvatureConfig::default(),
        }
    }
}

impl TrackingConfig {
    /// Checks the settings; messages name fields as `{section}.field`.
    pub fn validate(&self, section: &str) -> anyhow::Result<()> {
        if self.every > 0 {
            anyhow::ensure!(self.top_k >= 1, "{section}.top_k must be at least 1");
            anyhow::ensure!(
                self.max_k >= self.top_k,
                "{section}.max_k ({}) must be at least {section}.top_k ({})",
                self.max_k,
                self.top_k
            );
            anyhow::ensure!(
                self.tol > 0.0 && self.tol < 1.0,
                "{section}.tol must lie in (0, 1), got {}",
                self.tol
            );
            anyhow::ensure!(
                self.max_iters >= 1,
                "{section}.max_iters must be at least 1"
            );
        }
        anyhow::ensure!(
            self.adaptive_fraction > 0.0 && self.adaptive_fraction <= 1.0,
            "{section}.adaptive_fraction must lie in (0, 1], got {}",
            self.adaptive_fraction
        );
        if let Some(s) = self.projection_step {
            anyhow::ensure!(
                self.every > 0 && s % self.every == 0,
                "{section}.projection_step = {s} must be a step where the eigenvectors are \
                 measured (a multiple of {section}.every = {})",
                self.every
            );
        }
        if self.trace_every > 0 {
            anyhow::ensure!(
                self.trace_probes >= 2,
                "{section}.trace_probes must be at least 2 (for a standard error)"
            );
        }
        self.step_curvature
            .validate(&format!("{section}.step_curvature"))
    }

    /// Largest number of eigenvalues a measurement can return (`max_k` when `adaptive_k`).
    pub fn k_cap(&self) -> usize {
        if self.adaptive_k {
            self.max_k
        } else {
            self.top_k
        }
    }
}

/// Curvature along the step the optimizer takes (docs/curvature.md "Curvature along the
/// step"): each measurement has its own frequency (0: off, the default) and runs on the
/// `discrete` process. Monte Carlo estimates over fresh random batches of `batch_size`
/// examples stop adaptively ([`MonteCarlo`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StepCurvatureConfig {
    /// Batch sharpness `E_B[g_BᵀH_Bg_B/‖g_B‖²]` and its ratio of means, every this many steps.
    pub batch_sharpness_every: u64,
    /// Gradient–noise interaction `E_B[g_BᵀHg_B]/‖g‖²`.
    pub gni_every: u64,
    /// Generalized batch sharpness `E_B[s_BᵀH_Bs_B]/(−E_B[s_Bᵀg_B])` of the optimizer's own
    /// step from its frozen state (edge 2 for every optimizer).
    pub generalized_every: u64,
    /// Directional sharpness of the executed update (and its preconditioned Rayleigh form).
    pub directional_every: u64,
    /// Realized edge `ζ = 1 + ΔL/(η gᵀu)` of the update (free in full batch).
    pub realized_edge_every: u64,
    /// Critical sharpness `2/η_c` by a line search with forward passes only.
    pub critical_every: u64,
    /// Mean-square stability `λmax(E_B[(I − ηH_B)²])`.
    pub mean_square_every: u64,
    /// Examples per Monte Carlo batch; 0: the run's `batch_size` (full batch: the whole set,
    /// so the expectations are exact single evaluations).
    pub batch_size: usize,
    /// Stopping rule of the Monte Carlo estimates.
    pub monte_carlo: MonteCarlo,
    /// Critical sharpness: bisect until `1 − η_lo/η_hi < critical_tol`.
    pub critical_tol: f64,
    /// Mean-square stability: batches of the pilot operator whose top eigenvector is used.
    pub mean_square_pilot_batches: usize,
}

impl Default for StepCurvatureConfig {
    fn default() -> Self {
        Self {
            batch_sharpness_every: 0,
            gni_every: 0,
            generalized_every: 0,
            directional_every: 0,
            realized_edge_every: 0,
            critical_every: 0,
            mean_square_every: 0,
            batch_size: 0,
            monte_carlo: MonteCarlo::default(),
            critical_tol: 1.0 / 16.0,
            mean_square_pilot_batches: 4,
        }
    }
}

impl StepCurvatureConfig {
    /// Checks the settings; messages name fields as `{section}.field`.
    pub fn validate(&self, section: &str) -> anyhow::Result<()> {
        self.monte_carlo
            .validate(&format!("{section}.monte_carlo"))?;
        anyhow::ensure!(
            self.critical_tol > 0.0 && self.critical_tol < 1.0,
            "{section}.critical_tol must lie in (0, 1), got {}",
            self.critical_tol
        );
        anyhow::ensure!(
            self.mean_square_pilot_batches >= 1,
            "{section}.mean_square_pilot_batches must be at least 1"
        );
        Ok(())
    }
}

/// Per-process overrides of [`TrackingConfig`] (`[process.<name>.tracking]`): every field
/// that is set replaces the shared one for that process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingOverride {
    /// Overrides `tracking.every`.
    pub every: Option<u64>,
    /// Overrides `tracking.top_k`.
    pub top_k: Option<usize>,
    /// Overrides `tracking.adaptive_k`.
    pub adaptive_k: Option<bool>,
    /// Overrides `tracking.max_k`.
    pub max_k: Option<usize>,
    /// Overrides `tracking.tol`.
    pub tol: Option<f64>,
    /// Overrides `tracking.max_iters`.
    pub max_iters: Option<usize>,
    /// Overrides `tracking.trace_every`.
    pub trace_every: Option<u64>,
    /// Overrides `tracking.eval_every`.
    pub eval_every: Option<u64>,
    /// Overrides `tracking.projection`.
    pub projection: Option<bool>,
}

impl TrackingOverride {
    /// The shared settings with these overrides applied.
    pub fn apply(&self, shared: &TrackingConfig) -> TrackingConfig {
        let mut t = shared.clone();
        let set = |slot: &mut u64, v: Option<u64>| *slot = v.unwrap_or(*slot);
        set(&mut t.every, self.every);
        set(&mut t.trace_every, self.trace_every);
        set(&mut t.eval_every, self.eval_every);
        t.top_k = self.top_k.unwrap_or(t.top_k);
        t.max_k = self.max_k.unwrap_or(t.max_k);
        t.max_iters = self.max_iters.unwrap_or(t.max_iters);
        t.adaptive_k = self.adaptive_k.unwrap_or(t.adaptive_k);
        t.projection = self.projection.unwrap_or(t.projection);
        t.tol = self.tol.unwrap_or(t.tol);
        t
    }
}

/// When a run ends early (the `[stop]` section). The rules look at the primary process
/// (`discrete` when it runs, else the first process).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopConfig {
    /// Stop once the (full-batch) training loss is at or below this value.
    pub loss_below: Option<f64>,
    /// Stop once the training accuracy (measured every `tracking.eval_every` steps) is at or
    /// above this value, in [0, 1].
    pub accuracy_above: Option<f64>,
    /// Declare divergence when the loss exceeds `divergence_factor ×` |the initial loss| (a
    /// non-finite loss, gradient or weight always counts as divergence).
    pub divergence_factor: f64,
}

impl Default for StopConfig {
    fn default() -> Self {
        Self {
            loss_below: None,
            accuracy_above: None,
            divergence_factor: 1e4,
        }
    }
}

impl StopConfig {
    /// Checks the settings; messages name the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.divergence_factor > 1.0,
            "stop.divergence_factor must be greater than 1, got {}",
            self.divergence_factor
        );
        if let Some(a) = self.accuracy_above {
            anyhow::ensure!(
                (0.0..=1.0).contains(&a),
                "stop.accuracy_above must lie in [0, 1], got {a}"
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_set() {
        let shared = TrackingConfig::default();
        let o = TrackingOverride {
            every: Some(5),
            tol: Some(1e-9),
            ..TrackingOverride::default()
        };
        let t = o.apply(&shared);
        assert_eq!((t.every, t.tol, t.top_k), (5, 1e-9, shared.top_k));
        assert_eq!(TrackingOverride::default().apply(&shared), shared);
        let bad = TrackingOverride {
            top_k: Some(20),
            ..TrackingOverride::default()
        }
        .apply(&shared);
        let e = bad
            .validate("process.stable.tracking")
            .unwrap_err()
            .to_string();
        assert!(e.contains("process.stable.tracking.max_k"), "{e}");
    }
}

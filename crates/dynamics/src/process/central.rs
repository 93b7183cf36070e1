//! `central`: the optimizer's central flow (docs/theory.md §5, docs/central-flows.md), from
//! the same weights and optimizer state as the optimizer, in step units: gradient flow (or
//! the rule's stable flow) plus the implicit curvature penalty `½∇⟨Σ, H⟩`, the oscillation
//! covariance `Σ = U_c X U_cᵀ` fixed by the SDCP so that no effective eigenvalue rises above
//! 2. Each step is `gdscope_flows::central_step`: `nsubsteps` forward-Euler substeps (the
//! reference discretization), effective eigenpairs freshly converged at every substep by the
//! process's own warm-started tracker, one derivatives call per substep (loss, gradient,
//! `H U_c`, pair vectors), gdscope's own SDCP solver.
//!
//! The flow state is primed with the starting gradient, as the stable flow's (its buffers at
//! time `t` are those in effect during step `t` of the optimizer). Full batch always.
//!
//! **Records.** The loss and gradient of the first substep (`central.loss`,
//! `central.grad_norm`); the eigenvalues of the first substep become the process's
//! eigen-measurement of the step (so `central.sharpness`, `central.eig_1…` cost nothing extra
//! and are recorded every step, in the units of the optimizer's threshold: effective value
//! `/η(t)`); and the process metrics [`Central::METRICS`]: the predicted loss `L + tr X`, the
//! predicted squared gradient norm, the number of critical eigenvalues, `tr Σ`, the
//! eigenvalues of the substep-averaged `X` (`sigma_1…`, effective units), and the SDCP's
//! largest KKT residual, iterations and unconverged solves.
//!
//! **Stopping.** A step that fails (no central flow exists: an eigenvalue above 2 that no
//! curvature penalty can lower; non-finite values) halts the process for good, with the
//! reason in the run summary; its columns are `NaN` from there.

use gdscope_core::{Block, Objective};
use gdscope_flows::sdcp::SdcpOptions;
use gdscope_flows::{
    central_step, CentralCache, CentralSettings as FlowSettings, CentralStep, EigenSettings,
    FlowState,
};
use nalgebra::DMatrix;
use serde::{Deserialize, Serialize};

use super::{scratch, Core, Process, ProcessKind, Settings, Start, StepContext};
use crate::config::{TrackingConfig, TrackingOverride};
use crate::tracker::{Measurement, StateKind};
use crate::Timings;

/// Most tracked eigenpairs (the SDCP is solved for at most this many).
pub const MAX_K: usize = 10;

/// `[process.central]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CentralSettings {
    /// Overrides of the shared `[tracking]` settings for this process: `trace_every`,
    /// `eval_every` and `projection` only (its eigenpairs come from the flow, every step).
    pub tracking: TrackingOverride,
    /// Forward-Euler substeps per step (`dt = 1/nsubsteps`). Default 4, as the references.
    pub nsubsteps: usize,
    /// Effective eigenvalues above this are critical (enter the SDCP). Default 1.95.
    pub sdcp_threshold: f64,
    /// The tracked set grows while its smallest effective eigenvalue is above this.
    /// Default 1.5.
    pub track_threshold: f64,
    /// Most tracked eigenpairs (1 to 10). Default 10.
    pub k_max: usize,
    /// Relative residual tolerance of the eigenpairs. Default `1e-9`.
    pub eig_tol: f64,
    /// LOBPCG iteration cap per eigen-solve. Default 500.
    pub eig_max_iters: usize,
    /// Target largest relative KKT residual of each SDCP solve. Default `1e-12`.
    pub sdcp_tol: f64,
    /// Interior-point iteration cap per SDCP solve. Default 100.
    pub sdcp_max_iters: usize,
    /// Predict the time averages of the network outputs on this many test examples (training
    /// examples when there is no test set): columns `output_j` for every process, the central
    /// flow's being its prediction `f(w) + ½⟨U_cᵀ∇²f U_c, X⟩`. Default 0.
    pub outputs: usize,
    /// RMSProp: parameter indices at which `ν` of every process is recorded (`nu[i]`);
    /// empty: 4 evenly spaced indices. Default empty.
    pub nu_coordinates: Vec<usize>,
    /// σ (in steps) of the Gaussian smoothing of the optimizer's curves in the central-flow
    /// figures and the summary's comparisons (not used by the dynamics). Default 10.
    pub smoothing: f64,
}

impl Default for CentralSettings {
    fn default() -> Self {
        let flow = FlowSettings::default();
        Self {
            tracking: TrackingOverride::default(),
            nsubsteps: flow.nsubsteps,
            sdcp_threshold: flow.sdcp_threshold,
            track_threshold: flow.track_threshold,
            k_max: flow.eigen.k_max,
            eig_tol: flow.eigen.tol,
            eig_max_iters: flow.eigen.max_iters,
            sdcp_tol: flow.sdcp.tol,
            sdcp_max_iters: flow.sdcp.max_iters,
            outputs: 0,
            nu_coordinates: Vec::new(),
            smoothing: 10.0,
        }
    }
}

impl CentralSettings {
    /// The flow's settings, its eigen-solver seeded by `seed`.
    pub fn flow(&self, seed: u64) -> FlowSettings {
        FlowSettings {
            nsubsteps: self.nsubsteps,
            sdcp_threshold: self.sdcp_threshold,
            track_threshold: self.track_threshold,
            eigen: EigenSettings {
                tol: self.eig_tol,
                max_iters: self.eig_max_iters,
                initial_k: 1,
                k_max: self.k_max,
                seed,
            },
            sdcp: SdcpOptions {
                tol: self.sdcp_tol,
                max_iters: self.sdcp_max_iters,
            },
        }
    }

    /// The `nu[i]` coordinates for `n` parameters: the configured ones, or 4 evenly spaced.
    pub fn nu_coordinates(&self, n: usize) -> Vec<usize> {
        if self.nu_coordinates.is_empty() {
            let m = n.min(4);
            (0..m).map(|j| ((2 * j + 1) * n) / (2 * m)).collect()
        } else {
            self.nu_coordinates.clone()
        }
    }
}

impl Settings for CentralSettings {
    fn tracking(&self) -> &TrackingOverride {
        &self.tracking
    }

    /// The flow measures its eigenpairs at every substep: they are recorded every step, as
    /// many as it tracks, at its own tolerance.
    fn resolve(&self, shared: &TrackingConfig) -> TrackingConfig {
        let mut t = self.tracking.apply(shared);
        t.every = 1;
        t.top_k = 1;
        t.adaptive_k = true;
        t.max_k = self.k_max;
        t.tol = self.eig_tol;
        t.max_iters = self.eig_max_iters;
        t.effective_hessian = true;
        t
    }
}

/// The central flow of the optimizer; see the module docs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Central {
    core: Core,
    flow: FlowSettings,
    cache: CentralCache,
    halted: Option<String>,
    #[serde(skip)]
    scratch: Scratch,
}

/// The prepared step (not checkpointed).
#[derive(Debug, Clone, Default)]
struct Scratch {
    next: Option<FlowState>,
    report: Option<CentralStep>,
    update: Vec<f64>,
    /// Eigenvalues of the substep-averaged `X`, descending.
    sigma: Vec<f64>,
    /// `P₀ U₀ Q` (`Q` the eigenvectors of `X̄`, columns matching `sigma`).
    projector: Block,
}

/// Names of the process metrics: fixed ones, then `sigma_1 … sigma_{MAX_K}`.
const METRIC_NAMES: [&str; 7 + MAX_K] = [
    "predicted_loss",
    "predicted_grad_norm_sq",
    "critical_k",
    "sigma_trace",
    "sdcp_residual",
    "sdcp_iterations",
    "sdcp_not_converged",
    "sigma_1",
    "sigma_2",
    "sigma_3",
    "sigma_4",
    "sigma_5",
    "sigma_6",
    "sigma_7",
    "sigma_8",
    "sigma_9",
    "sigma_10",
];

impl ProcessKind for Central {
    type Settings = CentralSettings;

    const METRICS: &'static [&'static str] = &METRIC_NAMES;

    fn validate(settings: &CentralSettings, section: &str) -> anyhow::Result<()> {
        let t = &settings.tracking;
        for (set, field) in [
            (t.every.is_some(), "every"),
            (t.top_k.is_some(), "top_k"),
            (t.adaptive_k.is_some(), "adaptive_k"),
            (t.max_k.is_some(), "max_k"),
            (t.tol.is_some(), "tol"),
            (t.max_iters.is_some(), "max_iters"),
        ] {
            anyhow::ensure!(
                !set,
                "{section}.tracking.{field} cannot be set: the central flow measures its \
                 eigenpairs at every substep and records them every step; set \
                 {section}.k_max, {section}.eig_tol or {section}.eig_max_iters instead"
            );
        }
        let flow = settings.flow(0);
        flow.validate()
            .map_err(|e| anyhow::anyhow!("in [{section}]: {e}"))?;
        anyhow::ensure!(
            (1..=MAX_K).contains(&settings.k_max),
            "{section}.k_max = {} must lie in 1..={MAX_K}",
            settings.k_max
        );
        anyhow::ensure!(
            settings.eig_tol > 0.0 && settings.eig_tol < 1.0,
            "{section}.eig_tol = {} must lie in (0, 1)",
            settings.eig_tol
        );
        anyhow::ensure!(
            settings.eig_max_iters >= 1 && settings.sdcp_max_iters >= 1,
            "{section}.eig_max_iters and {section}.sdcp_max_iters must be at least 1"
        );
        anyhow::ensure!(
            settings.sdcp_tol > 0.0 && settings.sdcp_tol < 1.0,
            "{section}.sdcp_tol = {} must lie in (0, 1)",
            settings.sdcp_tol
        );
        anyhow::ensure!(
            settings.smoothing.is_finite() && settings.smoothing >= 0.0,
            "{section}.smoothing = {} must be a number of steps >= 0",
            settings.smoothing
        );
        Ok(())
    }

    fn build(settings: &CentralSettings, start: &Start<'_>) -> anyhow::Result<Self> {
        let obj = start.problem.objective;
        let n = start.w0.len();
        if let Some(&i) = settings.nu_coordinates.iter().find(|&&i| i >= n) {
            anyhow::bail!(
                "process.central.nu_coordinates lists parameter {i}, but the model has {n} \
                 parameters (indices 0..{n})"
            );
        }
        let state = FlowState::primed(obj, start.rule, start.w0).map_err(|e| {
            anyhow::anyhow!("process `central` follows the optimizer's central flow, but {e}")
        })?;
        let flow = settings.flow(start.eigen_seed);
        let cache = CentralCache::new(&flow)?;
        Ok(Self {
            core: Core::new(start, state.optimizer, &start.tracking)?,
            flow,
            cache,
            halted: None,
            scratch: Scratch::default(),
        })
    }
}

impl Central {
    /// The report of the prepared step (`None` once halted).
    pub fn report(&self) -> Option<&CentralStep> {
        self.scratch.report.as_ref()
    }

    /// The central flow's prediction `f(w) + ½⟨U_cᵀ∇²f U_c, X⟩` of the time average of the
    /// observable `f` along the optimizer, at the prepared step (`None` once halted).
    pub fn predict(&self, f: &dyn Objective) -> Option<f64> {
        let r = self.report()?;
        Some(gdscope_flows::predict_time_average(
            f,
            &self.core.w,
            &r.critical_basis(),
            &r.x_first,
        ))
    }

    /// Eigenvalues of the substep-averaged `X` (descending, effective units) and the matrix
    /// `M = P₀U₀Q` whose columns give the oscillation coordinates `Mᵀ(w − w_CF)` of a point `w`
    /// in `X̄`'s eigenbasis (`U₀`, `P₀` of the first substep, `Q` the eigenvectors of `X̄`).
    pub fn oscillation_frame(&self) -> Option<(&[f64], &Block)> {
        self.scratch
            .report
            .as_ref()
            .map(|_| (self.scratch.sigma.as_slice(), &self.scratch.projector))
    }

    /// Fills the sigma eigen-decomposition and the projector from the report.
    fn frame(report: &CentralStep, sigma: &mut Vec<f64>, projector: &mut Block) {
        let k0 = report.x_mean.nrows();
        let (values, vectors) = gdscope_core::linalg::symmetric_eigen(&report.x_mean);
        let mut order: Vec<usize> = (0..k0).collect();
        order.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
        sigma.clear();
        sigma.extend(order.iter().map(|&i| values[i]));
        let q = DMatrix::from_fn(k0, k0, |r, c| vectors[(r, order[c])]);
        let mut pu = report.basis.clone();
        for (mut col, _) in pu.column_iter_mut().zip(0..k0) {
            col.iter_mut()
                .zip(&report.preconditioner)
                .for_each(|(u, p)| *u *= p);
        }
        *projector = pu * q;
    }

    /// The tracker measurement of the step: the first substep's effective eigenvalues in the
    /// units of the optimizer's threshold (`/η(t)`), as the other processes record theirs.
    fn measurement(report: &CentralStep, lr: f64) -> Measurement {
        Measurement {
            values: report.eigenvalues.iter().map(|l| l / lr).collect(),
            max_residual: report.eigen_residual,
            hvps: report.eigen_hvps,
            iterations: report.eigen_iterations,
            top_vector: report.basis.column(0).iter().copied().collect(),
        }
    }
}

impl Process for Central {
    fn prepare(&mut self, ctx: &StepContext<'_>, timings: &mut Timings) -> anyhow::Result<()> {
        let s = &mut self.scratch;
        s.report = None;
        self.core.loss = f64::NAN;
        if self.halted.is_some() {
            return Ok(());
        }
        let clock = std::time::Instant::now();
        let c = &mut self.core;
        let next = s.next.get_or_insert_with(|| FlowState {
            w: Vec::new(),
            optimizer: c.state.clone(),
        });
        next.w.clone_from(&c.w);
        next.optimizer.clone_from(&c.state);
        let outcome = ctx
            .rule
            .flow()
            .map_err(|e| e.to_string())
            .and_then(|flow| {
                central_step(ctx.problem.objective, flow, next, &self.flow, &mut self.cache)
                    .map_err(|e| e.to_string())
            });
        timings.flow_s += clock.elapsed().as_secs_f64();
        match outcome {
            Ok(report) => {
                timings.central.add(&report.times);
                c.loss = report.loss;
                c.grad.clone_from(&report.grad);
                let update = scratch(&mut s.update, c.w.len());
                for ((u, a), b) in update.iter_mut().zip(&next.w).zip(&c.w) {
                    *u = a - b;
                }
                let lr = ctx.rule.lr_at(c.state.t);
                c.curvature
                    .remember(ctx.step, Self::measurement(&report, lr));
                Self::frame(&report, &mut s.sigma, &mut s.projector);
                s.report = Some(report);
            }
            Err(reason) => {
                self.halted = Some(format!(
                    "the central flow stopped at step {}: {reason}",
                    ctx.step
                ));
            }
        }
        Ok(())
    }

    fn commit(&mut self) {
        if self.halted.is_some() {
            return;
        }
        if let Some(next) = &mut self.scratch.next {
            std::mem::swap(&mut self.core.w, &mut next.w);
            std::mem::swap(&mut self.core.state, &mut next.optimizer);
        }
    }

    super::core_in_field!();

    fn update(&self) -> Option<&[f64]> {
        Some(&self.scratch.update)
    }

    fn kind(&self) -> StateKind {
        StateKind::Flow
    }

    fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    fn metrics(&self, out: &mut Vec<f64>) {
        out.clear();
        let Some(r) = &self.scratch.report else {
            return;
        };
        out.extend([
            r.predicted_loss(),
            r.predicted_grad_norm_sq(),
            r.critical_k as f64,
            r.sigma_trace(),
            r.sdcp.max_residual,
            r.sdcp.iterations as f64,
            r.sdcp.not_converged as f64,
        ]);
        out.extend(self.scratch.sigma.iter().take(MAX_K));
    }
}

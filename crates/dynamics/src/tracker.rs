//! Curvature tracking of one process (docs/training.md "Tracking", docs/theory.md §3):
//! the top-k **largest algebraic** eigenpairs of `H(w)` — or of the effective Hessian
//! `P^{-1/2} H P^{-1/2}` of an adaptive optimizer — by `gdscope-curvature`'s
//! [`EigenTracker`] (block LOBPCG warm-started from the previous eigenvectors, adaptive k:
//! k grows while the k-th eigenvalue exceeds `adaptive_fraction ×` the threshold), and
//! Hutchinson trace estimates of the same operator. Every process owns a [`Curvature`]:
//! its own eigenvector cache, its own k and its own settings.

use gdscope_core::optimizer::{Rule, RuleState};
use gdscope_core::rules::Preconditioning;
use gdscope_core::{Objective, Values};
use gdscope_curvature::{hutchinson, AdaptiveK, EigOptions, EigenTracker, HessianOperator};
use serde::{Deserialize, Serialize};

use crate::config::TrackingConfig;
use crate::precision::State;

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
            k: cfg.top_k.max(1),
            tol: cfg.tol,
            max_iters: cfg.max_iters,
            seed,
        };
        let k_max = cfg.k_cap().max(1);
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

    /// The first cached eigenvector (of the measured symmetric operator), if any.
    pub fn top_cached_vector(&self) -> Option<Vec<f64>> {
        self.tracker
            .cached_vectors()
            .map(|b| b.column(0).iter().copied().collect())
    }

    /// Measures the top eigenpairs at `w` (effective Hessian when `precond` is given), the
    /// point in its run's precision (an `f32` point goes to the objective as it is).
    /// `threshold` is the optimizer's stability threshold (it drives adaptive k).
    pub fn measure(
        &mut self,
        obj: &dyn Objective,
        w: Values<'_>,
        precond: Option<&[f64]>,
        threshold: f64,
    ) -> anyhow::Result<Measurement> {
        let mut op = HessianOperator::new_at(obj, w)?;
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

/// The curvature of one process: its tracker (checkpointed with the process) and the
/// measurement of the current step (shared by every observer that asks within a step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curvature {
    tracker: CurvatureTracker,
    effective_hessian: bool,
    #[serde(skip)]
    memo: Option<(u64, Measurement)>,
    #[serde(skip)]
    precond: Vec<f64>,
}

/// The operator of [`Curvature::operator`], its preconditioner written into `buffer`.
pub(crate) fn operator_for<'a>(
    effective_hessian: bool,
    rule: &Rule,
    state: &RuleState,
    kind: StateKind,
    buffer: &'a mut Vec<f64>,
) -> Operator<'a> {
    if !effective_hessian && kind == StateKind::Discrete {
        return Operator::Hessian;
    }
    match (rule.tracking_preconditioner(state, buffer), kind) {
        (Preconditioning::Identity, _) => Operator::Hessian,
        (Preconditioning::Diagonal, StateKind::Discrete) => Operator::Preconditioned(buffer),
        (Preconditioning::NotYet, StateKind::Discrete) => Operator::NotYet,
        (_, StateKind::Flow) => {
            // The flow's own P(s) (flow units) times η(t): the tracked operator's scale.
            buffer.resize(state.dim, 0.0);
            let flow = rule.flow().expect("a flow state belongs to a flow rule");
            match flow.preconditioner(state.t, &state.buffers, buffer) {
                Ok(()) => {
                    let lr = rule.lr_at(state.t);
                    buffer.iter_mut().for_each(|p| *p *= lr);
                    Operator::Preconditioned(buffer)
                }
                Err(_) => Operator::NotYet,
            }
        }
    }
}

/// Whether a state is a discrete optimizer state or the state of a flow (already primed
/// with the starting gradient, so its buffers are in effect from time 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateKind {
    /// The optimizer's own state: adaptive buffers are defined after the first step.
    Discrete,
    /// A flow state: `P(s)` is defined whenever it is invertible.
    Flow,
}

/// The operator a process's curvature is measured on at a state.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Operator<'a> {
    /// The Hessian `H`.
    Hessian,
    /// `P^{-1/2} H P^{-1/2}` with this diagonal `P`.
    Preconditioned(&'a [f64]),
    /// Not measurable yet (an adaptive optimizer before its first step).
    NotYet,
}

impl<'a> Operator<'a> {
    /// The preconditioner, if any.
    pub fn preconditioner(self) -> Option<&'a [f64]> {
        match self {
            Operator::Preconditioned(p) => Some(p),
            Operator::Hessian | Operator::NotYet => None,
        }
    }
}

impl Curvature {
    /// A tracker configured by `cfg`, its random starts seeded by `seed`.
    pub fn new(cfg: &TrackingConfig, seed: u64) -> anyhow::Result<Self> {
        Ok(Self {
            tracker: CurvatureTracker::new(cfg, seed)?,
            effective_hessian: cfg.effective_hessian,
            memo: None,
            precond: Vec::new(),
        })
    }

    /// The operator to measure for `rule` at `state`: the rule's tracking preconditioner
    /// when `effective_hessian` is on (always for flows: their step sizes need it).
    pub fn operator(&mut self, rule: &Rule, state: &RuleState, kind: StateKind) -> Operator<'_> {
        operator_for(self.effective_hessian, rule, state, kind, &mut self.precond)
    }

    /// The top eigenpairs at `point` for step `step` (solved once per step; later calls in
    /// the same step return the same measurement). `None` when not measurable yet. The
    /// point and the state are in the process's precision; the state is widened only when
    /// the measured operator needs its buffers (a preconditioner).
    pub fn measure(
        &mut self,
        step: u64,
        obj: &dyn Objective,
        rule: &Rule,
        point: Values<'_>,
        state: State<'_>,
        kind: StateKind,
    ) -> anyhow::Result<Option<&Measurement>> {
        if self.measured(step).is_none() {
            let threshold = rule.threshold_at(state.t());
            let op = if !self.effective_hessian && kind == StateKind::Discrete {
                Operator::Hessian
            } else {
                operator_for(
                    self.effective_hessian,
                    rule,
                    state.f64(),
                    kind,
                    &mut self.precond,
                )
            };
            let p = match op {
                Operator::NotYet => return Ok(None),
                op => op.preconditioner(),
            };
            let m = self.tracker.measure(obj, point, p, threshold)?;
            self.memo = Some((step, m));
        }
        Ok(self.measured(step))
    }

    /// Records `m` as the measurement of step `step` (a process that computes its
    /// eigenpairs itself, as the central flow does at every substep, hands them to the
    /// observers this way instead of a second solve).
    pub fn remember(&mut self, step: u64, m: Measurement) {
        self.memo = Some((step, m));
    }

    /// The measurement of step `step`, if one was made.
    pub fn measured(&self, step: u64) -> Option<&Measurement> {
        self.memo
            .as_ref()
            .filter(|(s, _)| *s == step)
            .map(|(_, m)| m)
    }

    /// The tracker's top cached eigenvector (of the symmetric operator), if any.
    pub fn top_cached_vector(&self) -> Option<Vec<f64>> {
        self.tracker.top_cached_vector()
    }

    /// Hessian-vector products spent by every measurement so far.
    pub fn total_hvps(&self) -> u64 {
        self.tracker.total_hvps
    }
}

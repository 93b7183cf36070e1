//! The iteration loop, written once: a [`GradientSource`] gives `f(x_k)` and a gradient
//! (full batch or a minibatch chosen by the source), an [`Optimizer`] turns it into an
//! update, and pluggable [`Observer`]s see every step and may stop the run.
//!
//! Step `k` evaluates at `x_k` (`x_0` is the start), so a run of `max_steps` updates shows
//! the observers `max_steps + 1` points `x_0 … x_K`; the last one has no update.
//! Divergence never panics: a non-finite value, gradient or iterate, `‖x_k‖ > max_norm`
//! or `|f(x_k)| > max_abs_value` ends the run with [`RunStatus::Diverged`].

use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::linalg::norm;
use crate::optimizer::{Optimizer, OptimizerError};
use crate::Objective;

/// What an observer sees at step `k`.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo<'a> {
    /// Step index `k` (0 at the start point).
    pub step: usize,
    /// The iterate `x_k`.
    pub x: &'a [f64],
    /// `f(x_k)` as returned by the gradient source (a minibatch loss for minibatch sources).
    pub value: f64,
    /// The gradient used at this step.
    pub grad: &'a [f64],
    /// `Δx_k = x_{k+1} − x_k`; `None` at the last point of a run (no update applied).
    pub update: Option<&'a [f64]>,
}

/// Why an observer stopped a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StopReason {
    /// The observer's convergence criterion holds.
    Converged {
        /// Human-readable criterion, e.g. `‖x_k − x*‖ ≤ 1e-10`.
        detail: String,
    },
    /// Any other request to stop (time budget, target loss, …).
    Requested {
        /// Human-readable reason.
        detail: String,
    },
}

/// Why a run was declared divergent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Divergence {
    /// `f(x_k)` is NaN or infinite.
    NonFiniteValue,
    /// A gradient entry is NaN or infinite.
    NonFiniteGradient,
    /// An iterate entry is NaN or infinite (for example after a non-finite update).
    NonFiniteIterate,
    /// `‖x_k‖` exceeded [`RunConfig::max_norm`].
    NormBlowUp {
        /// `‖x_k‖`
        norm: f64,
    },
    /// `|f(x_k)|` exceeded [`RunConfig::max_abs_value`].
    ValueBlowUp {
        /// `f(x_k)`
        value: f64,
    },
}

impl std::fmt::Display for Divergence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NonFiniteValue => write!(f, "f(x) is not finite"),
            Self::NonFiniteGradient => write!(f, "the gradient is not finite"),
            Self::NonFiniteIterate => write!(f, "the iterate is not finite"),
            Self::NormBlowUp { norm } => {
                write!(f, "‖x‖ = {norm:.3e} exceeded the divergence bound")
            }
            Self::ValueBlowUp { value } => {
                write!(f, "|f(x)| = {value:.3e} exceeded the divergence bound")
            }
        }
    }
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RunStatus {
    /// All `max_steps` updates were applied.
    MaxSteps {
        /// Number of updates applied.
        steps: usize,
    },
    /// An observer stopped the run at `step` (no update applied at that step).
    Stopped {
        /// Step at which the observer returned `Break`.
        step: usize,
        /// The observer's reason.
        reason: StopReason,
    },
    /// The run diverged at `step` (observers did not see that point).
    Diverged {
        /// First step whose point failed the divergence checks.
        step: usize,
        /// What failed.
        reason: Divergence,
    },
}

/// Loop limits. Divergence bounds are absolute and generous on purpose: they only catch
/// blow-ups (a finite run that wanders far is still reported as finite).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunConfig {
    /// Number of updates to apply at most.
    pub max_steps: usize,
    /// Divergence when `‖x_k‖₂` exceeds this (default `1e8`).
    pub max_norm: f64,
    /// Divergence when `|f(x_k)|` exceeds this (default `1e30`).
    pub max_abs_value: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            max_steps: 1000,
            max_norm: 1e8,
            max_abs_value: 1e30,
        }
    }
}

/// Something that sees every step and may stop the run.
pub trait Observer {
    /// Called once per point `x_k`; `Break` ends the run with [`RunStatus::Stopped`].
    fn observe(&mut self, s: &StepInfo<'_>) -> ControlFlow<StopReason>;
}

impl<F: FnMut(&StepInfo<'_>) -> ControlFlow<StopReason>> Observer for F {
    fn observe(&mut self, s: &StepInfo<'_>) -> ControlFlow<StopReason> {
        self(s)
    }
}

/// Supplies `f` and a gradient at step `k` (full batch, or a minibatch the source picks
/// from `step`, e.g. with its own seeded sampler).
pub trait GradientSource {
    /// Writes the gradient used at step `step` into `grad` and returns the matching value.
    fn value_grad(&mut self, step: usize, x: &[f64], grad: &mut [f64]) -> f64;
}

impl<F: FnMut(usize, &[f64], &mut [f64]) -> f64> GradientSource for F {
    fn value_grad(&mut self, step: usize, x: &[f64], grad: &mut [f64]) -> f64 {
        self(step, x, grad)
    }
}

/// Full-batch gradient of an [`Objective`].
pub struct FullBatch<'a, O: Objective + ?Sized>(pub &'a O);

impl<O: Objective + ?Sized> GradientSource for FullBatch<'_, O> {
    fn value_grad(&mut self, _step: usize, x: &[f64], grad: &mut [f64]) -> f64 {
        self.0.value_grad(x, grad)
    }
}

/// Result of [`run`].
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    /// How the run ended.
    pub status: RunStatus,
    /// The last iterate (for a divergent run: the offending one).
    pub x: Vec<f64>,
}

/// Runs `optimizer` from `x0` with gradients from `source`, showing every point to every
/// observer in order. Errors only for inconsistent inputs (an optimizer state of another
/// length); divergence is a [`RunStatus`], not an error.
pub fn run(
    x0: &[f64],
    source: &mut dyn GradientSource,
    optimizer: &mut Optimizer,
    config: &RunConfig,
    observers: &mut [&mut dyn Observer],
) -> Result<RunOutcome, OptimizerError> {
    let n = x0.len();
    let mut x = x0.to_vec();
    let mut next = vec![0.0; n];
    let mut grad = vec![0.0; n];
    for step in 0..=config.max_steps {
        grad.fill(0.0);
        let value = source.value_grad(step, &x, &mut grad);
        if let Some(reason) = divergence(&x, value, &grad, config) {
            return Ok(RunOutcome {
                status: RunStatus::Diverged { step, reason },
                x,
            });
        }
        let update = if step < config.max_steps {
            next.copy_from_slice(&x);
            Some(optimizer.step(&grad, &mut next)?)
        } else {
            None
        };
        let info = StepInfo {
            step,
            x: &x,
            value,
            grad: &grad,
            update,
        };
        for obs in observers.iter_mut() {
            if let ControlFlow::Break(reason) = obs.observe(&info) {
                return Ok(RunOutcome {
                    status: RunStatus::Stopped { step, reason },
                    x,
                });
            }
        }
        if step < config.max_steps {
            std::mem::swap(&mut x, &mut next);
        }
    }
    Ok(RunOutcome {
        status: RunStatus::MaxSteps {
            steps: config.max_steps,
        },
        x,
    })
}

/// The divergence checks of [`run`], in order: iterate, value, gradient, norm, value bound.
fn divergence(x: &[f64], value: f64, grad: &[f64], config: &RunConfig) -> Option<Divergence> {
    if !x.iter().all(|v| v.is_finite()) {
        return Some(Divergence::NonFiniteIterate);
    }
    if !value.is_finite() {
        return Some(Divergence::NonFiniteValue);
    }
    if !grad.iter().all(|v| v.is_finite()) {
        return Some(Divergence::NonFiniteGradient);
    }
    let nx = norm(x);
    if nx > config.max_norm {
        return Some(Divergence::NormBlowUp { norm: nx });
    }
    if value.abs() > config.max_abs_value {
        return Some(Divergence::ValueBlowUp { value });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objective::DenseQuadratic;
    use crate::optimizer::OptimizerConfig;
    use nalgebra::DMatrix;

    fn quad(l1: f64, l2: f64) -> DenseQuadratic {
        DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::DVector::from_vec(vec![
            l1, l2,
        ])))
    }

    #[test]
    fn observers_see_every_point_and_updates_match() {
        let q = quad(1.0, 4.0);
        let mut opt = Optimizer::new(OptimizerConfig::gd(0.1)).unwrap();
        let mut seen: Vec<(usize, Vec<f64>, Option<Vec<f64>>)> = Vec::new();
        let mut rec = |s: &StepInfo<'_>| {
            seen.push((s.step, s.x.to_vec(), s.update.map(<[f64]>::to_vec)));
            ControlFlow::Continue(())
        };
        let cfg = RunConfig {
            max_steps: 3,
            ..RunConfig::default()
        };
        let out = run(
            &[1.0, 1.0],
            &mut FullBatch(&q),
            &mut opt,
            &cfg,
            &mut [&mut rec],
        )
        .unwrap();
        assert_eq!(out.status, RunStatus::MaxSteps { steps: 3 });
        assert_eq!(seen.len(), 4);
        // x_k = (0.9^k, 0.6^k); Δx_k = x_{k+1} − x_k.
        for (k, x, u) in &seen {
            let e = [0.9f64.powi(*k as i32), 0.6f64.powi(*k as i32)];
            assert!((x[0] - e[0]).abs() < 1e-15 && (x[1] - e[1]).abs() < 1e-15);
            match u {
                Some(u) => {
                    assert!((u[0] + 0.1 * e[0]).abs() < 1e-15 && (u[1] + 0.4 * e[1]).abs() < 1e-15)
                }
                None => assert_eq!(*k, 3),
            }
        }
        assert!((out.x[0] - 0.729).abs() < 1e-15);
    }

    #[test]
    fn observer_stops_the_run() {
        let q = quad(1.0, 1.0);
        let mut opt = Optimizer::new(OptimizerConfig::gd(0.5)).unwrap();
        let mut stop = |s: &StepInfo<'_>| {
            if norm(s.x) < 1e-3 {
                ControlFlow::Break(StopReason::Converged {
                    detail: "‖x‖ < 1e-3".into(),
                })
            } else {
                ControlFlow::Continue(())
            }
        };
        let out = run(
            &[1.0, 0.0],
            &mut FullBatch(&q),
            &mut opt,
            &RunConfig::default(),
            &mut [&mut stop],
        )
        .unwrap();
        // x_k = 2^{-k}: first below 1e-3 at k = 10.
        assert!(matches!(out.status, RunStatus::Stopped { step: 10, .. }));
    }

    #[test]
    fn divergence_is_recorded_not_panicked() {
        // η λ = 2.2 > 2: |x_k| = 1.2^k passes 1e8 after 102 steps.
        let q = quad(1.0, 22.0);
        let mut opt = Optimizer::new(OptimizerConfig::gd(0.1)).unwrap();
        let cfg = RunConfig {
            max_steps: 10_000,
            ..RunConfig::default()
        };
        let out = run(&[0.0, 1.0], &mut FullBatch(&q), &mut opt, &cfg, &mut []).unwrap();
        match out.status {
            RunStatus::Diverged {
                step,
                reason: Divergence::NormBlowUp { norm },
            } => {
                assert_eq!(step, 102);
                assert!(norm > 1e8);
            }
            other => panic!("expected a norm blow-up, got {other:?}"),
        }
        // A NaN-producing source is caught too.
        let mut nan = |_k: usize, _x: &[f64], g: &mut [f64]| {
            g.fill(f64::NAN);
            0.0
        };
        let out = run(
            &[1.0],
            &mut nan,
            &mut opt.clone(),
            &RunConfig::default(),
            &mut [],
        )
        .unwrap();
        assert_eq!(
            out.status,
            RunStatus::Diverged {
                step: 0,
                reason: Divergence::NonFiniteGradient
            }
        );
    }

    #[test]
    fn minibatch_source_gets_the_step_index() {
        let mut steps_seen = Vec::new();
        let mut src = |k: usize, x: &[f64], g: &mut [f64]| {
            steps_seen.push(k);
            g[0] = x[0];
            0.5 * x[0] * x[0]
        };
        let mut opt = Optimizer::new(OptimizerConfig::gd(0.5)).unwrap();
        let cfg = RunConfig {
            max_steps: 2,
            ..RunConfig::default()
        };
        run(&[1.0], &mut src, &mut opt, &cfg, &mut []).unwrap();
        assert_eq!(steps_seen, vec![0, 1, 2]);
    }
}

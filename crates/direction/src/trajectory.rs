//! GD from `x0` and what it shows about the convergence direction (`docs/theory.md` §2).
//!
//! The run uses the shared loop (`gdscope_core::run`) with one recording observer. It
//! stops at the first step with `‖x_k − x*‖ ≤ floor = read_floor·max(1, ‖x*‖)`: below that
//! floor `x_k − x*` is dominated by rounding. The direction is read at the last step `r`
//! above the floor ("as late as rounding allows"):
//! - observed mode: **fixed** when `e_r·e_{r−1} > 0` (`e_k = x_k − x*`), **alternating**
//!   when `< 0`;
//! - observed direction: `v_r` (fixed) or `(−1)^r v_r` (alternating), `k` counted from
//!   `x0` as step 0.
//!
//! Along the way it records, per step: `x_k`, `f(x_k)`, `‖e_k‖`, the sharpness
//! `λn(x_k)` (largest Hessian eigenvalue, dense), the cosine of consecutive updates
//! `cos⟨Δx_k, Δx_{k−1}⟩` and the angle between the line of `e_k` and the predicted
//! eigenvector.

use std::ops::ControlFlow;

use gdscope_core::linalg::{cosine, dot, norm};
use gdscope_core::optimizer::{Optimizer, OptimizerConfig};
use gdscope_core::run::{run, FullBatch, Observer, RunConfig, RunStatus, StepInfo, StopReason};
use gdscope_core::Objective;
use serde::Serialize;

use crate::minimum::finite_eigen;
use crate::{DirectionError, MinimumReport, Tolerances};

/// How the GD run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrajectoryStatus {
    /// Reached the rounding floor around `x*`.
    Converged,
    /// Non-finite values or a blow-up (see `gdscope_core::run::RunConfig`).
    Diverged,
    /// Ran all steps without reaching the floor.
    MaxSteps,
}

/// Observed behaviour of `v_k` near the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// `v_k` keeps its direction.
    Fixed,
    /// `v_k` flips every step.
    Alternating,
}

impl TrajectoryStatus {
    /// Every status.
    pub const ALL: [TrajectoryStatus; 3] = [Self::Converged, Self::Diverged, Self::MaxSteps];

    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Converged => "converged",
            Self::Diverged => "diverged",
            Self::MaxSteps => "max_steps",
        }
    }
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 2] = [Self::Fixed, Self::Alternating];

    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Alternating => "alternating",
        }
    }
}

impl SharpnessPattern {
    /// Every pattern.
    pub const ALL: [SharpnessPattern; 6] = [
        Self::Constant,
        Self::MonotoneFromAbove,
        Self::MonotoneFromBelow,
        Self::Alternating,
        Self::Mixed,
        Self::Undetermined,
    ];

    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::MonotoneFromAbove => "monotone_from_above",
            Self::MonotoneFromBelow => "monotone_from_below",
            Self::Alternating => "alternating",
            Self::Mixed => "mixed",
            Self::Undetermined => "undetermined",
        }
    }
}

crate::display_as_str!(TrajectoryStatus, Mode, SharpnessPattern);

/// Shape of the sharpness path `λn(x_k)` around `λn(x*)` over the second half of the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SharpnessPattern {
    /// Equal to `λn(x*)` within rounding (a quadratic).
    Constant,
    /// Decreasing towards `λn(x*)` from above, never crossing.
    MonotoneFromAbove,
    /// Increasing towards `λn(x*)` from below, never crossing.
    MonotoneFromBelow,
    /// Crossing `λn(x*)` at (at least 90% of) every step.
    Alternating,
    /// None of the above.
    Mixed,
    /// Too few points to tell.
    Undetermined,
}

/// Per-step series (index = step `k`, from 0).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Series {
    /// Iterates `x_k`.
    pub x: Vec<Vec<f64>>,
    /// `f(x_k)`.
    pub value: Vec<f64>,
    /// `‖x_k − x*‖`.
    pub distance: Vec<f64>,
    /// `λn(x_k)`.
    pub sharpness: Vec<f64>,
    /// `cos⟨Δx_k, Δx_{k−1}⟩` (`None` at k = 0, at the last point, or for a zero update).
    pub cos_updates: Vec<Option<f64>>,
    /// Angle in degrees between the line of `x_k − x*` and the predicted eigenvector.
    pub angle_deg: Vec<Option<f64>>,
}

/// Everything observed along one GD trajectory.
#[derive(Debug, Clone, Serialize)]
pub struct Observation {
    /// How the run ended.
    pub status: TrajectoryStatus,
    /// Why it diverged, when it did.
    pub divergence: Option<String>,
    /// Updates applied.
    pub steps: usize,
    /// `‖x_last − x*‖` at the last finite point.
    pub final_distance: f64,
    /// Step `r` at which the direction was read.
    pub read_at_step: Option<usize>,
    /// Observed mode at step `r`.
    pub mode: Option<Mode>,
    /// `v_r` or `(−1)^r v_r` according to the mode.
    pub direction: Option<Vec<f64>>,
    /// Last cosine of consecutive updates at or before step `r`.
    pub cosine_last: Option<f64>,
    /// Largest sharpness along the path.
    pub sharpness_max: f64,
    /// Step of the largest sharpness.
    pub sharpness_max_step: usize,
    /// Sharpness at the last recorded point.
    pub sharpness_final: f64,
    /// Number of steps with sharpness above `2/η`.
    pub steps_above_two_over_lr: usize,
    /// Shape of the sharpness path.
    pub sharpness_pattern: SharpnessPattern,
    /// The recorded series.
    pub series: Series,
}

/// Angle in degrees between the line spanned by `e` and the unit vector `q`, computed as
/// `atan2(‖e − (e·q)q‖, |e·q|)` (accurate for small angles, unlike `acos`).
pub fn line_angle_deg(e: &[f64], q: &[f64]) -> Option<f64> {
    let c = dot(e, q);
    let perp: Vec<f64> = e.iter().zip(q).map(|(a, b)| a - c * b).collect();
    let ne = norm(e);
    (ne > 0.0 && ne.is_finite()).then(|| norm(&perp).atan2(c.abs()).to_degrees())
}

struct Recorder<'a> {
    obj: &'a dyn Objective,
    x_star: &'a [f64],
    predicted: Option<&'a [f64]>,
    floor: f64,
    series: Series,
    last_update: Option<Vec<f64>>,
}

impl Observer for Recorder<'_> {
    fn observe(&mut self, s: &StepInfo<'_>) -> ControlFlow<StopReason> {
        let e: Vec<f64> = s.x.iter().zip(self.x_star).map(|(a, b)| a - b).collect();
        let d = norm(&e);
        let sharp = sharpness(self.obj, s.x);
        let cos = match (&self.last_update, s.update) {
            (Some(prev), Some(cur)) => cosine(cur, prev),
            _ => None,
        };
        self.last_update = s.update.map(<[f64]>::to_vec);
        let series = &mut self.series;
        series.x.push(s.x.to_vec());
        series.value.push(s.value);
        series.distance.push(d);
        series.sharpness.push(sharp);
        series.cos_updates.push(cos);
        series
            .angle_deg
            .push(self.predicted.and_then(|q| line_angle_deg(&e, q)));
        if d <= self.floor {
            ControlFlow::Break(StopReason::Converged {
                detail: format!("‖x_k − x*‖ = {d:.3e} ≤ {:.1e}", self.floor),
            })
        } else {
            ControlFlow::Continue(())
        }
    }
}

/// `λn(x)`, the largest Hessian eigenvalue; NaN where the Hessian is not finite.
fn sharpness(obj: &dyn Objective, x: &[f64]) -> f64 {
    finite_eigen(obj, x)
        .and_then(|e| e.values.last().copied())
        .unwrap_or(f64::NAN)
}

/// Runs GD (`x_{k+1} = x_k − η∇f(x_k)`) from `x0` for at most `max_steps` updates and
/// reads the convergence direction (see the module documentation). `predicted` is the
/// unit eigenvector the angle series is measured against, if any.
pub fn trace(
    obj: &dyn Objective,
    min: &MinimumReport,
    x0: &[f64],
    lr: f64,
    max_steps: usize,
    predicted: Option<&[f64]>,
    tol: &Tolerances,
) -> Result<Observation, DirectionError> {
    if x0.len() != obj.dim() {
        return Err(DirectionError::Dimension {
            what: "x0",
            got: x0.len(),
            expected: obj.dim(),
        });
    }
    let mut opt = Optimizer::new(OptimizerConfig::gd(lr))?;
    let floor = tol.read_floor * norm(&min.x).max(1.0);
    let mut rec = Recorder {
        obj,
        x_star: &min.x,
        predicted,
        floor,
        series: Series::default(),
        last_update: None,
    };
    let cfg = RunConfig {
        max_steps,
        ..RunConfig::default()
    };
    let outcome = run(x0, &mut FullBatch(obj), &mut opt, &cfg, &mut [&mut rec])?;
    let series = rec.series;
    let (status, steps, divergence) = match outcome.status {
        RunStatus::Stopped { step, .. } => (TrajectoryStatus::Converged, step, None),
        RunStatus::MaxSteps { steps } => (TrajectoryStatus::MaxSteps, steps, None),
        RunStatus::Diverged { step, reason } => {
            (TrajectoryStatus::Diverged, step, Some(reason.to_string()))
        }
    };
    let read = if status == TrajectoryStatus::Diverged {
        None
    } else {
        series
            .distance
            .iter()
            .rposition(|&d| d > floor)
            .filter(|&r| r >= 1)
    };
    let (mode, direction) = match read {
        Some(r) => read_direction(&series.x[r], &series.x[r - 1], &min.x, r),
        None => (None, None),
    };
    // Points up to the reading (all of them without one); empty when the start itself
    // diverged (the observers never saw a point).
    let upto = read.map_or(series.distance.len(), |r| r + 1);
    let cosine_last = series.cos_updates[..upto].iter().rev().find_map(|c| *c);
    let two_over_lr = 2.0 / lr;
    let (sharpness_max_step, sharpness_max) = series
        .sharpness
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, s)| !s.is_nan())
        .fold((0, f64::NAN), |best, (k, s)| {
            if best.1.is_nan() || s > best.1 {
                (k, s)
            } else {
                best
            }
        });
    let lambda_n = min.eigenvalues.last().copied().unwrap_or(f64::NAN);
    let final_distance = match series.distance.last() {
        Some(&d) => d,
        // Diverged at the start: the distance of x0 itself (possibly infinite).
        None => norm(
            &x0.iter()
                .zip(&min.x)
                .map(|(a, b)| a - b)
                .collect::<Vec<f64>>(),
        ),
    };
    Ok(Observation {
        status,
        divergence,
        steps,
        final_distance,
        read_at_step: read,
        mode,
        direction,
        cosine_last,
        sharpness_max,
        sharpness_max_step,
        sharpness_final: series.sharpness.last().copied().unwrap_or(f64::NAN),
        steps_above_two_over_lr: series
            .sharpness
            .iter()
            .filter(|&&s| s > two_over_lr)
            .count(),
        sharpness_pattern: sharpness_pattern(&series.sharpness[..upto], lambda_n),
        series,
    })
}

/// Mode and direction from `x_r`, `x_{r−1}` (see the module documentation).
fn read_direction(
    xr: &[f64],
    xr1: &[f64],
    x_star: &[f64],
    r: usize,
) -> (Option<Mode>, Option<Vec<f64>>) {
    let e: Vec<f64> = xr.iter().zip(x_star).map(|(a, b)| a - b).collect();
    let e1: Vec<f64> = xr1.iter().zip(x_star).map(|(a, b)| a - b).collect();
    let d = norm(&e);
    let s = dot(&e, &e1);
    if d == 0.0 || s == 0.0 || !s.is_finite() {
        return (None, None);
    }
    let mode = if s > 0.0 {
        Mode::Fixed
    } else {
        Mode::Alternating
    };
    let sign = if mode == Mode::Alternating && r % 2 == 1 {
        -1.0
    } else {
        1.0
    };
    (Some(mode), Some(e.iter().map(|v| sign * v / d).collect()))
}

/// Classifies `s_k − λn` over the second half of `sharpness` (see [`SharpnessPattern`]);
/// differences within `1e-12·max(1, |λn|)` count as zero.
pub fn sharpness_pattern(sharpness: &[f64], lambda_n: f64) -> SharpnessPattern {
    let tail = &sharpness[sharpness.len() / 2..];
    if tail.len() < 4 {
        return SharpnessPattern::Undetermined;
    }
    let eps = 1e-12 * lambda_n.abs().max(1.0);
    let deltas: Vec<f64> = tail.iter().map(|s| s - lambda_n).collect();
    if deltas.iter().all(|d| d.abs() <= eps) {
        return SharpnessPattern::Constant;
    }
    let pairs: Vec<(f64, f64)> = deltas
        .windows(2)
        .map(|w| (w[0], w[1]))
        .filter(|(a, b)| a.abs() > eps && b.abs() > eps)
        .collect();
    if pairs.len() < 3 {
        return SharpnessPattern::Undetermined;
    }
    let flips = pairs
        .iter()
        .filter(|(a, b)| a.signum() != b.signum())
        .count();
    let shrinking = pairs.iter().filter(|(a, b)| b.abs() <= a.abs()).count();
    let most = |count: usize| count * 10 >= pairs.len() * 9;
    if most(flips) {
        SharpnessPattern::Alternating
    } else if flips == 0 && most(shrinking) {
        if pairs[0].0 > 0.0 {
            SharpnessPattern::MonotoneFromAbove
        } else {
            SharpnessPattern::MonotoneFromBelow
        }
    } else {
        SharpnessPattern::Mixed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::minimum::examine_point;
    use crate::test_objectives::{Fig1, Fig2};

    #[test]
    fn names_match_the_json() {
        let json = |v: serde_json::Value| v.as_str().unwrap().to_string();
        for s in TrajectoryStatus::ALL {
            assert_eq!(json(serde_json::to_value(s).unwrap()), s.to_string());
        }
        for m in Mode::ALL {
            assert_eq!(json(serde_json::to_value(m).unwrap()), m.to_string());
        }
        for p in SharpnessPattern::ALL {
            assert_eq!(json(serde_json::to_value(p).unwrap()), p.to_string());
        }
    }

    #[test]
    fn line_angle_is_sign_agnostic_and_accurate() {
        let a = line_angle_deg(&[-1.0, 1e-9], &[1.0, 0.0]).unwrap();
        assert!((a - 1e-9f64.to_degrees()).abs() < 1e-20);
        assert_eq!(line_angle_deg(&[0.0, 0.0], &[1.0, 0.0]), None);
    }

    #[test]
    fn quadratic_reads_the_exact_direction_late() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig1, &[0.0, 0.0], &tol).unwrap();
        let obs = trace(
            &Fig1,
            &min,
            &[-0.3, 0.2],
            0.1,
            10_000,
            Some(&[1.0, 0.0]),
            &tol,
        )
        .unwrap();
        assert_eq!(obs.status, TrajectoryStatus::Converged);
        assert_eq!(obs.mode, Some(Mode::Fixed));
        let r = obs.read_at_step.unwrap();
        assert!(obs.series.distance[r] > 1e-10 && obs.series.distance[r + 1] <= 1e-10);
        let v = obs.direction.unwrap();
        assert!((v[0] + 1.0).abs() < 1e-12 && v[1].abs() < 1e-6, "{v:?}");
        assert_eq!(obs.sharpness_pattern, SharpnessPattern::Constant);
        assert!(obs.cosine_last.unwrap() > 0.999_999);
    }

    #[test]
    fn figure2_large_lr_alternates_and_sharpness_exceeds_two_over_lr() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        let obs = trace(
            &Fig2,
            &min,
            &[0.2, 0.2],
            0.95,
            10_000,
            Some(&[1.0, 0.0]),
            &tol,
        )
        .unwrap();
        assert_eq!(obs.status, TrajectoryStatus::Converged);
        assert_eq!(obs.mode, Some(Mode::Alternating));
        let v = obs.direction.unwrap();
        assert!(v[0].abs() > 1.0 - 1e-9, "{v:?}");
        assert_eq!(obs.sharpness_pattern, SharpnessPattern::Alternating);
        assert!(
            obs.sharpness_max > 2.0 / 0.95,
            "max sharpness {}",
            obs.sharpness_max
        );
        assert!(obs.steps_above_two_over_lr >= 1);
        assert!(obs.cosine_last.unwrap() < -0.999_999);
    }

    #[test]
    fn figure2_small_lr_sharpness_is_monotone() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        let obs = trace(
            &Fig2,
            &min,
            &[0.3, 0.2],
            0.1,
            10_000,
            Some(&[0.0, 1.0]),
            &tol,
        )
        .unwrap();
        assert_eq!(obs.mode, Some(Mode::Fixed));
        let v = obs.direction.unwrap();
        assert!(v[1].abs() > 1.0 - 1e-9, "{v:?}");
        assert!(matches!(
            obs.sharpness_pattern,
            SharpnessPattern::MonotoneFromAbove | SharpnessPattern::MonotoneFromBelow
        ));
        assert!((obs.sharpness_final - 2.0).abs() < 1e-8);
    }

    #[test]
    fn divergence_is_recorded() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig1, &[0.0, 0.0], &tol).unwrap();
        let obs = trace(&Fig1, &min, &[0.1, 0.1], 0.6, 10_000, None, &tol).unwrap();
        assert_eq!(obs.status, TrajectoryStatus::Diverged);
        assert!(obs.divergence.unwrap().contains("‖x‖"));
        assert_eq!(obs.read_at_step, None);
        assert!(trace(&Fig1, &min, &[0.1, 0.1], -1.0, 10, None, &tol).is_err());
    }

    #[test]
    fn divergence_at_the_start_is_a_result() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig2, &[0.0, 0.0], &tol).unwrap();
        // ‖x0‖ above the loop's bound, and f(x0) overflowing: no point is ever observed.
        for x0 in [[2e8, 0.0], [1e300, 0.1]] {
            let obs = trace(&Fig2, &min, &x0, 0.1, 100, None, &tol).unwrap();
            assert_eq!(obs.status, TrajectoryStatus::Diverged);
            assert_eq!((obs.steps, obs.read_at_step), (0, None));
            assert!(obs.series.value.is_empty());
            assert!(obs.final_distance >= 2e8, "{}", obs.final_distance);
            assert!(obs.sharpness_max.is_nan() && obs.cosine_last.is_none());
            assert_eq!(obs.sharpness_pattern, SharpnessPattern::Undetermined);
        }
    }
}

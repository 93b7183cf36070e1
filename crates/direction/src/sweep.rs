//! Predicted vs observed regime over a range of learning rates (one GD run per η, in
//! parallel), the table behind `gdscope sweep-lr`.
//!
//! The observed regime of a run is `diverged` (blow-up), `not_converged` (finite but not
//! at `x*` after the steps), or the mode read at the end (`fixed` / `alternating`, see
//! [`crate::trajectory`]).

use gdscope_core::Objective;
use rayon::prelude::*;
use serde::Serialize;

use crate::predict::Regime;
use crate::report::analyze_at;
use crate::trajectory::{Mode, TrajectoryStatus};
use crate::verdict::Verdict;
use crate::{DirectionError, MinimumReport, Tolerances};

/// What GD did at one learning rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservedRegime {
    /// Converged with a fixed direction.
    Fixed,
    /// Converged oscillating.
    Alternating,
    /// Blew up.
    Diverged,
    /// Neither converged to `x*` nor blew up, or no direction could be read.
    NotConverged,
}

impl ObservedRegime {
    /// Every observed regime.
    pub const ALL: [ObservedRegime; 4] = [
        Self::Fixed,
        Self::Alternating,
        Self::Diverged,
        Self::NotConverged,
    ];

    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Alternating => "alternating",
            Self::Diverged => "diverged",
            Self::NotConverged => "not_converged",
        }
    }
}

crate::display_as_str!(ObservedRegime);

/// One row of the sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// Learning rate η.
    pub lr: f64,
    /// Theorem 1's regime.
    pub predicted: Regime,
    /// What GD did.
    pub observed: ObservedRegime,
    /// Angle to the predicted eigenvector, degrees.
    pub angle_deg: Option<f64>,
    /// Step of the direction reading.
    pub read_at_step: Option<usize>,
    /// Last cosine of consecutive updates.
    pub cosine_last: Option<f64>,
    /// Largest sharpness on the path.
    pub sharpness_max: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// Why (see [`crate::verdict`]).
    pub verdict_reason: String,
}

/// `count` learning rates from `lo` to `hi` inclusive, evenly spaced (or geometrically
/// when `log`).
pub fn lr_grid(lo: f64, hi: f64, count: usize, log: bool) -> Result<Vec<f64>, DirectionError> {
    if !(lo.is_finite() && hi.is_finite() && lo > 0.0 && lo < hi) || count < 2 {
        return Err(DirectionError::Invalid {
            name: "learning-rate range",
            value: format!("{lo},{hi} with {count} values"),
            expected: "0 < lo < hi, finite, and at least 2 values",
        });
    }
    let t = |i: usize| i as f64 / (count - 1) as f64;
    Ok((0..count)
        .map(|i| {
            if log {
                lo * (hi / lo).powf(t(i))
            } else {
                lo + (hi - lo) * t(i)
            }
        })
        .collect())
}

/// Runs GD from `x0` at every η of `lrs` (in parallel) and tabulates the outcome, calling
/// `progress()` from the worker threads after each learning rate.
pub fn sweep(
    obj: &dyn Objective,
    min: &MinimumReport,
    x0: &[f64],
    lrs: &[f64],
    steps: usize,
    tol: &Tolerances,
    progress: &(dyn Fn() + Sync),
) -> Result<Vec<SweepRow>, DirectionError> {
    lrs.par_iter()
        .map(|&lr| {
            let r = analyze_at(obj, min, x0, lr, steps, tol)?;
            progress();
            let o = &r.observation;
            let converged = o.status == TrajectoryStatus::Converged
                || o.final_distance
                    <= tol.converged_rtol * gdscope_core::linalg::norm(&min.x).max(1.0);
            let observed = match (o.status, o.mode) {
                (TrajectoryStatus::Diverged, _) => ObservedRegime::Diverged,
                (_, Some(Mode::Fixed)) if converged => ObservedRegime::Fixed,
                (_, Some(Mode::Alternating)) if converged => ObservedRegime::Alternating,
                _ => ObservedRegime::NotConverged,
            };
            Ok(SweepRow {
                lr,
                predicted: r.prediction.regime,
                observed,
                angle_deg: r.angle_deg,
                read_at_step: o.read_at_step,
                cosine_last: o.cosine_last,
                sharpness_max: o.sharpness_max,
                verdict: r.verdict,
                verdict_reason: r.verdict_reason,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examine_point;
    use crate::test_objectives::Fig1Perturbed;

    #[test]
    fn sweep_crosses_both_thresholds_of_figure1() {
        let tol = Tolerances::default();
        let min = examine_point(&Fig1Perturbed, &[0.0, 0.0], &tol).unwrap();
        let lrs = lr_grid(0.03, 0.58, 12, false).unwrap();
        let rows = sweep(
            &Fig1Perturbed,
            &min,
            &[0.05, 0.04],
            &lrs,
            20_000,
            &tol,
            &|| {},
        )
        .unwrap();
        for row in &rows {
            let expected: &[ObservedRegime] = if row.lr < 0.4 {
                &[ObservedRegime::Fixed]
            } else if row.lr < 0.5 {
                &[ObservedRegime::Alternating]
            } else {
                // Unstable at x*: the cubic terms may carry GD far away or to infinity.
                &[ObservedRegime::Diverged, ObservedRegime::NotConverged]
            };
            assert!(
                expected.contains(&row.observed),
                "η = {}: {:?}",
                row.lr,
                row.observed
            );
            assert_eq!(row.verdict, Verdict::Agrees, "η = {}", row.lr);
        }
    }

    #[test]
    fn observed_names_match_the_json() {
        for o in ObservedRegime::ALL {
            assert_eq!(serde_json::to_value(o).unwrap(), o.as_str());
            assert_eq!(o.to_string(), o.as_str());
        }
    }

    #[test]
    fn lr_grid_checks_its_input() {
        let g = lr_grid(0.01, 1.0, 3, true).unwrap();
        assert!((g[1] - 0.1).abs() < 1e-15);
        assert!(lr_grid(0.0, 1.0, 3, true).is_err());
        assert!(lr_grid(0.5, 0.1, 3, false).is_err());
        assert!(lr_grid(0.1, 0.5, 1, false).is_err());
    }
}

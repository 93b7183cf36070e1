//! The verdict: does the observed trajectory do what Theorem 1 predicts, and if no verdict
//! can be given, why not (`docs/direction.md`, "Verdict").
//!
//! Rules, in order:
//! 1. `boundary` or `not_covered` prediction → `not_covered`;
//! 2. `x0 = x*` → `not_covered` (GD never moves; the theorem is about `x_k ≠ x*`);
//! 3. `unstable` → `agrees` when GD does not converge to `x*`, else `disagrees`;
//! 4. `fixed` / `alternating` and GD does not converge to `x*`: diverged → `not_covered`
//!    (x0 is outside the basin `V_η` the theorem assumes); ran out of steps while still
//!    approaching `x*` (the distance fell by more than 10% over the second half of the run)
//!    → `inconclusive` (more `--steps`); stalled elsewhere → `not_covered`;
//! 5. no direction could be read (the floor was reached within one step) → `inconclusive`;
//! 6. observed mode = predicted mode and line within `angle_tol_deg` → `agrees`;
//! 7. otherwise, when the *linearization* at `x*` itself still predicts an angle above
//!    `angle_tol_deg` at the reading step (the competing eigen-directions have not died out
//!    yet, typically for η near `2/(λ1+λn)` where `|1−ηλ1| ≈ |1−ηλn|`) → `inconclusive`: the
//!    reading came too early to test the limit; else `disagrees`.
//!
//! The linear angle (`docs/theory.md` §2): with `a_i = q_iᵀ(x0 − x*)` and `μ_i = 1 − ηλ_i`,
//! the linearized iterates are `e_r = Σ a_i μ_i^r q_i`, so the angle to the predicted `q_p`
//! is `atan(√(Σ_{i≠p} (a_i μ_i^r)²) / |a_p μ_p^r|)`, computed in logarithms (no underflow).

use gdscope_core::linalg::{dot, norm};
use serde::Serialize;

use crate::predict::{Prediction, Regime};
use crate::trajectory::{Mode, Observation, TrajectoryStatus};
use crate::{MinimumReport, Tolerances};

/// Outcome of comparing the observation with Theorem 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The trajectory does what the theorem predicts.
    Agrees,
    /// It does not, although the reading could have resolved the predicted limit.
    Disagrees,
    /// The run cannot decide (the reason says why and what to change).
    Inconclusive,
    /// The theorem says nothing here (see the reason).
    NotCovered,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 4] = [
        Self::Agrees,
        Self::Disagrees,
        Self::Inconclusive,
        Self::NotCovered,
    ];

    /// The snake_case name (as in JSON).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Agrees => "agrees",
            Self::Disagrees => "disagrees",
            Self::Inconclusive => "inconclusive",
            Self::NotCovered => "not_covered",
        }
    }
}

crate::display_as_str!(Verdict);

/// Everything the verdict looks at.
pub(crate) struct Evidence<'a> {
    pub min: &'a MinimumReport,
    pub prediction: &'a Prediction,
    pub observation: &'a Observation,
    pub x0: &'a [f64],
    pub lr: f64,
    /// Angle between the observed line and the predicted eigenvector, degrees.
    pub angle_deg: Option<f64>,
}

/// The verdict and its reason (rules in the module documentation).
pub(crate) fn judge(ev: &Evidence<'_>, tol: &Tolerances) -> (Verdict, String) {
    let (p, o) = (ev.prediction, ev.observation);
    let expected_mode = match p.regime {
        Regime::Boundary | Regime::NotCovered => {
            return (
                Verdict::NotCovered,
                format!("outside Theorem 1: {}", p.reason),
            );
        }
        Regime::Fixed => Some(Mode::Fixed),
        Regime::Alternating => Some(Mode::Alternating),
        Regime::Unstable => None,
    };
    let start_distance = distance(ev.x0, &ev.min.x);
    if start_distance == 0.0 {
        return (
            Verdict::NotCovered,
            "x0 = x*: GD does not move, so there is no direction to observe (Theorem 1 is about \
             trajectories with x_k ≠ x*); start elsewhere"
                .into(),
        );
    }
    let converges = o.status == TrajectoryStatus::Converged
        || (o.status == TrajectoryStatus::MaxSteps
            && o.final_distance <= tol.converged_rtol * norm(&ev.min.x).max(1.0));
    let Some(expected_mode) = expected_mode else {
        return if converges {
            (Verdict::Disagrees, "η > 2/λn but GD converged to x*".into())
        } else {
            (
                Verdict::Agrees,
                "η > 2/λn and GD does not converge to x*".into(),
            )
        };
    };
    if !converges {
        return not_converging(o);
    }
    let (Some(mode), Some(r), Some(angle)) = (o.mode, o.read_at_step, ev.angle_deg) else {
        return (
            Verdict::Inconclusive,
            format!(
                "no direction could be read: ‖x_k − x*‖ fell below the rounding floor within one \
                 step of x0 (‖x0 − x*‖ = {start_distance:.3e}); start farther from x*"
            ),
        );
    };
    if mode == expected_mode && angle <= tol.angle_tol_deg {
        return (
            Verdict::Agrees,
            format!("observed {mode} mode along the predicted eigenvector ({angle:.2e}° off)"),
        );
    }
    let observed = format!(
        "observed {mode} mode at {angle:.3}° from the predicted eigenvector at step {r}, \
         expected {expected_mode}"
    );
    let linear = p
        .eigen_index
        .and_then(|i| linear_angle_deg(ev.min, ev.x0, ev.lr, r, i));
    match linear {
        Some(lin) if lin <= tol.angle_tol_deg => (
            Verdict::Disagrees,
            format!(
                "{observed}; the linearization at x* predicts {lin:.2e}° by then, so the reading \
                 resolves the limit"
            ),
        ),
        _ => {
            let lin = linear.map_or_else(|| "an undefined angle".into(), |a| format!("{a:.3}°"));
            let ratio = competing_ratio(&ev.min.eigenvalues, ev.lr)
                .map(|q| {
                    format!(
                        " (competing directions shrink only by a factor {q:.4} per step relative \
                         to the predicted one; η is close to where two multipliers |1 − ηλ| are equal)"
                    )
                })
                .unwrap_or_default();
            (
                Verdict::Inconclusive,
                format!(
                    "{observed}; the reading came too early: even the linearization at x* still \
                     predicts {lin} at step {r}, above the {}° tolerance{ratio}. Theorem 1 is \
                     about the limit; a start with more of the predicted eigenvector, or an η \
                     farther from the thresholds, lets the reading resolve it",
                    tol.angle_tol_deg
                ),
            )
        }
    }
}

/// Rule 4: a fixed/alternating prediction and a run that did not converge to `x*`.
fn not_converging(o: &Observation) -> (Verdict, String) {
    let what = format!(
        "GD from x0 did not converge to x* within {} steps (status {}, final distance {:.3e})",
        o.steps, o.status, o.final_distance
    );
    if o.status == TrajectoryStatus::Diverged {
        let why = o.divergence.as_deref().unwrap_or("blow-up");
        return (
            Verdict::NotCovered,
            format!("{what}: it diverged ({why}), so x0 is outside the basin the theorem assumes"),
        );
    }
    let d = &o.series.distance;
    let halfway = d.get(d.len() / 2).copied().unwrap_or(f64::NAN);
    if o.final_distance < 0.9 * halfway {
        (
            Verdict::Inconclusive,
            format!(
                "{what}, but it was still approaching x* (distance {halfway:.3e} halfway): rerun \
                 with more --steps"
            ),
        )
    } else {
        (
            Verdict::NotCovered,
            format!(
                "{what} and stopped approaching it (distance {halfway:.3e} halfway): x0 is \
                 outside the basin the theorem assumes"
            ),
        )
    }
}

fn distance(a: &[f64], b: &[f64]) -> f64 {
    norm(&a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<f64>>())
}

/// Ratio of the second-largest to the largest multiplier `|μ_i| = |1 − ηλ_i|` at `x*`
/// (`docs/theory.md` §2: the per-step shrink factor of the direction error of a quadratic).
pub fn competing_ratio(eigenvalues: &[f64], lr: f64) -> Option<f64> {
    let mut mu: Vec<f64> = eigenvalues.iter().map(|l| (1.0 - lr * l).abs()).collect();
    mu.sort_by(|a, b| b.total_cmp(a));
    (mu.len() >= 2 && mu[0] > 0.0).then(|| mu[1] / mu[0])
}

/// The angle (degrees) between the linearized error `e_r = Σ a_i μ_i^r q_i` and the
/// eigenvector `q_p` (see the module documentation); 90° when `x0` has no component along
/// `q_p`, `None` when not defined (no component at all, or non-finite inputs).
pub fn linear_angle_deg(
    min: &MinimumReport,
    x0: &[f64],
    lr: f64,
    r: usize,
    p: usize,
) -> Option<f64> {
    let e0: Vec<f64> = x0.iter().zip(&min.x).map(|(a, b)| a - b).collect();
    // log|a_i μ_i^r| per eigen-direction (−∞ for a zero factor).
    let logs: Vec<f64> = min
        .eigenvectors
        .iter()
        .zip(&min.eigenvalues)
        .map(|(q, l)| dot(q, &e0).abs().ln() + r as f64 * (1.0 - lr * l).abs().ln())
        .collect();
    let lp = *logs.get(p)?;
    let others = logs
        .iter()
        .enumerate()
        .filter(|&(i, _)| i != p)
        .map(|(_, &l)| l);
    if lp == f64::NEG_INFINITY {
        return others
            .clone()
            .any(|l| l > f64::NEG_INFINITY)
            .then_some(90.0);
    }
    let tan2: f64 = others.map(|l| (2.0 * (l - lp)).exp()).sum();
    tan2.is_finite().then(|| tan2.sqrt().atan().to_degrees())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examine_point;
    use crate::test_objectives::Fig1;

    #[test]
    fn names_match_the_json() {
        for v in Verdict::ALL {
            assert_eq!(serde_json::to_value(v).unwrap(), v.as_str());
            assert_eq!(v.to_string(), v.as_str());
        }
    }

    #[test]
    fn linear_angle_of_a_diagonal_quadratic() {
        // Fig1: x²/2 + 2y², λ = 1, 4, q1 = (1, 0), q2 = (0, 1).
        let min = examine_point(&Fig1, &[0.0, 0.0], &Tolerances::default()).unwrap();
        // η = 0.1: μ = 0.9, 0.6; from (1, 1), after r steps tan θ = (0.6/0.9)^r.
        let a = linear_angle_deg(&min, &[1.0, 1.0], 0.1, 10, 0).unwrap();
        let want = (2.0f64 / 3.0).powi(10).atan().to_degrees();
        assert!((a - want).abs() < 1e-12, "{a} vs {want}");
        // No component along q1: the limit cannot be seen at all.
        assert_eq!(linear_angle_deg(&min, &[0.0, 1.0], 0.1, 10, 0), Some(90.0));
        // Deep underflow of both components is handled in logarithms.
        let far = linear_angle_deg(&min, &[1.0, 1.0], 0.1, 5000, 0).unwrap();
        assert!(far < 1e-12, "{far}");
        assert_eq!(linear_angle_deg(&min, &[0.0, 0.0], 0.1, 10, 0), None);
    }
}

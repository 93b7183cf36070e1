//! Theorem 1's prediction from the spectrum at `x*` and the learning rate
//! (`docs/theory.md` §2).
//!
//! With eigenvalues `λ1 ≤ … ≤ λn` of `∇²f(x*)`:
//! - `η < 2/(λ1+λn)`: **fixed** — `v_k = (x_k − x*)/‖x_k − x*‖ → ±q1`;
//! - `2/(λ1+λn) < η < 2/λn`: **alternating** — `(−1)^k v_k → ±qn`;
//! - `η > 2/λn`: **unstable** — GD cannot converge to `x*`.
//!
//! Checks, in order: `x*` must be a strict minimum (else **not_covered**); `η` above
//! `2/λn` is **unstable** whatever the rest of the spectrum; `η` within
//! [`Tolerances::boundary_rtol`] of `2/λn` or of `2/(λ1+λn)` is a **boundary** case; a
//! spectrum without the strict gaps `λ1 < λ2` and `λ_{n−1} < λn` (within
//! [`Tolerances::gap_rtol`]; this includes n = 1) is **not_covered**.

use serde::Serialize;

use crate::{MinimumReport, MinimumStatus, Tolerances};

/// The two learning-rate thresholds of Theorem 1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Thresholds {
    /// `2/(λ1+λn)`: fixed direction below, alternating above.
    pub fixed_below: f64,
    /// `2/λn`: linearly stable below.
    pub stable_below: f64,
}

impl Thresholds {
    /// Thresholds from ascending eigenvalues (non-finite when the spectrum is not positive).
    pub fn from_eigenvalues(eigenvalues: &[f64]) -> Self {
        let l1 = eigenvalues.first().copied().unwrap_or(f64::NAN);
        let ln = eigenvalues.last().copied().unwrap_or(f64::NAN);
        Self {
            fixed_below: 2.0 / (l1 + ln),
            stable_below: 2.0 / ln,
        }
    }
}

/// Predicted regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Regime {
    /// `lim v_k = ±q1`.
    Fixed,
    /// `lim (−1)^k v_k = ±qn`.
    Alternating,
    /// `η > 2/λn`: no convergence to `x*`.
    Unstable,
    /// `η` on a threshold (within tolerance): outside the theorem.
    Boundary,
    /// The theorem's hypotheses fail (see the reason).
    NotCovered,
}

impl Regime {
    /// The snake_case name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fixed => "fixed",
            Self::Alternating => "alternating",
            Self::Unstable => "unstable",
            Self::Boundary => "boundary",
            Self::NotCovered => "not_covered",
        }
    }
}

impl Regime {
    /// Every regime.
    pub const ALL: [Regime; 5] = [
        Self::Fixed,
        Self::Alternating,
        Self::Unstable,
        Self::Boundary,
        Self::NotCovered,
    ];
}

crate::display_as_str!(Regime);

/// The prediction for one `(f, x*, η)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prediction {
    /// Thresholds from the spectrum at `x*`.
    pub thresholds: Thresholds,
    /// Predicted regime.
    pub regime: Regime,
    /// Why (always filled, e.g. `η = 0.1 < 2/(λ1+λn) = 0.4`).
    pub reason: String,
    /// Index into the eigenpairs of the predicted limit line (0 for q1, n−1 for qn).
    pub eigen_index: Option<usize>,
}

/// Applies Theorem 1 (see the module documentation for the order of the checks).
pub fn predict(min: &MinimumReport, lr: f64, tol: &Tolerances) -> Prediction {
    let lambda = &min.eigenvalues;
    let n = lambda.len();
    let thresholds = Thresholds::from_eigenvalues(lambda);
    let make = |regime, reason: String, eigen_index| Prediction {
        thresholds,
        regime,
        reason,
        eigen_index,
    };
    if min.status != MinimumStatus::StrictMinimum {
        return make(Regime::NotCovered, min.explain(), None);
    }
    let (fixed, stable) = (thresholds.fixed_below, thresholds.stable_below);
    let near = |t: f64| (lr - t).abs() <= tol.boundary_rtol * t;
    if near(stable) {
        return make(
            Regime::Boundary,
            format!(
                "η = {lr} is at the stability threshold 2/λn = {stable} (relative tolerance {:e})",
                tol.boundary_rtol
            ),
            None,
        );
    }
    if lr > stable {
        return make(
            Regime::Unstable,
            format!("η = {lr} > 2/λn = {stable}: x* is linearly unstable"),
            None,
        );
    }
    let gap = tol.gap_rtol * min.scale();
    if n < 2 {
        return make(
            Regime::NotCovered,
            "one variable: λ1 = λn, the theorem needs λ1 < λn".into(),
            None,
        );
    }
    if lambda[1] - lambda[0] <= gap {
        return make(
            Regime::NotCovered,
            format!(
                "λ1 = λ2 (= {}): no strict gap at the bottom of the spectrum",
                lambda[0]
            ),
            None,
        );
    }
    if lambda[n - 1] - lambda[n - 2] <= gap {
        return make(
            Regime::NotCovered,
            format!(
                "λ(n−1) = λn (= {}): no strict gap at the top of the spectrum",
                lambda[n - 1]
            ),
            None,
        );
    }
    if near(fixed) {
        return make(
            Regime::Boundary,
            format!(
                "η = {lr} is at the threshold 2/(λ1+λn) = {fixed} (relative tolerance {:e})",
                tol.boundary_rtol
            ),
            None,
        );
    }
    if lr < fixed {
        make(
            Regime::Fixed,
            format!("η = {lr} < 2/(λ1+λn) = {fixed}: v_k → ±q1"),
            Some(0),
        )
    } else {
        make(
            Regime::Alternating,
            format!("2/(λ1+λn) = {fixed} < η = {lr} < 2/λn = {stable}: (−1)^k v_k → ±qn"),
            Some(n - 1),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_the_json() {
        for r in Regime::ALL {
            assert_eq!(serde_json::to_value(r).unwrap(), r.as_str());
            assert_eq!(r.to_string(), r.as_str());
        }
    }

    fn report(eigenvalues: Vec<f64>, status: MinimumStatus) -> MinimumReport {
        let n = eigenvalues.len();
        MinimumReport {
            x: vec![0.0; n],
            value: 0.0,
            grad_norm: 0.0,
            eigenvectors: (0..n)
                .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
                .collect(),
            eigenvalues,
            status,
            newton_iterations: None,
        }
    }

    #[test]
    fn paper_figure1_thresholds_and_regimes() {
        // f = x²/2 + 2y²: λ = 1, 4; thresholds 2/5 and 1/2.
        let r = report(vec![1.0, 4.0], MinimumStatus::StrictMinimum);
        let tol = Tolerances::default();
        let p = predict(&r, 0.1, &tol);
        assert_eq!(
            p.thresholds,
            Thresholds {
                fixed_below: 0.4,
                stable_below: 0.5
            }
        );
        assert_eq!((p.regime, p.eigen_index), (Regime::Fixed, Some(0)));
        let p = predict(&r, 0.42, &tol);
        assert_eq!((p.regime, p.eigen_index), (Regime::Alternating, Some(1)));
        assert_eq!(predict(&r, 0.6, &tol).regime, Regime::Unstable);
        assert_eq!(predict(&r, 0.4, &tol).regime, Regime::Boundary);
        assert_eq!(predict(&r, 0.5, &tol).regime, Regime::Boundary);
        assert_eq!(
            predict(&r, 0.4 * (1.0 + 1e-5), &tol).regime,
            Regime::Alternating
        );
    }

    #[test]
    fn paper_figure2_thresholds() {
        // f = x² + y²/2 + x²y + x³: λ = 1, 2; thresholds 2/3 and 1.
        let r = report(vec![1.0, 2.0], MinimumStatus::StrictMinimum);
        let p = predict(&r, 0.95, &Tolerances::default());
        assert!((p.thresholds.fixed_below - 2.0 / 3.0).abs() < 1e-16);
        assert_eq!(p.thresholds.stable_below, 1.0);
        assert_eq!(p.regime, Regime::Alternating);
    }

    #[test]
    fn hypotheses_that_fail_are_not_covered_with_a_reason() {
        let tol = Tolerances::default();
        let p = predict(
            &report(vec![1.0, 1.0, 3.0], MinimumStatus::StrictMinimum),
            0.1,
            &tol,
        );
        assert_eq!(p.regime, Regime::NotCovered);
        assert!(p.reason.contains("λ1 = λ2"), "{}", p.reason);
        let p = predict(
            &report(vec![1.0, 3.0, 3.0], MinimumStatus::StrictMinimum),
            0.1,
            &tol,
        );
        assert!(p.reason.contains("λ(n−1) = λn"), "{}", p.reason);
        let p = predict(
            &report(vec![0.0, 3.0], MinimumStatus::Degenerate),
            0.1,
            &tol,
        );
        assert_eq!(p.regime, Regime::NotCovered);
        assert!(p.reason.contains("not a strict minimum"));
        assert_eq!(
            predict(&report(vec![2.0], MinimumStatus::StrictMinimum), 0.1, &tol).regime,
            Regime::NotCovered
        );
        // Instability does not need the gaps.
        let p = predict(
            &report(vec![1.0, 1.0, 3.0], MinimumStatus::StrictMinimum),
            0.7,
            &tol,
        );
        assert_eq!(p.regime, Regime::Unstable);
    }
}

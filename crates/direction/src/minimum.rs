//! Locating the minimum `x*` and classifying it from the Hessian spectrum there.
//!
//! Damped (saddle-free) Newton: at `x` with `H = QΛQᵀ`, the step is
//! `p = −Q |Λ|_δ⁻¹ Qᵀ ∇f(x)` with `|λ|_δ = max(|λ|, δ)`, `δ = 1e-8·max(1, |λ|max)`, which is a
//! descent direction even where `H` is indefinite. A backtracking Armijo search on `f`
//! (`f(x+tp) ≤ f(x) + 1e-4·t·∇fᵀp`, t halved down to 2⁻³⁰) picks the step; once `f` can no
//! longer resolve the decrease (near `x*` its change is below rounding), a full step is
//! accepted when it reduces `‖∇f‖`. The iteration stops when the gradient vanishes, a step
//! no longer moves `x` (`‖Δx‖ ≤ 4ε·max(1, ‖x‖)`), or nothing reduces `f` or `‖∇f‖`.

use gdscope_core::linalg::{norm, sym_eigen, SymEigen};
use gdscope_core::Objective;
use serde::Serialize;

use crate::{DirectionError, Tolerances};

/// What kind of point `x*` is (tolerances: [`Tolerances::grad_rtol`], [`Tolerances::strict_rtol`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MinimumStatus {
    /// Critical point with `λ1 > 0` (beyond tolerance): an isolated local minimum.
    StrictMinimum,
    /// Critical point with `|λ1|` within tolerance of 0: not a strict minimum.
    Degenerate,
    /// Critical point with a negative eigenvalue.
    Saddle,
    /// The gradient does not vanish there.
    NotCritical,
}

impl MinimumStatus {
    /// A sentence for reports.
    pub fn describe(self) -> &'static str {
        match self {
            Self::StrictMinimum => "strict local minimum (λ1 > 0)",
            Self::Degenerate => "not a strict minimum: λ1 ≈ 0",
            Self::Saddle => "not a minimum: the Hessian has a negative eigenvalue",
            Self::NotCritical => "not a critical point: ∇f(x*) ≠ 0",
        }
    }
}

/// The point `x*` and everything the analysis needs to know about it.
#[derive(Debug, Clone, Serialize)]
pub struct MinimumReport {
    /// `x*`.
    pub x: Vec<f64>,
    /// `f(x*)`.
    pub value: f64,
    /// `‖∇f(x*)‖`.
    pub grad_norm: f64,
    /// Hessian eigenvalues at `x*`, ascending.
    pub eigenvalues: Vec<f64>,
    /// Orthonormal eigenvectors, `eigenvectors[i] ↔ eigenvalues[i]`, each with its
    /// largest-magnitude entry positive.
    pub eigenvectors: Vec<Vec<f64>>,
    /// Classification of the point.
    pub status: MinimumStatus,
    /// Newton iterations used (`None` when `x*` was given).
    pub newton_iterations: Option<usize>,
}

impl MinimumReport {
    /// Largest eigenvalue magnitude, at least 1 (the scale of the relative tolerances).
    pub fn scale(&self) -> f64 {
        self.eigenvalues.iter().fold(1.0_f64, |m, l| m.max(l.abs()))
    }

    /// What kind of point `x*` is, as a reason for reports. When a search from `x0` ended
    /// where the gradient does not vanish, it says so and what to do: the point is not a
    /// minimum gdscope chose, but where the search gave up (typically far away, because `f`
    /// has no minimum near `x0` or is unbounded below).
    pub fn explain(&self) -> String {
        match (self.status, self.newton_iterations) {
            (MinimumStatus::NotCritical, Some(steps)) => format!(
                "the search for a minimum from x0 found no critical point: it stopped after \
                 {steps} Newton steps at ‖x‖ = {:.1e} with ‖∇f‖ = {:.1e} (f may have no \
                 minimum near x0, or be unbounded below); give --minimum, or start nearer a \
                 minimum",
                norm(&self.x),
                self.grad_norm
            ),
            (status, _) => status.describe().to_string(),
        }
    }
}

/// Classifies a given point `x*` (no search): spectrum, gradient norm, status.
pub fn examine_point(
    obj: &dyn Objective,
    x: &[f64],
    tol: &Tolerances,
) -> Result<MinimumReport, DirectionError> {
    check_dim(obj, x, "minimum")?;
    let mut grad = vec![0.0; x.len()];
    let value = obj.value_grad(x, &mut grad);
    let eig =
        finite_eigen(obj, x).filter(|_| value.is_finite() && grad.iter().all(|v| v.is_finite()));
    let Some(eig) = eig else {
        return Err(DirectionError::Newton(format!(
            "f, its gradient or its Hessian is not finite at {x:?}"
        )));
    };
    let eigenvectors = (0..x.len())
        .map(|j| eig.vectors.column(j).iter().copied().collect())
        .collect();
    let mut report = MinimumReport {
        x: x.to_vec(),
        value,
        grad_norm: norm(&grad),
        eigenvalues: eig.values,
        eigenvectors,
        status: MinimumStatus::NotCritical,
        newton_iterations: None,
    };
    report.status = classify(&report, tol);
    Ok(report)
}

fn classify(r: &MinimumReport, tol: &Tolerances) -> MinimumStatus {
    let scale = r.scale();
    let lambda1 = r.eigenvalues.first().copied().unwrap_or(0.0);
    if r.grad_norm > tol.grad_rtol * scale * norm(&r.x).max(1.0) {
        MinimumStatus::NotCritical
    } else if lambda1 > tol.strict_rtol * scale {
        MinimumStatus::StrictMinimum
    } else if lambda1 >= -tol.strict_rtol * scale {
        MinimumStatus::Degenerate
    } else {
        MinimumStatus::Saddle
    }
}

fn check_dim(obj: &dyn Objective, x: &[f64], what: &'static str) -> Result<(), DirectionError> {
    if x.len() != obj.dim() {
        return Err(DirectionError::Dimension {
            what,
            got: x.len(),
            expected: obj.dim(),
        });
    }
    if let Some(v) = x.iter().find(|v| !v.is_finite()) {
        return Err(DirectionError::Invalid {
            name: what,
            value: v.to_string(),
            expected: "finite numbers",
        });
    }
    Ok(())
}

/// Maximum number of Newton iterations.
const MAX_NEWTON_ITERATIONS: usize = 200;

/// Damped Newton from `start` (see the module documentation), then [`examine_point`].
pub fn find_minimum(
    obj: &dyn Objective,
    start: &[f64],
    tol: &Tolerances,
) -> Result<MinimumReport, DirectionError> {
    check_dim(obj, start, "start point")?;
    let n = start.len();
    let mut x = start.to_vec();
    let mut grad = vec![0.0; n];
    let mut trial_grad = vec![0.0; n];
    let mut trial = vec![0.0; n];
    let mut iterations = 0;
    while iterations < MAX_NEWTON_ITERATIONS {
        let f = obj.value_grad(&x, &mut grad);
        let gnorm = norm(&grad);
        if !f.is_finite() || !gnorm.is_finite() {
            return Err(DirectionError::Newton(format!(
                "f or ∇f is not finite at {x:?} after {iterations} Newton steps"
            )));
        }
        if gnorm == 0.0 {
            break;
        }
        let p = newton_direction(obj, &x, &grad)?;
        let slope = gdscope_core::linalg::dot(&grad, &p);
        let mut accepted = false;
        let mut t = 1.0;
        while t > 2f64.powi(-30) {
            axpy(&x, t, &p, &mut trial);
            let ft = obj.value(&trial);
            if ft.is_finite() && ft <= f + 1e-4 * t * slope && ft < f {
                accepted = true;
                break;
            }
            t *= 0.5;
        }
        if !accepted {
            // Rounding regime: f cannot see the decrease; accept a full step that reduces ‖∇f‖.
            axpy(&x, 1.0, &p, &mut trial);
            obj.value_grad(&trial, &mut trial_grad);
            let reduced = norm(&trial_grad) < gnorm;
            if !reduced {
                break;
            }
            t = 1.0;
        }
        iterations += 1;
        let moved = t * norm(&p);
        std::mem::swap(&mut x, &mut trial);
        if moved <= 4.0 * f64::EPSILON * norm(&x).max(1.0) {
            break;
        }
    }
    let mut report = examine_point(obj, &x, tol)?;
    report.newton_iterations = Some(iterations);
    Ok(report)
}

/// `p = −Q |Λ|_δ⁻¹ Qᵀ g`.
fn newton_direction(
    obj: &dyn Objective,
    x: &[f64],
    grad: &[f64],
) -> Result<Vec<f64>, DirectionError> {
    let Some(eig) = finite_eigen(obj, x) else {
        return Err(DirectionError::Newton(format!(
            "the Hessian is not finite at {x:?}"
        )));
    };
    let delta = 1e-8 * eig.values.iter().fold(1.0_f64, |m, l| m.max(l.abs()));
    let g = nalgebra::DVector::from_column_slice(grad);
    let coeffs = eig.vectors.tr_mul(&g);
    let scaled = nalgebra::DVector::from_iterator(
        coeffs.len(),
        coeffs
            .iter()
            .zip(&eig.values)
            .map(|(c, l)| -c / l.abs().max(delta)),
    );
    Ok((&eig.vectors * scaled).iter().copied().collect())
}

/// The Hessian's eigen-decomposition at `x`, or `None` when the Hessian or its eigenvalues
/// are not finite (the dense solver is only meaningful, and only guaranteed to stop, on
/// finite matrices).
pub(crate) fn finite_eigen(obj: &dyn Objective, x: &[f64]) -> Option<SymEigen> {
    let h = obj.hessian(x);
    if !h.iter().all(|v| v.is_finite()) {
        return None;
    }
    let eig = sym_eigen(&h);
    eig.values.iter().all(|v| v.is_finite()).then_some(eig)
}

fn axpy(x: &[f64], t: f64, p: &[f64], out: &mut [f64]) {
    for ((o, a), b) in out.iter_mut().zip(x).zip(p) {
        *o = a + t * b;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_objectives::{Fig2, Shifted};

    #[test]
    fn newton_finds_the_paper_minimum_to_machine_precision() {
        let r = find_minimum(&Fig2, &[0.3, 0.2], &Tolerances::default()).unwrap();
        assert!(norm(&r.x) < 1e-15, "{:?}", r.x);
        assert_eq!(r.status, MinimumStatus::StrictMinimum);
        assert!((r.eigenvalues[0] - 1.0).abs() < 1e-14 && (r.eigenvalues[1] - 2.0).abs() < 1e-14);
        // q1 = (0, 1) (along y), q2 = (1, 0).
        assert!((r.eigenvectors[0][1] - 1.0).abs() < 1e-14);
        assert!((r.eigenvectors[1][0] - 1.0).abs() < 1e-14);
    }

    #[test]
    fn newton_on_a_shifted_minimum_and_saddle_detection() {
        let s = Shifted {
            center: vec![1.5, -2.0],
        };
        let r = find_minimum(&s, &[1.2, -1.7], &Tolerances::default()).unwrap();
        assert!(
            (r.x[0] - 1.5).abs() < 1e-14 && (r.x[1] + 2.0).abs() < 1e-14,
            "{:?}",
            r.x
        );
        // (2, −4) is a critical point of f = x² + y²/2 + x²y + x³ that is not a minimum.
        let saddle = examine_point(&Fig2, &[2.0, -4.0], &Tolerances::default()).unwrap();
        assert_eq!(saddle.status, MinimumStatus::Saddle);
        let off = examine_point(&Fig2, &[0.1, 0.0], &Tolerances::default()).unwrap();
        assert_eq!(off.status, MinimumStatus::NotCritical);
    }

    #[test]
    fn bad_inputs_are_errors() {
        assert!(matches!(
            find_minimum(&Fig2, &[0.0], &Tolerances::default()),
            Err(DirectionError::Dimension { .. })
        ));
        assert!(examine_point(&Fig2, &[f64::NAN, 0.0], &Tolerances::default()).is_err());
    }
}

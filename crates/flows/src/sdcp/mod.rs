//! The semidefinite complementarity problem of the central flow (docs/theory.md §5,
//! docs/central-flows.md "SDCP solver").
//!
//! Given a symmetric `k × k` matrix `α` and a positive semidefinite linear operator `β` on
//! symmetric `k × k` matrices (as its `svec` matrix `B`, see [`crate::svec`]), find
//!
//! ```text
//! X ⪰ 0,   Y = α + β[X] ⪰ 0,   ⟨X, Y⟩ = 0,
//! ```
//!
//! the KKT conditions of the convex program `min_{X ⪰ 0} ½⟨X, β[X]⟩ + ⟨α, X⟩`.
//!
//! **Method** ([`solve_sdcp`]). Exact shortcuts first: `α ⪰ 0` gives `X = 0`; `β = 0` with `α`
//! not PSD has no solution. Otherwise the problem is scaled to `‖α‖_F = ‖B‖_F = 1` and solved
//! by an infeasible primal–dual interior-point method (Nesterov–Todd scaling, Mehrotra
//! predictor–corrector; in the scaled variables the Newton matrix is `I + B̃` with every
//! eigenvalue `≥ 1` for any PSD `B`, so a rank-deficient `β` needs no special care, see
//! `ipm`) down to a duality measure of `1e-10`; then semismooth Newton steps on the natural
//! map `F(X) = X − Π₊(X − α − β[X])` polish the point to rounding level (see `polish`). When
//! the problem is not strictly complementary (some direction where both `X` and `Y` vanish)
//! the interior-point residuals only fall like `√μ`: the method then runs the interior-point
//! phase on to `μ = 1e-24`, polishes again, and finally tries `X = 0` and a Newton method on
//! the factorization `X = LLᵀ` at each plausible rank. The best point is kept. The answer is
//! PSD by construction (`Π₊(X − Y)` or `LLᵀ`).
//!
//! **Residuals** ([`KktResiduals`]) are measured on the scaled problem and are therefore
//! invariant under `(α, β) ↦ (aα, bβ)`: primal `max(0, −λ_min(X))/‖X‖_F`, dual
//! `max(0, −λ_min(Y))/max(1, ‖Y‖_F)`, complementarity `|⟨X, Y⟩|/(‖X‖_F·max(1, ‖Y‖_F))` (the
//! primal and complementarity terms are 0 for `X = 0`). Measuring `X` against its own size
//! means that a small spurious `X` next to a true `X = 0` is not accepted. `Y` is recomputed
//! from `X`, so `Y = α + β[X]` holds exactly.

mod ipm;
mod polish;
pub(crate) mod sym;

use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

use crate::svec::{smat, svec, svec_dim};
use sym::{min_eig, psd_part, sym_eig};

/// Options of [`solve_sdcp`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SdcpOptions {
    /// Target for the largest relative KKT residual ([`KktResiduals::max`]). Default `1e-12`.
    pub tol: f64,
    /// Maximum interior-point iterations. Default 100 (typically 10–25 are used).
    pub max_iters: usize,
}

impl Default for SdcpOptions {
    fn default() -> Self {
        Self {
            tol: 1e-12,
            max_iters: 100,
        }
    }
}

/// Relative KKT residuals of an SDCP solution (definitions in the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct KktResiduals {
    /// Violation of `X ⪰ 0`.
    pub primal: f64,
    /// Violation of `Y = α + β[X] ⪰ 0`.
    pub dual: f64,
    /// `|⟨X, Y⟩|`, relative.
    pub complementarity: f64,
}

impl KktResiduals {
    /// The largest of the three.
    pub fn max(&self) -> f64 {
        self.primal.max(self.dual).max(self.complementarity)
    }
}

/// How a solve ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SdcpStatus {
    /// The residuals are below the tolerance.
    Converged,
    /// The best point found is returned, but its residuals exceed the tolerance.
    NotConverged,
    /// No solution exists: there is `D ⪰ 0` with `β[D] = 0` and `⟨α, D⟩ < 0`, so the objective
    /// is unbounded below (for a central flow: an eigenvalue above the threshold that no
    /// curvature penalty can reduce). `x` is zero and `unbounded_direction` holds `D`.
    Unbounded,
}

/// Result of [`solve_sdcp`].
#[derive(Debug, Clone, PartialEq)]
pub struct SdcpSolution {
    /// `X ⪰ 0`.
    pub x: DMatrix<f64>,
    /// `Y = α + β[X]`.
    pub y: DMatrix<f64>,
    /// Relative KKT residuals of `(X, Y)`.
    pub residuals: KktResiduals,
    /// Interior-point iterations.
    pub iterations: usize,
    /// Newton polishing steps (up to the points kept).
    pub newton_steps: usize,
    /// Outcome.
    pub status: SdcpStatus,
    /// For [`SdcpStatus::Unbounded`]: a recession direction `D` (unit Frobenius norm).
    pub unbounded_direction: Option<DMatrix<f64>>,
}

impl SdcpSolution {
    /// Whether the residuals reached the tolerance.
    pub fn converged(&self) -> bool {
        self.status == SdcpStatus::Converged
    }
}

/// Invalid SDCP input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SdcpError {
    /// `α` is not square or `β` is not `k(k+1)/2` square.
    #[error(
        "SDCP shapes disagree: alpha is {alpha_rows}×{alpha_cols}, beta is {beta_rows}×{beta_cols}; \
         beta must be the k(k+1)/2-square svec matrix of an operator on k×k symmetric matrices"
    )]
    Shape {
        /// Rows of α.
        alpha_rows: usize,
        /// Columns of α.
        alpha_cols: usize,
        /// Rows of β.
        beta_rows: usize,
        /// Columns of β.
        beta_cols: usize,
    },
    /// A NaN or infinity in the input.
    #[error(
        "SDCP input has non-finite entries (in {0}); the curvature or gradient upstream diverged"
    )]
    NonFinite(&'static str),
    /// `α` or `β` is not symmetric.
    #[error(
        "SDCP {what} is not symmetric (relative asymmetry {asymmetry:.2e}); build it from \
         symmetric pieces (for beta: svec-scaled pair vectors, docs/central-flows.md)"
    )]
    NotSymmetric {
        /// `"alpha"` or `"beta"`.
        what: &'static str,
        /// `‖M − Mᵀ‖_F / ‖M‖_F`.
        asymmetry: f64,
    },
    /// `β` has a clearly negative eigenvalue: the problem is not a convex program.
    #[error(
        "SDCP operator beta is not positive semidefinite (smallest eigenvalue {min_eig:.3e}, \
         norm {norm:.3e}); the solver needs a monotone problem"
    )]
    NotPsd {
        /// Smallest eigenvalue of `B`.
        min_eig: f64,
        /// `‖B‖_F`.
        norm: f64,
    },
}

/// Relative tolerance for the symmetry and PSD checks of the input (rounding in `B`, built
/// from Gram products of `p`-vectors, is far below it).
const INPUT_TOL: f64 = 1e-9;

/// Duality measure at which the interior-point phase first hands over to the Newton polish.
const IPM_HANDOVER: f64 = 1e-10;

/// Duality measure the interior-point phase continues to when the first polish falls short
/// (the residuals of a non-strictly complementary problem shrink like `√μ`).
const IPM_FLOOR: f64 = 1e-24;

/// Maximum Newton steps per polish.
const NEWTON_STEPS: usize = 8;

/// Solves `SDCP(α, β)` (module docs). `alpha` is `k × k` symmetric; `beta` is the `m × m`
/// (`m = k(k+1)/2`) symmetric PSD `svec` matrix of `β`. `k = 0` is allowed (empty answer).
pub fn solve_sdcp(
    alpha: &DMatrix<f64>,
    beta: &DMatrix<f64>,
    opts: &SdcpOptions,
) -> Result<SdcpSolution, SdcpError> {
    let k = alpha.nrows();
    let m = svec_dim(k);
    if alpha.ncols() != k || beta.nrows() != m || beta.ncols() != m {
        return Err(SdcpError::Shape {
            alpha_rows: alpha.nrows(),
            alpha_cols: alpha.ncols(),
            beta_rows: beta.nrows(),
            beta_cols: beta.ncols(),
        });
    }
    if !alpha.iter().all(|v| v.is_finite()) {
        return Err(SdcpError::NonFinite("alpha"));
    }
    if !beta.iter().all(|v| v.is_finite()) {
        return Err(SdcpError::NonFinite("beta"));
    }
    check_symmetric(alpha, "alpha")?;
    check_symmetric(beta, "beta")?;
    let alpha = (alpha + alpha.transpose()) * 0.5;
    let beta = (beta + beta.transpose()) * 0.5;
    let b_norm = beta.norm();
    let b_min = min_eig(&beta);
    if b_min < -INPUT_TOL * b_norm {
        return Err(SdcpError::NotPsd {
            min_eig: b_min,
            norm: b_norm,
        });
    }
    if k == 0 {
        return Ok(finish(Point::zero_of(alpha), 0, 0, SdcpStatus::Converged));
    }
    let (a_values, a_vectors) = sym_eig(&alpha);
    if a_values[0] >= 0.0 {
        // X = 0, Y = α ⪰ 0: exact.
        return Ok(finish(Point::zero_of(alpha), 0, 0, SdcpStatus::Converged));
    }
    if b_norm == 0.0 {
        let d = a_vectors.column(0) * a_vectors.column(0).transpose();
        return Ok(unbounded(k, alpha, d, 0));
    }

    // Scaled problem: ‖â‖ = ‖B̂‖ = 1; X = X̂·a/b, Y = Ŷ·a.
    let a_norm = alpha.norm();
    let a_hat = DVector::from_vec(svec(&(&alpha / a_norm)));
    let b_hat = &beta / b_norm;
    let problem = Scaled {
        a: &a_hat,
        b: &b_hat,
    };

    let target = 1e-2 * opts.tol;
    let mut ipm = ipm::Ipm::new(k);
    let mut best = Best::default();
    for stop in [IPM_HANDOVER, IPM_FLOOR] {
        if let Some(d) = ipm.run(&problem, stop, opts.max_iters) {
            return Ok(unbounded(k, alpha, d, ipm.iterations));
        }
        let (point, steps) = polish::semismooth(&problem, &ipm.x, NEWTON_STEPS, target);
        let res = best.offer(point, steps);
        if res <= opts.tol || ipm.stalled() || ipm.iterations >= opts.max_iters {
            break;
        }
    }
    if best.residual() > opts.tol {
        let start = best.point.as_ref().expect("a polish ran").x.clone();
        best.offer(problem.evaluate(DMatrix::zeros(k, k)), 0);
        for r in plausible_ranks(&start) {
            let polished = polish::factored(&problem, &start, r, NEWTON_STEPS, target);
            if let Some((point, steps)) = polished {
                if best.offer(point, steps) <= target {
                    break;
                }
            }
        }
    }
    let newton_steps = best.newton_steps;
    let point = best.point.expect("a polish ran");
    let status = if point.residuals.max() <= opts.tol {
        SdcpStatus::Converged
    } else {
        SdcpStatus::NotConverged
    };
    let point = Point {
        x: point.x * (a_norm / b_norm),
        y: point.y * a_norm,
        residuals: point.residuals,
    };
    Ok(finish(point, ipm.iterations, newton_steps, status))
}

/// Ranks `r ≥ 1` at which the eigenvalues of `X` (descending) drop by more than a factor
/// `10³` from the `r`-th to the next (or `r = k` when the last is well above zero); the
/// largest gap first.
fn plausible_ranks(x: &DMatrix<f64>) -> Vec<usize> {
    let (values, _) = sym_eig(x);
    let desc: Vec<f64> = values.iter().rev().map(|v| v.max(0.0)).collect();
    let top = desc.first().copied().unwrap_or(0.0);
    if top.is_nan() || top <= 0.0 {
        return Vec::new();
    }
    let mut gaps: Vec<(f64, usize)> = (1..=desc.len())
        .filter_map(|r| {
            let next = desc.get(r).copied().unwrap_or(0.0);
            let ratio = desc[r - 1] / next.max(1e-300 * top);
            (ratio > 1e3).then_some((ratio, r))
        })
        .collect();
    gaps.sort_by(|a, b| b.0.total_cmp(&a.0));
    gaps.into_iter().map(|(_, r)| r).collect()
}

fn check_symmetric(m: &DMatrix<f64>, what: &'static str) -> Result<(), SdcpError> {
    let norm = m.norm();
    if norm == 0.0 {
        return Ok(());
    }
    let asymmetry = (m - m.transpose()).norm() / norm;
    if asymmetry > INPUT_TOL {
        return Err(SdcpError::NotSymmetric { what, asymmetry });
    }
    Ok(())
}

fn finish(
    point: Point,
    iterations: usize,
    newton_steps: usize,
    status: SdcpStatus,
) -> SdcpSolution {
    SdcpSolution {
        x: point.x,
        y: point.y,
        residuals: point.residuals,
        iterations,
        newton_steps,
        status,
        unbounded_direction: None,
    }
}

fn unbounded(k: usize, alpha: DMatrix<f64>, d: DMatrix<f64>, iterations: usize) -> SdcpSolution {
    let d = &d / d.norm();
    let point = Point {
        x: DMatrix::zeros(k, k),
        y: alpha,
        residuals: KktResiduals::default(),
    };
    SdcpSolution {
        unbounded_direction: Some(d),
        ..finish(point, iterations, 0, SdcpStatus::Unbounded)
    }
}

/// The scaled problem `(â, B̂)` in `svec` coordinates.
pub(crate) struct Scaled<'a> {
    /// `svec(α̂)`.
    pub a: &'a DVector<f64>,
    /// `B̂`.
    pub b: &'a DMatrix<f64>,
}

impl Scaled<'_> {
    /// `svec(Y(x)) = B̂x + â`.
    pub fn y(&self, x: &DVector<f64>) -> DVector<f64> {
        self.b * x + self.a
    }

    /// `(X, Y(X))` and their residuals for a PSD `X`.
    pub fn evaluate(&self, x: DMatrix<f64>) -> Point {
        let y = smat(self.y(&DVector::from_vec(svec(&x))).as_slice());
        let residuals = residuals(&x, &y);
        Point { x, y, residuals }
    }

    /// The point reported for an iterate `x`: `X = Π₊(X − Y(X))` (exact zeros on the
    /// complement of the active face).
    pub fn candidate(&self, x: &DVector<f64>) -> Point {
        let z = x - self.y(x);
        self.evaluate(psd_part(&smat(z.as_slice())))
    }
}

/// A candidate solution `(X, Y)` with its residuals.
pub(crate) struct Point {
    x: DMatrix<f64>,
    y: DMatrix<f64>,
    residuals: KktResiduals,
}

impl Point {
    /// `X = 0`, `Y = α` for a PSD `α` (exact: all residuals zero).
    fn zero_of(alpha: DMatrix<f64>) -> Self {
        let k = alpha.nrows();
        Self {
            x: DMatrix::zeros(k, k),
            y: alpha,
            residuals: KktResiduals::default(),
        }
    }
}

/// The best point seen so far and the Newton steps spent.
#[derive(Default)]
struct Best {
    point: Option<Point>,
    newton_steps: usize,
}

impl Best {
    /// Keeps `point` if it has smaller residuals; returns the best residual.
    fn offer(&mut self, point: Point, steps: usize) -> f64 {
        self.newton_steps += steps;
        if point.residuals.max() < self.residual() {
            self.point = Some(point);
        }
        self.residual()
    }

    fn residual(&self) -> f64 {
        self.point
            .as_ref()
            .map_or(f64::INFINITY, |p| p.residuals.max())
    }
}

/// Relative KKT residuals of `(X, Y)` (scaled problem; module docs).
fn residuals(x: &DMatrix<f64>, y: &DMatrix<f64>) -> KktResiduals {
    let nx = x.norm();
    if nx == 0.0 {
        return KktResiduals {
            dual: (-min_eig(y)).max(0.0) / y.norm().max(1.0),
            ..KktResiduals::default()
        };
    }
    let sy = y.norm().max(1.0);
    KktResiduals {
        primal: (-min_eig(x)).max(0.0) / nx,
        dual: (-min_eig(y)).max(0.0) / sy,
        complementarity: x.dot(y).abs() / (nx * sy),
    }
}

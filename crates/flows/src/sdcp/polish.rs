//! Newton polish of an approximate SDCP solution to rounding level. Two methods:
//!
//! - [`semismooth`]: Newton's method on the natural map
//!   `F(x) = x − svec Π₊(smat(x − Bx − a))`, with the Clarke Jacobian `J = I − V(I − B)`
//!   (`V` the derivative of `Π₊` at `X − Y`, [`psd_projection_jacobian`]). Quadratic near a
//!   strictly complementary solution. `J` is singular when `β` has a null direction inside the
//!   face of `X` (then `X` is not unique); the step is the minimum-norm least-squares solution.
//! - [`factored`]: for degenerate (not strictly complementary) problems, where the natural
//!   map is not differentiable at the solution: with the rank `r` of `X` fixed, Newton's
//!   method on the first-order condition `Y(LLᵀ)·L = 0` of `min_L q(LLᵀ)`, `L ∈ ℝ^{k×r}`
//!   (Jacobian `D ↦ β[DLᵀ + LDᵀ]L + Y D`, minimum-norm steps absorb the rotation
//!   `L ↦ LQ`). `X = LLᵀ` is PSD of rank `r` by construction and `⟨X, Y⟩ = tr(LᵀYL) → 0`.
//!
//! Neither is monotone in the KKT residual (a first step from an interior point may raise
//! it), so both run a fixed number of steps and keep the best point.

use nalgebra::{DMatrix, DVector};

use super::sym::{psd_projection_jacobian, reassemble, sym_eig};
use super::{Point, Scaled};
use crate::svec::{smat, svec};

/// Relative cut-off for singular values of a Newton matrix.
const RCOND: f64 = 1e-13;

/// Growth of the Newton residual beyond which a polish gives up.
const DIVERGED: f64 = 1e6;

/// Minimum-norm least-squares solution of `J d = −f`.
fn newton_step(jac: DMatrix<f64>, f: &DVector<f64>) -> Option<DVector<f64>> {
    let svd = jac.svd(true, true);
    let cutoff = RCOND * svd.singular_values.max();
    svd.solve(&(-f), cutoff).ok()
}

/// Up to `max_steps` semismooth Newton steps from the iterate `x` (`svec`); returns the best
/// point seen (the start included) and the number of steps taken to reach it.
pub(super) fn semismooth(
    p: &Scaled<'_>,
    x: &DVector<f64>,
    max_steps: usize,
    target: f64,
) -> (Point, usize) {
    let m = x.len();
    let mut best = p.candidate(x);
    let mut best_step = 0;
    let mut current = x.clone();
    let mut first_norm = None;
    for step in 1..=max_steps {
        if best.residuals.max() <= target {
            break;
        }
        let z = &current - p.y(&current);
        let (values, vectors) = sym_eig(&smat(z.as_slice()));
        let projected = reassemble(&values, &vectors, |l| l.max(0.0));
        let f = &current - DVector::from_vec(svec(&projected));
        let f_norm = f.norm();
        let first = *first_norm.get_or_insert(f_norm);
        if !f_norm.is_finite() || f_norm > DIVERGED * first {
            break;
        }
        let v = psd_projection_jacobian(&values, &vectors);
        let jac = DMatrix::identity(m, m) - &v + &v * p.b;
        let Some(dx) = newton_step(jac, &f) else {
            break;
        };
        current += dx;
        let point = p.candidate(&current);
        if point.residuals.max() < best.residuals.max() {
            best = point;
            best_step = step;
        }
    }
    (best, best_step)
}

/// Up to `max_steps` Newton steps on `Y(LLᵀ)L = 0` with `L` (`k × r`) started from the top
/// `r` eigenpairs of `start`; returns the best point and the steps taken to reach it, or
/// `None` if no step produced a point.
pub(super) fn factored(
    p: &Scaled<'_>,
    start: &DMatrix<f64>,
    r: usize,
    max_steps: usize,
    target: f64,
) -> Option<(Point, usize)> {
    let k = start.nrows();
    let (values, vectors) = sym_eig(start);
    let mut l = DMatrix::from_fn(k, r, |i, j| {
        let c = k - 1 - j;
        vectors[(i, c)] * values[c].max(0.0).sqrt()
    });
    let mut best: Option<(Point, usize)> = None;
    let mut first_norm = None;
    for step in 1..=max_steps {
        let x = &l * l.transpose();
        let y = smat(p.y(&DVector::from_vec(svec(&x))).as_slice());
        let grad = &y * &l;
        let g_norm = grad.norm();
        let first = *first_norm.get_or_insert(g_norm);
        if !g_norm.is_finite() || g_norm > DIVERGED * first {
            break;
        }
        // Jacobian column for the unit direction D = e_a e_bᵀ (column-major over k × r).
        let mut jac = DMatrix::zeros(k * r, k * r);
        for b in 0..r {
            for a in 0..k {
                let mut d = DMatrix::zeros(k, r);
                d[(a, b)] = 1.0;
                let sym = &d * l.transpose() + &l * d.transpose();
                let beta_sym = smat((p.b * DVector::from_vec(svec(&sym))).as_slice());
                let col = beta_sym * &l + &y * &d;
                jac.column_mut(b * k + a)
                    .copy_from(&DVector::from_column_slice(col.as_slice()));
            }
        }
        let f = DVector::from_column_slice(grad.as_slice());
        let Some(dl) = newton_step(jac, &f) else {
            break;
        };
        l += DMatrix::from_column_slice(k, r, dl.as_slice());
        let point = p.evaluate(&l * l.transpose());
        if best
            .as_ref()
            .is_none_or(|(b, _)| point.residuals.max() < b.residuals.max())
        {
            let done = point.residuals.max() <= target;
            best = Some((point, step));
            if done {
                break;
            }
        }
    }
    best
}

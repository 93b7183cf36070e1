//! Warm-started block LOBPCG for the largest **algebraic** eigenpairs of a symmetric operator
//! (docs/curvature.md "Eigen-solver", docs/theory.md §3 and §7).
//!
//! Locally Optimal Block Preconditioned Conjugate Gradient (Knyazev 2001), without a
//! preconditioner, in the numerically stable form of Hetmaniuk & Lehoucq (2006):
//!
//! 1. `X` (n × k, orthonormal; the warm-start block completed with random columns),
//!    Rayleigh–Ritz on `span X`.
//! 2. Repeat: residuals `R = AX − XΛ`; the *active* columns are those whose relative residual
//!    `‖Axᵢ − λᵢxᵢ‖ / max(1, |λᵢ|)` is still ≥ `tol` (*soft locking*: converged columns stay in
//!    the Rayleigh–Ritz basis but get no new search directions, so they cost no operator
//!    applications). The trial basis is `S = [X, W, P]`: `W` the active residuals,
//!    orthonormalized against `[X, P]` (see `orth`; dependent directions are dropped) and the
//!    only block multiplied by `A`; `P` the previous update directions with image `AP`
//!    carried along. Rayleigh–Ritz on `S` (dense symmetric eigen-decomposition of `SᵀAS`)
//!    keeps the `k` **largest algebraic** Ritz values — never largest magnitude, so a large
//!    negative eigenvalue cannot displace the top of the spectrum.
//! 3. The new `P` is the part of the update outside the old `X`, orthonormalized against the
//!    new `X` *in coefficient space* (`P = S·Y` with `Y` orthonormal, `Y ⟂ C_X`), so `AP = AS·Y`
//!    never suffers the cancellation that makes `AP` inaccurate when `P` is orthogonalized in
//!    `ℝⁿ` near convergence (the classic LOBPCG instability).
//! 4. Stop when the first `k` relative residuals are below `tol`, or after `max_iters`.
//!
//! The block has exactly `k` columns: extra "guard" columns were measured to cost more
//! operator applications than they save (top-3 of the n = 20 000 hard spectrum,
//! docs/curvature.md), cold and warm.
//!
//! **Small operators.** When `3k ≥ n` the trial basis `[X, W, P]` can span the whole space:
//! LOBPCG then gains nothing over a dense solve, and its bases degenerate. The operator is
//! then applied to the identity (`n` applications) and diagonalized densely
//! ([`gdscope_core::linalg::symmetric_eigen`]); the result has the same form (residuals,
//! `iterations = 0`).

use gdscope_core::linalg::symmetric_eigen;
use gdscope_core::Block;
use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};
use crate::operator::{apply_checked, LinearOperator, Negated};
use crate::orth::orthonormalize;
use crate::random::{gaussian_block, rng};

/// Options of [`top_eigenpairs`] / [`smallest_eigenpairs`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EigOptions {
    /// Number of eigenpairs wanted (`1 ≤ k ≤ n`).
    pub k: usize,
    /// Convergence tolerance on the relative residual `‖Av − λv‖ / max(1, |λ|)` of each of the
    /// `k` returned pairs (`v` unit norm). Default `1e-8`.
    pub tol: f64,
    /// Maximum number of LOBPCG iterations (each costs at most `k` operator applications,
    /// one per unconverged pair). Default 500.
    pub max_iters: usize,
    /// Seed for the random columns that complete (or replace) the warm-start block. Default 0.
    pub seed: u64,
}

impl Default for EigOptions {
    fn default() -> Self {
        Self {
            k: 1,
            tol: 1e-8,
            max_iters: 500,
            seed: 0,
        }
    }
}

/// Result of an eigen-solve.
#[derive(Debug, Clone, PartialEq)]
pub struct EigResult {
    /// Eigenvalues: **descending** from the largest algebraic for [`top_eigenpairs`],
    /// ascending from the smallest algebraic for [`smallest_eigenpairs`].
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors, `vectors.column(i)` ↔ `values[i]` (n × k).
    pub vectors: Block,
    /// Relative residuals `‖Avᵢ − λᵢvᵢ‖ / max(1, |λᵢ|)`.
    pub residuals: Vec<f64>,
    /// Operator applications (columns, i.e. Hessian-vector products) spent.
    pub hvps: usize,
    /// LOBPCG iterations performed.
    pub iterations: usize,
    /// Whether every residual is below `tol`.
    pub converged: bool,
}

/// The `k` largest algebraic eigenpairs of the symmetric operator `op`, warm-started from
/// the columns of `warm` when given (any number of columns: the first `k` are used, missing
/// ones are filled with seeded Gaussian vectors; a good warm block costs few applications).
///
/// Errors: `k = 0` or `k > n`, a non-positive or non-finite `tol`, `warm` with a row count
/// other than `n`, or an operator that returns non-finite values.
pub fn top_eigenpairs(
    op: &dyn LinearOperator,
    warm: Option<&Block>,
    opts: &EigOptions,
) -> Result<EigResult> {
    let n = op.dim();
    ensure(opts.k >= 1 && opts.k <= n, || {
        format!(
            "number of eigenpairs k = {} must be between 1 and the dimension {n}",
            opts.k
        )
    })?;
    ensure(opts.tol.is_finite() && opts.tol > 0.0, || {
        format!(
            "eigen-solver tolerance must be finite and positive, got {}",
            opts.tol
        )
    })?;
    if let Some(w) = warm {
        ensure(w.nrows() == n, || {
            format!(
                "warm-start block has {} rows but the operator has dimension {n}",
                w.nrows()
            )
        })?;
        ensure(w.iter().all(|v| v.is_finite()), || {
            "warm-start block has non-finite entries".into()
        })?;
    }
    if 3 * opts.k >= n {
        return dense_top_eigenpairs(op, opts.k);
    }
    Lobpcg::new(op, opts).run(warm)
}

/// The `k` largest algebraic eigenpairs of `op` from its dense matrix (`n` applications).
fn dense_top_eigenpairs(op: &dyn LinearOperator, k: usize) -> Result<EigResult> {
    let n = op.dim();
    let mut hvps = 0;
    let a = apply_checked(op, &Block::identity(n, n), &mut hvps)?;
    let (values, vectors) = symmetric_eigen(&a);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| values[j].total_cmp(&values[i]));
    order.truncate(k);
    let vectors = vectors.select_columns(&order);
    let values: Vec<f64> = order.iter().map(|&i| values[i]).collect();
    let sym = (&a + a.transpose()) * 0.5;
    let residuals = (0..k)
        .map(|i| {
            let v = vectors.column(i);
            (&sym * v - v * values[i]).norm() / values[i].abs().max(1.0)
        })
        .collect();
    Ok(EigResult {
        values,
        vectors,
        residuals,
        hvps,
        iterations: 0,
        converged: true,
    })
}

/// The `k` smallest algebraic eigenpairs (values ascending), by [`top_eigenpairs`] on `−A`.
pub fn smallest_eigenpairs(
    op: &dyn LinearOperator,
    warm: Option<&Block>,
    opts: &EigOptions,
) -> Result<EigResult> {
    let mut r = top_eigenpairs(&Negated(op), warm, opts)?;
    r.values.iter_mut().for_each(|v| *v = -*v);
    Ok(r)
}

/// Solver state: the current Ritz block and its image.
struct Lobpcg<'a> {
    op: &'a dyn LinearOperator,
    opts: &'a EigOptions,
    /// Block size `m = k`.
    m: usize,
    hvps: usize,
}

/// Orthonormal block `X`, its image `AX`, and Ritz values (descending).
struct Ritz {
    x: Block,
    ax: Block,
    values: Vec<f64>,
}

impl<'a> Lobpcg<'a> {
    fn new(op: &'a dyn LinearOperator, opts: &'a EigOptions) -> Self {
        Self {
            op,
            opts,
            m: opts.k,
            hvps: 0,
        }
    }

    fn apply(&mut self, v: &Block) -> Result<Block> {
        apply_checked(self.op, v, &mut self.hvps)
    }

    /// An orthonormal n × m start block: the warm columns, completed with random ones.
    fn start_block(&self, warm: Option<&Block>) -> Result<Block> {
        let n = self.op.dim();
        let empty = Block::zeros(n, 0);
        let mut x = match warm {
            Some(w) => orthonormalize(w.columns(0, w.ncols().min(self.m)).clone_owned(), &empty),
            None => empty,
        };
        let mut rng = rng(self.opts.seed);
        // Random completion; retried because a draw can (with probability ~0) be dependent.
        for _attempt in 0..8 {
            let need = self.m - x.ncols();
            if need == 0 {
                break;
            }
            let fresh = orthonormalize(gaussian_block(n, need, &mut rng), &x);
            x = concat(&[&x, &fresh]);
        }
        ensure(x.ncols() == self.m, || {
            "could not build an orthonormal start block".into()
        })?;
        Ok(x)
    }

    fn run(mut self, warm: Option<&Block>) -> Result<EigResult> {
        let x = self.start_block(warm)?;
        let ax = self.apply(&x)?;
        let (mut ritz, _) = rayleigh_ritz(&x, &ax, x.ncols());
        // Previous update directions P (orthonormal, ⟂ X) and their image AP.
        let n = self.op.dim();
        let (mut p, mut ap) = (Block::zeros(n, 0), Block::zeros(n, 0));
        let k = self.opts.k;
        let mut iterations = 0;
        loop {
            let resid = &ritz.ax
                - &ritz.x
                    * Block::from_diagonal(&nalgebra::DVector::from_column_slice(&ritz.values));
            let rel: Vec<f64> = resid
                .column_iter()
                .zip(&ritz.values)
                .map(|(r, l)| r.norm() / l.abs().max(1.0))
                .collect();
            let done = rel[..k].iter().all(|&r| r < self.opts.tol);
            if done || iterations >= self.opts.max_iters {
                return Ok(self.finish(ritz, rel, iterations, done));
            }
            let active: Vec<usize> = (0..ritz.x.ncols())
                .filter(|&i| rel[i] >= self.opts.tol)
                .collect();
            let w = orthonormalize(resid.select_columns(&active), &concat(&[&ritz.x, &p]));
            if w.ncols() == 0 {
                // The residuals lie in span [X, P]: no new direction exists.
                return Ok(self.finish(ritz, rel, iterations, done));
            }
            iterations += 1;
            let aw = self.apply(&w)?;
            let s = concat(&[&ritz.x, &w, &p]);
            let as_ = concat(&[&ritz.ax, &aw, &ap]);
            let (next, coeffs) = rayleigh_ritz(&s, &as_, self.m);
            // New directions: the part of the update outside the old X, orthonormalized
            // against the new X in coefficient space (exact, so AP = AS·Y stays consistent
            // with P = S·Y; Hetmaniuk & Lehoucq 2006).
            let nx = ritz.x.ncols();
            let mut tail = coeffs.clone();
            tail.rows_mut(0, nx).fill(0.0);
            let y = orthonormalize(tail, &coeffs);
            p = &s * &y;
            ap = &as_ * &y;
            ritz = next;
        }
    }

    fn finish(self, ritz: Ritz, rel: Vec<f64>, iterations: usize, converged: bool) -> EigResult {
        let k = self.opts.k;
        EigResult {
            values: ritz.values[..k].to_vec(),
            vectors: ritz.x.columns(0, k).clone_owned(),
            residuals: rel[..k].to_vec(),
            hvps: self.hvps,
            iterations,
            converged,
        }
    }
}

/// Rayleigh–Ritz on the orthonormal basis `s` (with image `as_`): the `m` largest algebraic
/// Ritz pairs, descending, and the coefficient matrix `C` (columns of `s` → Ritz vectors).
fn rayleigh_ritz(s: &Block, as_: &Block, m: usize) -> (Ritz, Block) {
    let (eigenvalues, eigenvectors) = symmetric_eigen(&(s.transpose() * as_));
    let mut order: Vec<usize> = (0..eigenvalues.len()).collect();
    order.sort_by(|&i, &j| eigenvalues[j].total_cmp(&eigenvalues[i]));
    order.truncate(m);
    let coeffs = eigenvectors.select_columns(&order);
    let values = order.iter().map(|&i| eigenvalues[i]).collect();
    (
        Ritz {
            x: s * &coeffs,
            ax: as_ * &coeffs,
            values,
        },
        coeffs,
    )
}

/// Horizontal concatenation `[b₁ b₂ …]` of blocks with equal row counts.
pub(crate) fn concat(blocks: &[&Block]) -> Block {
    let rows = blocks.first().map_or(0, |b| b.nrows());
    let cols = blocks.iter().map(|b| b.ncols()).sum();
    let mut out = Block::zeros(rows, cols);
    let mut c = 0;
    for b in blocks {
        out.columns_mut(c, b.ncols()).copy_from(b);
        c += b.ncols();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::CurvatureError;
    use gdscope_core::linalg::sym_eigen;
    use gdscope_core::objective::DenseQuadratic;
    use nalgebra::DMatrix;
    use proptest::prelude::*;

    use crate::operator::HessianOperator;
    use crate::random::{gaussian_block, rng};

    /// `Q diag(values) Qᵀ` with a random orthogonal `Q` (from the QR of a Gaussian matrix).
    fn with_spectrum(values: &[f64], seed: u64) -> DMatrix<f64> {
        let n = values.len();
        let q = gaussian_block(n, n, &mut rng(seed)).qr().q();
        let a = &q
            * DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(values))
            * q.transpose();
        (&a + a.transpose()) * 0.5
    }

    fn opts(k: usize) -> EigOptions {
        EigOptions {
            k,
            tol: 1e-10,
            ..EigOptions::default()
        }
    }

    /// Checks `r` against the dense decomposition: values, residuals, orthonormality,
    /// Rayleigh quotients, eigen-equation.
    fn check_against_dense(a: &DMatrix<f64>, r: &EigResult, k: usize, tol: f64) {
        let dense = sym_eigen(a);
        let n = a.nrows();
        assert!(
            r.converged,
            "not converged: {:?} after {} iterations",
            r.residuals, r.iterations
        );
        for i in 0..k {
            let want = dense.values[n - 1 - i];
            assert!(
                (r.values[i] - want).abs() < 1e-8 * want.abs().max(1.0),
                "λ{i}: {} vs {want}",
                r.values[i]
            );
            assert!(r.residuals[i] < tol);
            let v = r.vectors.column(i);
            let av = a * v;
            let true_res = (&av - v * r.values[i]).norm() / r.values[i].abs().max(1.0);
            assert!(true_res < 10.0 * tol, "true residual {true_res}");
        }
        let gram = r.vectors.transpose() * &r.vectors;
        assert!((gram - DMatrix::identity(k, k)).abs().max() < 1e-12);
    }

    #[test]
    fn large_negative_eigenvalue_does_not_displace_the_top() {
        // The hard spectrum of docs/stack.md: largest magnitude would pick −49.8.
        let mut values: Vec<f64> = (0..200)
            .map(|i| -40.0 + 80.0 * (i as f64) / 199.0 * 0.5)
            .collect();
        values.extend([50.0, 49.5, 49.0, 46.0, -49.8]);
        let a = with_spectrum(&values, 7);
        let q = DenseQuadratic::new(a.clone());
        let x = vec![0.0; a.nrows()];
        let op = HessianOperator::new(&q, &x).unwrap();
        let r = top_eigenpairs(&op, None, &opts(3)).unwrap();
        check_against_dense(&a, &r, 3, 1e-10);
        assert!((r.values[0] - 50.0).abs() < 1e-9 && (r.values[1] - 49.5).abs() < 1e-9);
        assert!((r.values[2] - 49.0).abs() < 1e-9);
        assert_eq!(op.hvps(), r.hvps);
        let s = smallest_eigenpairs(&a, None, &opts(1)).unwrap();
        assert!((s.values[0] + 49.8).abs() < 1e-9, "{:?}", s.values);
    }

    #[test]
    fn clustered_and_degenerate_eigenvalues() {
        let mut values: Vec<f64> = (0..120).map(|i| (i as f64) * 0.05).collect();
        values.extend([10.0, 10.0, 10.0, 10.0 - 1e-7, 9.0]);
        let a = with_spectrum(&values, 3);
        let r = top_eigenpairs(&a, None, &opts(4)).unwrap();
        check_against_dense(&a, &r, 4, 1e-10);
    }

    #[test]
    fn warm_start_after_small_perturbation_is_much_cheaper() {
        let values: Vec<f64> = (0..300)
            .map(|i| 30.0 * (-(i as f64) / 40.0).exp() - 2.0)
            .collect();
        let a = with_spectrum(&values, 11);
        let cold = top_eigenpairs(&a, None, &opts(3)).unwrap();
        let mut e = gaussian_block(300, 300, &mut rng(5));
        e = (&e + e.transpose()) * 1e-8;
        let b = &a + e;
        let cold_b = top_eigenpairs(&b, None, &opts(3)).unwrap();
        let warm_b = top_eigenpairs(&b, Some(&cold.vectors), &opts(3)).unwrap();
        check_against_dense(&b, &warm_b, 3, 1e-10);
        assert!(
            2 * warm_b.hvps < cold_b.hvps,
            "warm {} HVPs vs cold {}",
            warm_b.hvps,
            cold_b.hvps
        );
    }

    #[test]
    fn tiny_problems_and_exact_invariant_subspaces() {
        let a = DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(&[3.0, -5.0, 1.0]));
        let r = top_eigenpairs(&a, None, &opts(3)).unwrap();
        assert_eq!(r.values.len(), 3);
        assert!((r.values[0] - 3.0).abs() < 1e-12 && (r.values[2] + 5.0).abs() < 1e-12);
        // Warm start with the exact eigenvector: converged with one block application.
        let warm = DMatrix::from_column_slice(3, 1, &[1.0, 0.0, 0.0]);
        let r = top_eigenpairs(&a, Some(&warm), &opts(1)).unwrap();
        assert!(r.converged && r.iterations <= 1, "{r:?}");
    }

    #[test]
    fn invalid_arguments_are_errors() {
        let a = DMatrix::<f64>::identity(4, 4);
        assert!(top_eigenpairs(&a, None, &opts(0)).is_err());
        assert!(top_eigenpairs(&a, None, &opts(5)).is_err());
        let bad_tol = EigOptions {
            tol: f64::NAN,
            ..opts(1)
        };
        assert!(top_eigenpairs(&a, None, &bad_tol).is_err());
        assert!(top_eigenpairs(&a, Some(&DMatrix::zeros(3, 1)), &opts(1)).is_err());
        let nan = DMatrix::from_element(4, 4, f64::NAN);
        assert_eq!(
            top_eigenpairs(&nan, None, &opts(1)),
            Err(CurvatureError::NonFinite)
        );
    }

    #[test]
    fn iteration_cap_reports_not_converged() {
        let values: Vec<f64> = (0..400).map(|i| 1.0 - (i as f64) * 1e-4).collect();
        let a = with_spectrum(&values, 2);
        let r = top_eigenpairs(
            &a,
            None,
            &EigOptions {
                max_iters: 2,
                ..opts(2)
            },
        )
        .unwrap();
        assert!(!r.converged && r.iterations == 2);
        assert!(r.residuals.iter().any(|&x| x >= 1e-10));
    }

    /// Regression (found by the central flows, docs/central-flows.md): the effective Hessian
    /// `ηH` (η = 0.3) of Berthier's codimension-2 example at a point where two eigenvalues
    /// are 2 and three are within `4e-6` of zero, with `k = 3` of `n = 5` (so `[X, W, P]`
    /// exhausts the space). The Rayleigh–Ritz eigen-solve used to pair the values `1e-16`
    /// and `−3e-6` with each other's vectors (dimforge/nalgebra#1109), which then broke the
    /// orthonormal basis and gave Ritz values like 819, unconverged after 500 iterations, in
    /// about one start of fifteen. Every start must now converge to the dense answer; and
    /// `top_eigenpairs` solves such small problems densely.
    #[test]
    fn berthier_codimension_two_hessian_with_three_k_above_n() {
        let a = gdscope_core::linalg::berthier_codimension_two_hessian();
        let exact = sym_eigen(&a);
        let mut warm = exact.vectors.columns(2, 3).clone_owned();
        warm += gaussian_block(5, 3, &mut rng(1)) * 1e-3;
        for seed in 0..300 {
            let o = EigOptions {
                k: 3,
                tol: 1e-9,
                max_iters: 500,
                seed,
            };
            for start in [None, Some(&warm)] {
                // The LOBPCG iteration itself (`top_eigenpairs` takes the dense path here).
                let r = Lobpcg::new(&a, &o).run(start).unwrap();
                assert!(r.converged, "seed {seed}: {:?} {:?}", r.values, r.residuals);
                for i in 0..3 {
                    assert!(
                        (r.values[i] - exact.values[4 - i]).abs() < 1e-12,
                        "seed {seed}: {:?} vs {:?}",
                        r.values,
                        exact.values
                    );
                }
            }
        }
        let dense = top_eigenpairs(&a, None, &opts(3)).unwrap();
        assert_eq!((dense.hvps, dense.iterations), (5, 0));
        assert!(dense.converged && dense.residuals.iter().all(|&r| r < 1e-14));
        assert!((dense.values[0] - exact.values[4]).abs() < 1e-15);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn random_symmetric_matrices_match_dense(seed in 0u64..10_000, n in 8usize..40, k in 1usize..4) {
            let g = gaussian_block(n, n, &mut rng(seed));
            let a = (&g + g.transpose()) * 0.5;
            let r = top_eigenpairs(&a, None, &EigOptions { k, tol: 1e-9, max_iters: 2000, seed }).unwrap();
            check_against_dense(&a, &r, k, 1e-9);
            // Rayleigh quotients equal the values.
            for i in 0..k {
                let v = r.vectors.column(i);
                prop_assert!((v.dot(&(&a * v)) - r.values[i]).abs() < 1e-9 * r.values[i].abs().max(1.0));
            }
            prop_assert!(r.values.windows(2).all(|w| w[0] >= w[1]));
        }
    }
}

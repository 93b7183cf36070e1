//! Small dense linear algebra on `f64` slices and `nalgebra` matrices.

use nalgebra::DMatrix;

/// `xᵀy`, summed in eight interleaved partial sums in a fixed order (vectorisable and
/// independent of the CPU): [`crate::real::dot_in`] for `f64`.
#[inline(always)]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    crate::real::dot_in(x, y)
}

/// Euclidean norm `‖x‖₂`.
pub fn norm(x: &[f64]) -> f64 {
    dot(x, x).sqrt()
}

/// Cosine of the angle between `x` and `y`; `None` if either is zero or non-finite.
pub fn cosine(x: &[f64], y: &[f64]) -> Option<f64> {
    let d = norm(x) * norm(y);
    let c = dot(x, y) / d;
    (d > 0.0 && c.is_finite()).then(|| c.clamp(-1.0, 1.0))
}

/// Eigen-decomposition of a symmetric matrix, eigenvalues **ascending**
/// (`values[0] = λ₁ ≤ … ≤ values[n-1] = λₙ`), `vectors.column(i)` ↔ `values[i]`,
/// each eigenvector normalised and sign-fixed so that its largest-magnitude entry is positive.
#[derive(Debug, Clone)]
pub struct SymEigen {
    /// Ascending eigenvalues.
    pub values: Vec<f64>,
    /// Orthonormal eigenvectors as columns.
    pub vectors: DMatrix<f64>,
}

/// Eigenvalues and orthonormal eigenvectors (columns, unsorted) of the symmetric part of `a`,
/// by the cyclic Jacobi method. Every dense symmetric eigen-solve of gdscope goes through here
/// (Rayleigh–Ritz in LOBPCG, Gram matrices, SLQ quadrature, the SDCP solver, small effective
/// Hessians).
///
/// **Why not nalgebra's `symmetric_eigen`.** It can return a correct eigenbasis with two
/// eigenvalues attached to each other's vectors (dimforge/nalgebra#1109, still open in 0.33:
/// the 4 × 4 matrix of that issue gives residuals ≈ 11.9; a 5 × 5 Rayleigh–Ritz matrix of the
/// central flows paired `1e-16` with the vector of `−3e-6`, which made LOBPCG return 819 for
/// a top eigenvalue of 2), and inside a cluster of width `1e-9` its vectors were rotated so
/// far that their Rayleigh quotients missed the values by `1e-10`. Jacobi rotations are
/// backward stable and, with the threshold below, compute every eigenvalue to
/// `≈ ε·√|aᵢᵢaⱼⱼ|`-level perturbations of the converged diagonal (Demmel & Veselić 1992);
/// the matrices here are small (`n ≲ 100`), where its `O(n³)` per sweep (5–10 sweeps) is a
/// few microseconds to milliseconds. (faer's decomposition would also do, at the cost of
/// ~100 more crates to build for matrices of this size.)
///
/// A rotation is applied to `(p, q)` while `|a_pq| > ε·max(√|a_pp a_qq|, ε‖A‖_F)`; the
/// method stops after a sweep with no rotation (at most 100 sweeps).
pub fn symmetric_eigen(a: &DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let n = a.nrows();
    let mut m = (a + a.transpose()) * 0.5;
    let mut v = DMatrix::identity(n, n);
    let floor = f64::EPSILON * m.norm();
    for _sweep in 0..100 {
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[(p, q)];
                let (app, aqq) = (m[(p, p)], m[(q, q)]);
                if apq.abs() <= f64::EPSILON * (app * aqq).abs().sqrt().max(floor) {
                    continue;
                }
                rotated = true;
                // tan of the rotation angle: the smaller root of t² + 2θt − 1 = 0.
                let theta = (aqq - app) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..n {
                    let (mkp, mkq) = (m[(k, p)], m[(k, q)]);
                    m[(k, p)] = c * mkp - s * mkq;
                    m[(k, q)] = s * mkp + c * mkq;
                }
                for k in 0..n {
                    let (mpk, mqk) = (m[(p, k)], m[(q, k)]);
                    m[(p, k)] = c * mpk - s * mqk;
                    m[(q, k)] = s * mpk + c * mqk;
                }
                m[(p, p)] = app - t * apq;
                m[(q, q)] = aqq + t * apq;
                m[(p, q)] = 0.0;
                m[(q, p)] = 0.0;
                for k in 0..n {
                    let (vkp, vkq) = (v[(k, p)], v[(k, q)]);
                    v[(k, p)] = c * vkp - s * vkq;
                    v[(k, q)] = s * vkp + c * vkq;
                }
            }
        }
        if !rotated {
            break;
        }
    }
    ((0..n).map(|i| m[(i, i)]).collect(), v)
}

/// Symmetric eigen-decomposition (see [`SymEigen`]). The input is symmetrized first.
pub fn sym_eigen(a: &DMatrix<f64>) -> SymEigen {
    let (raw_values, raw_vectors) = symmetric_eigen(a);
    let n = a.nrows();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| raw_values[i].total_cmp(&raw_values[j]));
    let values = order.iter().map(|&i| raw_values[i]).collect();
    let mut vectors = DMatrix::zeros(n, n);
    for (c, &i) in order.iter().enumerate() {
        let mut v = raw_vectors.column(i).clone_owned();
        let pivot = v
            .iter()
            .copied()
            .fold(0.0_f64, |m, x| if x.abs() > m.abs() { x } else { m });
        if pivot < 0.0 {
            v = -v;
        }
        vectors.set_column(c, &v);
    }
    SymEigen { values, vectors }
}

/// The effective Hessian `η·∇²f` (η = 0.3) of Berthier's codimension-2 example at a point of
/// its central flow (docs/central-flows.md): a near-degenerate pair `2 ± 6e-10` beside three
/// eigenvalues within `4e-6` of zero. A hard case for symmetric eigen-solvers, shared by the
/// tests of the dense solver here and of LOBPCG (`gdscope-curvature`).
#[cfg(any(test, feature = "fixtures"))]
pub fn berthier_codimension_two_hessian() -> DMatrix<f64> {
    let [x1, x2, y1, y2, y3] = [
        -0.007382566991725009,
        -0.004166746254268898,
        6.688804890188802,
        6.679160213535429,
        -3.26e-6,
    ];
    let s = 0.5f64.sqrt();
    #[rustfmt::skip]
    let h = DMatrix::from_row_slice(5, 5, &[
        y1 + 3.0 * x1, s * y3, x1, 0.0, s * x2,
        s * y3, y2 + 3.0 * x2, 0.0, x2, s * x1,
        x1, 0.0, 0.0, 0.0, 0.0,
        0.0, x2, 0.0, 0.0, 0.0,
        s * x2, s * x1, 0.0, 0.0, 0.0,
    ]);
    h * 0.3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_ascending_and_sign_fixed() {
        let a = DMatrix::from_row_slice(2, 2, &[4.0, 0.0, 0.0, 1.0]);
        let e = sym_eigen(&a);
        assert_eq!(e.values, vec![1.0, 4.0]);
        assert_eq!(e.vectors.column(0).as_slice(), &[0.0, 1.0]);
        assert_eq!(e.vectors.column(1).as_slice(), &[1.0, 0.0]);
    }

    /// nalgebra's own decomposition of this matrix (dimforge/nalgebra#1109) attaches the
    /// eigenvalues 11.93 and 0.0014 to each other's vectors (residuals ≈ 11.9).
    #[test]
    fn eigenvalues_are_paired_with_their_own_vectors() {
        #[rustfmt::skip]
        let m = DMatrix::from_row_slice(4, 4, &[
            -19884.07, -10.07188, 11.277279, -188560.63,
            -10.07188, 12.518197, 1.3770627, -102.97504,
            11.277279, 1.3770627, 14.587362, 113.26099,
            -188560.63, -102.97504, 113.26099, -1788112.3,
        ]);
        let (values, vectors) = symmetric_eigen(&m);
        let e = sym_eigen(&m);
        for (vals, vecs) in [(&values, &vectors), (&e.values, &e.vectors)] {
            for (i, &l) in vals.iter().enumerate() {
                let v = vecs.column(i);
                let residual = (&m * v - v * l).norm();
                assert!(residual < 1e-9, "pair {i}: λ = {l}, residual {residual}");
            }
        }
        assert!((e.values[1] - 0.0013738054).abs() < 1e-9, "{:?}", e.values);
        assert!((e.values[2] - 11.925443415).abs() < 1e-8, "{:?}", e.values);
    }

    /// A near-degenerate pair `2 ± 6e-10` beside three eigenvalues within `4e-6` of zero
    /// (the effective Hessian of Berthier's codimension-2 example, docs/central-flows.md):
    /// values as LAPACK's `dsyevd` (NumPy `eigh`) gives them, residuals at rounding level.
    #[test]
    fn near_degenerate_pair_beside_a_near_null_space() {
        let h = berthier_codimension_two_hessian();
        let e = sym_eigen(&h);
        assert!(
            (e.values[3] - 2.0 + 5.681606296548125e-10).abs() < 1e-14,
            "{:?}",
            e.values
        );
        assert!(
            (e.values[4] - 2.0 - 5.887401677284743e-10).abs() < 1e-14,
            "{:?}",
            e.values
        );
        assert!(
            (e.values[0] + 3.23388314e-06).abs() < 1e-14,
            "{:?}",
            e.values
        );
        for i in 0..5 {
            let v = e.vectors.column(i);
            assert!((&h * v - v * e.values[i]).norm() < 1e-14);
        }
        let gram = e.vectors.transpose() * &e.vectors;
        assert!((gram - DMatrix::identity(5, 5)).abs().max() < 1e-14);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// Random symmetric matrices with clustered spectra: residuals and orthogonality at
        /// rounding level, trace and Frobenius norm preserved.
        #[test]
        fn jacobi_decomposes_random_symmetric_matrices(n in 1usize..40, seed in 0u64..1000, cluster in 0.0f64..1e-6) {
            let entry = |i: usize, j: usize| ((seed as f64 + 1.0) * (i * 31 + j * 17 + 1) as f64).sin();
            let g = DMatrix::from_fn(n, n, entry);
            let q = g.qr().q();
            let d: Vec<f64> = (0..n).map(|i| if i % 3 == 0 { 1.0 + cluster * i as f64 } else { entry(i, i) * 5.0 }).collect();
            let a = &q * DMatrix::from_diagonal(&nalgebra::DVector::from_vec(d)) * q.transpose();
            let (values, vectors) = symmetric_eigen(&a);
            let norm = a.norm().max(1.0);
            for (i, &l) in values.iter().enumerate() {
                let v = vectors.column(i);
                proptest::prop_assert!((&a * v - v * l).norm() < 1e-13 * norm);
            }
            let gram = vectors.transpose() * &vectors;
            proptest::prop_assert!((gram - DMatrix::identity(n, n)).abs().max() < 1e-13);
            proptest::prop_assert!((values.iter().sum::<f64>() - a.trace()).abs() < 1e-12 * norm);
        }
    }

    #[test]
    fn cosine_edge_cases() {
        assert_eq!(cosine(&[1.0, 0.0], &[0.0, 0.0]), None);
        assert!((cosine(&[1.0, 1.0], &[-2.0, -2.0]).unwrap() + 1.0).abs() < 1e-15);
    }
}

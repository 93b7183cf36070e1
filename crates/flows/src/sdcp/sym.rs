//! Small dense helpers on symmetric matrices used by the SDCP solver: sorted eigen
//! decompositions, the projection onto the PSD cone and its derivative, step lengths to the
//! boundary of the cone, and congruences `H ↦ AHAᵀ` as `svec` matrices.

use nalgebra::{DMatrix, DVector};

use crate::svec::{pair_scale, pairs, svec_dim};

/// Eigenvalues (ascending) and eigenvectors (columns, matching) of the symmetric part of `m`.
pub(crate) fn sym_eig(m: &DMatrix<f64>) -> (Vec<f64>, DMatrix<f64>) {
    let k = m.nrows();
    let sym = (m + m.transpose()) * 0.5;
    let e = sym.symmetric_eigen();
    let mut order: Vec<usize> = (0..k).collect();
    order.sort_by(|&a, &b| e.eigenvalues[a].total_cmp(&e.eigenvalues[b]));
    let values = order.iter().map(|&i| e.eigenvalues[i]).collect();
    let vectors = DMatrix::from_fn(k, k, |r, c| e.eigenvectors[(r, order[c])]);
    (values, vectors)
}

/// Smallest eigenvalue of the symmetric part of `m` (`+∞` for an empty matrix).
pub(crate) fn min_eig(m: &DMatrix<f64>) -> f64 {
    if m.is_empty() {
        return f64::INFINITY;
    }
    sym_eig(m).0[0]
}

/// `Q diag(f(λ)) Qᵀ` from an eigen decomposition.
pub(crate) fn reassemble(
    values: &[f64],
    vectors: &DMatrix<f64>,
    f: impl Fn(f64) -> f64,
) -> DMatrix<f64> {
    let d = DVector::from_iterator(values.len(), values.iter().map(|&l| f(l)));
    let scaled = DMatrix::from_fn(vectors.nrows(), vectors.ncols(), |r, c| {
        vectors[(r, c)] * d[c]
    });
    let out = scaled * vectors.transpose();
    (&out + out.transpose()) * 0.5
}

/// The projection `Π₊(M)` of the symmetric part of `m` onto the PSD cone (negative
/// eigenvalues set to zero).
pub(crate) fn psd_part(m: &DMatrix<f64>) -> DMatrix<f64> {
    let (values, vectors) = sym_eig(m);
    reassemble(&values, &vectors, |l| l.max(0.0))
}

/// Largest `t ≥ 0` (capped at `cap`) with `X + t·D ⪰ 0`, for `X ≻ 0`: `−1/λ_min(L⁻¹DL⁻ᵀ)`
/// with `X = LLᵀ`. Returns 0 when `X` is not numerically positive definite.
pub(crate) fn step_to_boundary(x: &DMatrix<f64>, d: &DMatrix<f64>, cap: f64) -> f64 {
    let Some(chol) = x.clone().cholesky() else {
        return 0.0;
    };
    let l = chol.l();
    let Some(linv_d) = l.solve_lower_triangular(d) else {
        return 0.0;
    };
    let Some(m) = l.solve_lower_triangular(&linv_d.transpose()) else {
        return 0.0;
    };
    let lmin = min_eig(&m);
    if lmin >= 0.0 {
        cap
    } else {
        (-1.0 / lmin).min(cap)
    }
}

/// The `m × m` matrix of the congruence `H ↦ A H Aᵀ` on symmetric `k × k` matrices in
/// `svec` coordinates (`A` is `k × k`). Symmetric positive definite when `A` is invertible.
pub(crate) fn congruence_matrix(a: &DMatrix<f64>) -> DMatrix<f64> {
    let k = a.nrows();
    let m = svec_dim(k);
    let mut out = DMatrix::zeros(m, m);
    for (col, (i, j)) in pairs(k).enumerate() {
        // A E_p Aᵀ with E_ii = e_i e_iᵀ, E_ij = (e_i e_jᵀ + e_j e_iᵀ)/√2.
        let c = if i == j {
            1.0
        } else {
            std::f64::consts::FRAC_1_SQRT_2
        };
        for (row, (r, s)) in pairs(k).enumerate() {
            let v = if i == j {
                a[(r, i)] * a[(s, i)]
            } else {
                c * (a[(r, i)] * a[(s, j)] + a[(r, j)] * a[(s, i)])
            };
            out[(row, col)] = pair_scale(r, s) * v;
        }
    }
    out
}

/// The derivative of `Π₊` at the symmetric `Z = Q diag(λ) Qᵀ`, as an `m × m` `svec` matrix:
/// `H ↦ Q (Ω ∘ QᵀHQ) Qᵀ` with `Ω_ij = 1` if `λ_i, λ_j > 0`, `0` if both `≤ 0`, and the divided
/// difference `(λ_i⁺ − λ_j⁺)/(λ_i − λ_j)` otherwise (an element of the Clarke Jacobian; the
/// derivative itself where no eigenvalue is zero).
pub(crate) fn psd_projection_jacobian(values: &[f64], vectors: &DMatrix<f64>) -> DMatrix<f64> {
    let k = values.len();
    let omega = DMatrix::from_fn(k, k, |i, j| {
        let (a, b) = (values[i], values[j]);
        match (a > 0.0, b > 0.0) {
            (true, true) => 1.0,
            (false, false) => 0.0,
            _ => (a.max(0.0) - b.max(0.0)) / (a - b),
        }
    });
    // In the eigenbasis, svec(QᵀHQ) = Tᵀ svec(H) with T the congruence by Q; the map is
    // T · diag(svec(Ω)) · Tᵀ.
    let t = congruence_matrix(vectors);
    let w: Vec<f64> = pairs(k).map(|(i, j)| omega[(i, j)]).collect();
    let tw = DMatrix::from_fn(t.nrows(), t.ncols(), |r, c| t[(r, c)] * w[c]);
    let out = tw * t.transpose();
    (&out + out.transpose()) * 0.5
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::svec::{smat, svec};

    fn sample() -> DMatrix<f64> {
        DMatrix::from_row_slice(3, 3, &[2.0, -1.0, 0.5, -1.0, -3.0, 0.25, 0.5, 0.25, 1.0])
    }

    #[test]
    fn congruence_matrix_applies_a_h_at() {
        let a = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 0.0, -1.0, 0.5, 3.0, 0.0, 1.0, 1.0]);
        let h = sample();
        let direct = svec(&(&a * &h * a.transpose()));
        let via = congruence_matrix(&a) * DVector::from_vec(svec(&h));
        for (d, v) in direct.iter().zip(via.iter()) {
            assert!((d - v).abs() < 1e-12);
        }
    }

    #[test]
    fn projection_jacobian_matches_finite_differences() {
        let z = sample();
        let (values, vectors) = sym_eig(&z);
        let jac = psd_projection_jacobian(&values, &vectors);
        let h = DMatrix::from_row_slice(3, 3, &[0.3, 0.1, -0.2, 0.1, 0.7, 0.4, -0.2, 0.4, -0.5]);
        let eps = 1e-6;
        let fd = (psd_part(&(&z + &h * eps)) - psd_part(&(&z - &h * eps))) / (2.0 * eps);
        let lin = smat((&jac * DVector::from_vec(svec(&h))).as_slice());
        assert!((fd - lin).abs().max() < 1e-8);
    }

    #[test]
    fn step_to_boundary_finds_the_first_singular_point() {
        let x = DMatrix::<f64>::identity(2, 2);
        let d = DMatrix::from_row_slice(2, 2, &[-2.0, 0.0, 0.0, 1.0]);
        assert!((step_to_boundary(&x, &d, 10.0) - 0.5).abs() < 1e-14);
        assert_eq!(step_to_boundary(&x, &d.abs(), 10.0), 10.0);
        let psd = psd_part(&sample());
        assert!(min_eig(&psd) > -1e-14);
    }
}

//! Symmetric matrices as vectors: the isometric packing `svec` and the pair-vector scaling
//! that goes with it (docs/central-flows.md "Conventions").
//!
//! `svec(X)` lists the upper triangle of a symmetric `k × k` matrix row by row — (0,0), (0,1),
//! …, (0,k−1), (1,1), … — the order of [`gdscope_core::pair_index`], with off-diagonal entries
//! multiplied by `√2`, so that `⟨X, Y⟩ = tr(XY) = svec(X)·svec(Y)`. A linear operator `β` on
//! symmetric matrices is then the `m × m` matrix `B` (`m = k(k+1)/2`) with
//! `svec(β[X]) = B svec(X)`; `β` is self-adjoint iff `B` is symmetric and PSD iff `B` is.
//!
//! Central flows contract `X` with the pair vectors `∇(u_kᵀHu_l)` over **all** `k, l`
//! (docs/theory.md §5): `Σ_kl X_kl ∇(u_kᵀHu_l) = Σ_{k≤l} svec(X)_kl · s_kl ∇(u_kᵀHu_l)` with
//! `s_kl = 1` on the diagonal and `√2` off it. So the pair vectors are scaled by the same
//! [`pair_scale`] as `X` is packed with; packing `X` with `√2` but leaving the pair vectors
//! unscaled (as the JAX package does) under-weights every off-diagonal coupling by `√2`.

use nalgebra::DMatrix;

/// `m = k(k+1)/2`, the length of `svec` of a `k × k` symmetric matrix.
pub fn svec_dim(k: usize) -> usize {
    k * (k + 1) / 2
}

/// The `k` with `k(k+1)/2 = m`, if there is one.
pub fn svec_order(m: usize) -> Option<usize> {
    let k = ((((8 * m + 1) as f64).sqrt() - 1.0) / 2.0).round() as usize;
    (svec_dim(k) == m).then_some(k)
}

/// `1` for a diagonal pair `(i, i)`, `√2` for an off-diagonal pair.
pub fn pair_scale(i: usize, j: usize) -> f64 {
    if i == j {
        1.0
    } else {
        std::f64::consts::SQRT_2
    }
}

/// The pairs `(i, j)`, `i ≤ j < k`, in `svec` order.
pub fn pairs(k: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..k).flat_map(move |i| (i..k).map(move |j| (i, j)))
}

/// `svec(X)` of the symmetric part of `x` (`x` square).
pub fn svec(x: &DMatrix<f64>) -> Vec<f64> {
    let k = x.nrows();
    pairs(k)
        .map(|(i, j)| pair_scale(i, j) * 0.5 * (x[(i, j)] + x[(j, i)]))
        .collect()
}

/// Writes `svec(X)` of the symmetric part of `x` into `out` (length `k(k+1)/2`).
pub fn svec_into(x: &DMatrix<f64>, out: &mut [f64]) {
    let k = x.nrows();
    for (o, (i, j)) in out.iter_mut().zip(pairs(k)) {
        *o = pair_scale(i, j) * 0.5 * (x[(i, j)] + x[(j, i)]);
    }
}

/// The symmetric `k × k` matrix with `svec = v` (`v.len() = k(k+1)/2`).
///
/// # Panics
/// If `v.len()` is not a triangular number (an internal invariant: callers size `v` with
/// [`svec_dim`]).
pub fn smat(v: &[f64]) -> DMatrix<f64> {
    let k = svec_order(v.len()).expect("svec length must be k(k+1)/2");
    let mut x = DMatrix::zeros(k, k);
    for (&vi, (i, j)) in v.iter().zip(pairs(k)) {
        let e = vi / pair_scale(i, j);
        x[(i, j)] = e;
        x[(j, i)] = e;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdscope_core::pair_index;

    #[test]
    fn svec_is_an_isometry_and_smat_inverts_it() {
        let x = DMatrix::from_row_slice(3, 3, &[1.0, 2.0, 3.0, 2.0, 4.0, 5.0, 3.0, 5.0, 6.0]);
        let y = DMatrix::from_row_slice(3, 3, &[0.5, -1.0, 0.0, -1.0, 2.0, 1.5, 0.0, 1.5, -3.0]);
        let inner: f64 = (&x * &y).trace();
        let packed: f64 = svec(&x).iter().zip(svec(&y)).map(|(a, b)| a * b).sum();
        assert!((inner - packed).abs() < 1e-12);
        assert_eq!(smat(&svec(&x)), x);
        let mut out = vec![0.0; 6];
        svec_into(&y, &mut out);
        assert_eq!(out, svec(&y));
    }

    #[test]
    fn order_matches_the_pair_index_of_core() {
        for k in 1..8 {
            for (c, (i, j)) in pairs(k).enumerate() {
                assert_eq!(pair_index(i, j, k), c);
            }
            assert_eq!(svec_order(svec_dim(k)), Some(k));
        }
        assert_eq!(svec_order(4), None);
        assert_eq!(svec_order(0), Some(0));
    }
}

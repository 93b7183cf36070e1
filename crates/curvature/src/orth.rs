//! Orthonormalization of a block against an orthonormal basis and among its own columns,
//! robust to rank deficiency (the failure mode of LOBPCG near convergence).
//!
//! Method: project out the basis (classical Gram–Schmidt), then *SVQB* (Stathopoulos & Wu,
//! 2002): with the Gram matrix `G = YᵀY = U Σ Uᵀ`, take `Q = Y U_r Σ_r^{-1/2}` over the
//! eigenvalues above `GRAM_DROP · max(Σ)`. Directions below that are numerically dependent and
//! are dropped, so the result may have fewer columns. Columns are normalized first (scaling
//! makes the Gram matrix as well-conditioned as possible) and the whole pass is done twice
//! ("twice is enough"), which restores orthonormality to rounding level even when the
//! first pass squared a condition number of up to `1/√GRAM_DROP`.
//! Inputs must be finite (callers check operator outputs).

use gdscope_core::linalg::symmetric_eigen;
use gdscope_core::Block;

use crate::tall::{combine, combined, gram};

/// Relative cut-off on Gram eigenvalues (singular values below `1e-7·σ_max` are dropped).
const GRAM_DROP: f64 = 1e-14;
/// A column that keeps less than this fraction of its norm when the basis is projected out
/// lies in the basis' span (to rounding): it is dropped *before* normalization, which would
/// otherwise blow its rounding noise up to a unit vector that is not orthogonal to the basis
/// (the failure when `span[basis, v]` exhausts the space, e.g. LOBPCG with `3k ≥ n`).
const SPAN_DROP: f64 = 1e-10;

/// Orthonormalizes the columns of `v` against the orthonormal columns of `basis` and among
/// themselves, dropping numerically dependent directions (the result may be narrower).
pub(crate) fn orthonormalize(v: Block, basis: &Block) -> Block {
    orthonormalize_against(v, &[basis])
}

/// [`orthonormalize`] against the columns of several blocks, `[B₁ B₂ …]` orthonormal as a
/// whole (not concatenated: the tall products run over the list, see [`crate::tall`]).
pub(crate) fn orthonormalize_against(mut v: Block, basis: &[&Block]) -> Block {
    let basis: Vec<&Block> = basis.iter().copied().filter(|b| b.ncols() > 0).collect();
    for _pass in 0..2 {
        let before: Vec<f64> = v.column_iter().map(|c| c.norm()).collect();
        if !basis.is_empty() {
            let c = -gram(&basis, &[&v]);
            combine(&basis, &c, &mut [&mut v], true);
        }
        let kept: Vec<usize> = (0..v.ncols())
            .filter(|&j| {
                let s = v.column(j).norm();
                s > 0.0 && s > SPAN_DROP * before[j]
            })
            .collect();
        if kept.is_empty() {
            return Block::zeros(v.nrows(), 0);
        }
        if kept.len() < v.ncols() {
            v = v.select_columns(&kept);
        }
        for mut col in v.column_iter_mut() {
            let s = col.norm();
            col /= s;
        }
        let (values, vectors) = symmetric_eigen(&gram(&[&v], &[&v]));
        let top = values.iter().copied().fold(0.0, f64::max);
        let keep: Vec<usize> = (0..values.len())
            .filter(|&i| values[i] > GRAM_DROP * top)
            .collect();
        let mut t = Block::zeros(values.len(), keep.len());
        for (c, &i) in keep.iter().enumerate() {
            t.set_column(c, &(vectors.column(i) / values[i].sqrt()));
        }
        v = combined(&[&v], &t);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn orth_err(q: &Block) -> f64 {
        (q.transpose() * q - Block::identity(q.ncols(), q.ncols()))
            .abs()
            .max()
    }

    #[test]
    fn drops_dependent_columns() {
        let basis = Block::identity(6, 1);
        let mut v = Block::from_fn(6, 3, |i, j| ((i * 3 + j) as f64).sin());
        // Third column = first + 2·second + a basis component: dependent after projection.
        let dep = v.column(0) + v.column(1) * 2.0 + basis.column(0) * 5.0;
        v.set_column(2, &dep);
        let q = orthonormalize(v, &basis);
        assert_eq!(q.ncols(), 2);
        assert!(orth_err(&q) < 1e-14);
        assert!((basis.transpose() * &q).abs().max() < 1e-14);
    }

    #[test]
    fn ill_conditioned_block_is_orthonormal_after_two_passes() {
        let mut v = Block::from_fn(50, 4, |i, j| ((i + 1) as f64 * (j + 1) as f64).cos());
        // Column 3 = column 0 + 1e-6 · (a direction outside the other columns' span).
        let near = v.column(0) + Block::from_fn(50, 1, |i, _| ((i * i) as f64).sin()) * 1e-6;
        v.set_column(3, &near);
        let q = orthonormalize(v, &Block::zeros(50, 0));
        assert_eq!(q.ncols(), 4);
        assert!(orth_err(&q) < 1e-13, "{}", orth_err(&q));
    }

    #[test]
    fn a_column_in_the_span_of_a_full_basis_is_dropped() {
        // Projecting out a full orthonormal basis leaves rounding noise; normalized, that
        // noise would be a unit vector with an O(1) component along the basis.
        let q = Block::from_fn(5, 5, |i, j| ((i * 5 + j) as f64 * 0.7).sin())
            .qr()
            .q();
        let v = Block::from_fn(5, 2, |i, j| ((i + 3 * j) as f64).cos());
        assert_eq!(orthonormalize(v.clone(), &q).ncols(), 0);
        // Against four of the five columns exactly one direction survives.
        let four = q.columns(0, 4).clone_owned();
        let w = orthonormalize(v, &four);
        assert_eq!(w.ncols(), 1);
        assert!((four.transpose() * &w).abs().max() < 1e-14);
    }

    #[test]
    fn block_inside_basis_span_vanishes() {
        let basis = Block::identity(5, 2);
        let v = Block::from_fn(5, 2, |i, j| if i < 2 { (i + j + 1) as f64 } else { 0.0 });
        assert_eq!(orthonormalize(v, &basis).ncols(), 0);
    }
}

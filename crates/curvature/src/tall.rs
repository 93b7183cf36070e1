//! Tall-skinny block algebra of the eigen-solvers: Gram matrices `Aᵀ·B` and basis
//! combinations `[B₁ B₂ …]·C` over *lists* of `n × kᵢ` blocks, without concatenating them.
//!
//! The blocks of LOBPCG are a few columns of a parameter-sized dimension (`n` up to millions,
//! `k` ≤ 24), so each product is bound by memory traffic, not arithmetic. Both kernels walk
//! the rows in chunks of [`ROWS`] that stay in the L1 cache and read every input column once
//! per call (nalgebra's general products read the tall operand once per output column, and a
//! concatenation or a transpose first copies it). The chunking depends on `n` alone and the
//! per-chunk sums are added in chunk order, so results are bitwise reproducible.

use gdscope_core::simd::{self, Kernel};
use gdscope_core::Block;
use nalgebra::DMatrix;

/// Rows per chunk: 12 columns of 256 `f64` are 24 KiB, inside the L1 data cache.
const ROWS: usize = 256;

/// The columns of the blocks in order, each a contiguous slice of `n` values.
fn columns<'a>(blocks: &[&'a Block]) -> Vec<&'a [f64]> {
    blocks
        .iter()
        .flat_map(|b| {
            let n = b.nrows().max(1);
            b.as_slice().chunks_exact(n)
        })
        .collect()
}

/// `Σ x_r y_r` with eight independent partial sums (vectorisable; fixed order).
#[inline(always)]
fn dot(x: &[f64], y: &[f64]) -> f64 {
    let mut acc = [0.0f64; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let (xr, yr) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += a[l] * b[l];
        }
    }
    let tail: f64 = xr.iter().zip(yr).map(|(a, b)| a * b).sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// The chunked loop of [`gram`], compiled at the CPU's SIMD level.
struct GramKernel<'a> {
    a: Vec<&'a [f64]>,
    b: Vec<&'a [f64]>,
    g: &'a mut DMatrix<f64>,
}

impl Kernel for GramKernel<'_> {
    #[inline(always)]
    fn run(self) {
        let n = self
            .a
            .iter()
            .chain(&self.b)
            .map(|c| c.len())
            .max()
            .unwrap_or(0);
        let mut start = 0;
        while start < n {
            let end = (start + ROWS).min(n);
            for (j, y) in self.b.iter().enumerate() {
                for (i, x) in self.a.iter().enumerate() {
                    self.g[(i, j)] += dot(&x[start..end], &y[start..end]);
                }
            }
            start = end;
        }
    }
}

/// `[A₁ A₂ …]ᵀ · [B₁ B₂ …]` (all blocks with the same row count `n`).
pub(crate) fn gram(a: &[&Block], b: &[&Block]) -> DMatrix<f64> {
    let (a, b) = (columns(a), columns(b));
    let mut g = DMatrix::zeros(a.len(), b.len());
    simd::dispatch(GramKernel { a, b, g: &mut g });
    g
}

/// The chunked loop of [`combine`], compiled at the CPU's SIMD level.
struct CombineKernel<'a, 'o> {
    inputs: Vec<&'a [f64]>,
    c: &'a DMatrix<f64>,
    outputs: Vec<&'o mut [f64]>,
    accumulate: bool,
}

impl Kernel for CombineKernel<'_, '_> {
    #[inline(always)]
    fn run(mut self) {
        let n = self.inputs.first().map_or(0, |x| x.len());
        let mut start = 0;
        while start < n {
            let end = (start + ROWS).min(n);
            for (j, o) in self.outputs.iter_mut().enumerate() {
                let o = &mut o[start..end];
                if !self.accumulate {
                    o.fill(0.0);
                }
                for (i, x) in self.inputs.iter().enumerate() {
                    let w = self.c[(i, j)];
                    if w != 0.0 {
                        o.iter_mut()
                            .zip(&x[start..end])
                            .for_each(|(o, x)| *o += w * x);
                    }
                }
            }
            start = end;
        }
    }
}

/// `[B₁ B₂ …] · C`, the product's columns written to the blocks of `out` in order (their
/// column counts must add up to `C`'s); `accumulate` adds the product to `out` instead.
pub(crate) fn combine(
    blocks: &[&Block],
    c: &DMatrix<f64>,
    out: &mut [&mut Block],
    accumulate: bool,
) {
    let inputs = columns(blocks);
    assert_eq!(
        inputs.len(),
        c.nrows(),
        "combine: basis and coefficients disagree"
    );
    let outputs: Vec<&mut [f64]> = out
        .iter_mut()
        .flat_map(|b| {
            let n = b.nrows().max(1);
            b.as_mut_slice().chunks_exact_mut(n)
        })
        .collect();
    assert_eq!(
        outputs.len(),
        c.ncols(),
        "combine: output and coefficients disagree"
    );
    simd::dispatch(CombineKernel {
        inputs,
        c,
        outputs,
        accumulate,
    });
}

/// `[B₁ B₂ …] · C` as a new `n × C.ncols()` block.
pub(crate) fn combined(blocks: &[&Block], c: &DMatrix<f64>) -> Block {
    let n = blocks.first().map_or(0, |b| b.nrows());
    let mut out = Block::zeros(n, c.ncols());
    combine(blocks, c, &mut [&mut out], false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hcat(a: &Block, b: &Block) -> Block {
        let mut out = Block::zeros(a.nrows(), a.ncols() + b.ncols());
        out.columns_mut(0, a.ncols()).copy_from(a);
        out.columns_mut(a.ncols(), b.ncols()).copy_from(b);
        out
    }

    fn block(n: usize, k: usize, seed: f64) -> Block {
        Block::from_fn(n, k, |i, j| {
            ((i as f64 + 1.0) * (j as f64 + seed) * 0.37).sin()
        })
    }

    #[test]
    fn gram_and_combine_match_the_products_of_the_concatenations() {
        for n in [1, 7, 255, 256, 257, 1000] {
            let (a1, a2, b1) = (block(n, 2, 1.0), block(n, 3, 2.0), block(n, 1, 3.0));
            let a = hcat(&a1, &a2);
            let g = gram(&[&a1, &a2], &[&a1, &b1]);
            let want = a.tr_mul(&hcat(&a1, &b1));
            assert!((g - &want).abs().max() < 1e-10 * n as f64, "n = {n}");
            let c = DMatrix::from_fn(5, 4, |i, j| (i as f64 - j as f64) * 0.5 + 0.1);
            let (mut x, mut y) = (Block::zeros(n, 1), Block::zeros(n, 3));
            combine(&[&a1, &a2], &c, &mut [&mut x, &mut y], false);
            let want = &a * &c;
            assert!((hcat(&x, &y) - &want).abs().max() < 1e-12);
            let mut acc = want.clone();
            combine(&[&a1, &a2], &c, &mut [&mut acc], true);
            assert!((acc - &want * 2.0).abs().max() < 1e-12);
            assert!((combined(&[&a1, &a2], &c) - want).abs().max() < 1e-12);
        }
    }
}

//! Tall-skinny block algebra of the eigen-solvers: Gram matrices `Aᵀ·B` and basis
//! combinations `[B₁ B₂ …]·C` over *lists* of `n × kᵢ` blocks, without concatenating them.
//!
//! The blocks of LOBPCG are a few columns of a parameter-sized dimension (`n` up to millions,
//! `k` ≤ 24), so each product is bound by memory traffic, not arithmetic. Both kernels walk
//! the rows in chunks of [`ROWS`] that stay in the L1 cache and read every input column once
//! per call (nalgebra's general products read the tall operand once per output column, and a
//! concatenation or a transpose first copies it). Large products are cut into one row piece
//! per 64 Ki elements, spread over the threads. The chunking depends on the shape alone and
//! partial sums are added in a fixed order, so results are bitwise the same for any thread
//! count and schedule.

use std::ops::Range;

use gdscope_core::linalg::dot;
use gdscope_core::simd::{self, Kernel};
use gdscope_core::Block;
use nalgebra::DMatrix;
use rayon::prelude::*;

/// Rows per chunk: 12 columns of 256 `f64` are 24 KiB, inside the L1 data cache.
const ROWS: usize = 256;
/// Fewest elements (rows × columns read and written) for which a product is split over
/// threads: below it a rayon dispatch costs more than the second core saves.
const PAR_MIN_ELEMENTS: usize = 1 << 16;
/// Most row pieces of one product.
const MAX_PIECES: usize = 16;

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

/// [`gram`] over the rows `rows` of its columns, compiled at the CPU's SIMD level.
struct GramKernel<'a, 'g> {
    a: &'a [&'a [f64]],
    b: &'a [&'a [f64]],
    rows: Range<usize>,
    g: &'g mut DMatrix<f64>,
}

impl Kernel for GramKernel<'_, '_> {
    #[inline(always)]
    fn run(self) {
        let mut start = self.rows.start;
        while start < self.rows.end {
            let end = (start + ROWS).min(self.rows.end);
            for (j, y) in self.b.iter().enumerate() {
                for (i, x) in self.a.iter().enumerate() {
                    self.g[(i, j)] += dot(&x[start..end], &y[start..end]);
                }
            }
            start = end;
        }
    }
}

/// Row pieces of a tall product over `n` rows and `cols` columns in all: one piece per
/// [`PAR_MIN_ELEMENTS`] elements, at most [`MAX_PIECES`], with boundaries on chunk multiples.
/// The pieces depend on the shape alone (not on the thread count), so the results do too.
fn pieces(n: usize, cols: usize) -> Vec<Range<usize>> {
    let count = (n.saturating_mul(cols) / PAR_MIN_ELEMENTS).clamp(1, MAX_PIECES);
    let per = n.div_ceil(count).div_ceil(ROWS) * ROWS;
    (0..count)
        .map(|t| (t * per).min(n)..((t + 1) * per).min(n))
        .filter(|r| !r.is_empty())
        .collect()
}

/// `f` on every piece, on rayon's workers when there are several (one piece runs on the
/// calling thread: no thread wake-up for small products).
fn for_pieces<P: Send>(pieces: Vec<P>, f: impl Fn(P) + Sync) {
    if pieces.len() <= 1 {
        pieces.into_iter().for_each(f);
    } else {
        pieces.into_par_iter().for_each(&f);
    }
}

/// `[A₁ A₂ …]ᵀ · [B₁ B₂ …]` (all blocks with the same row count `n`). With several row
/// pieces, each piece's Gram matrix is computed as its own task and the pieces are added in
/// order.
pub(crate) fn gram(a: &[&Block], b: &[&Block]) -> DMatrix<f64> {
    let (a, b) = (columns(a), columns(b));
    let n = a.iter().chain(&b).map(|c| c.len()).max().unwrap_or(0);
    let rows = pieces(n, a.len() + b.len());
    let mut parts: Vec<DMatrix<f64>> = rows
        .iter()
        .map(|_| DMatrix::zeros(a.len(), b.len()))
        .collect();
    for_pieces(
        rows.into_iter().zip(parts.iter_mut()).collect(),
        |(rows, g)| {
            simd::dispatch(GramKernel {
                a: &a,
                b: &b,
                rows,
                g,
            })
        },
    );
    let mut parts = parts.into_iter();
    let first = parts
        .next()
        .unwrap_or_else(|| DMatrix::zeros(a.len(), b.len()));
    parts.fold(first, |acc, g| acc + g)
}

/// [`combine`] on one row piece: `outputs` are the piece's parts of the output columns.
struct CombineKernel<'a, 'o> {
    inputs: &'a [&'a [f64]],
    c: &'a DMatrix<f64>,
    rows: Range<usize>,
    outputs: Vec<&'o mut [f64]>,
    accumulate: bool,
}

impl Kernel for CombineKernel<'_, '_> {
    #[inline(always)]
    fn run(mut self) {
        let base = self.rows.start;
        let mut start = base;
        while start < self.rows.end {
            let end = (start + ROWS).min(self.rows.end);
            for (j, o) in self.outputs.iter_mut().enumerate() {
                let o = &mut o[start - base..end - base];
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
/// Row pieces run on separate threads (each output element is written by one piece).
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
    let n = inputs.first().map_or(0, |x| x.len());
    let rows = pieces(n, inputs.len() + c.ncols());
    // Each output column cut at the piece boundaries; piece t gets the t-th part of every column.
    let mut parts: Vec<Vec<&mut [f64]>> = rows.iter().map(|_| Vec::new()).collect();
    let mut columns_out = 0;
    for b in out.iter_mut() {
        let len = b.nrows().max(1);
        for mut col in b.as_mut_slice().chunks_exact_mut(len) {
            columns_out += 1;
            for (part, r) in parts.iter_mut().zip(&rows) {
                let (head, tail) = col.split_at_mut(r.len());
                part.push(head);
                col = tail;
            }
        }
    }
    assert_eq!(
        columns_out,
        c.ncols(),
        "combine: output and coefficients disagree"
    );
    for_pieces(rows.into_iter().zip(parts).collect(), |(rows, outputs)| {
        simd::dispatch(CombineKernel {
            inputs: &inputs,
            c,
            rows,
            outputs,
            accumulate,
        })
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

    #[test]
    fn split_products_are_bitwise_the_same_for_every_thread_count() {
        let n = 100_003;
        let (a, b) = (block(n, 3, 1.0), block(n, 2, 2.0));
        assert!(pieces(n, 5).len() > 1);
        let c = DMatrix::from_fn(3, 2, |i, j| (i + 2 * j) as f64 * 0.3 - 0.4);
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap()
                .install(|| (gram(&[&a], &[&a, &b]), combined(&[&a], &c)))
        };
        let (g1, x1) = run(1);
        for threads in [2, 3] {
            let (g, x) = run(threads);
            assert!(g
                .iter()
                .zip(g1.iter())
                .all(|(p, q)| p.to_bits() == q.to_bits()));
            assert_eq!(x, x1);
        }
        assert!((g1 - a.tr_mul(&hcat(&a, &b))).abs().max() < 1e-9);
        assert!((x1 - &a * &c).abs().max() < 1e-12);
    }
}

//! Small jet matrices owned by one block of rows (one example, one token sequence, a chunk of
//! rows), and the algebra on them that the structured layers (conv, layer norm, attention) are
//! written in.
//!
//! A [`JMat`] holds one `rows × cols` row-major matrix per monomial of an [`Algebra`]; a
//! coefficient that is exactly zero is stored as `None` and skipped by every product, so a
//! parameter jet (degree ≤ 1) multiplied by an activation jet costs only the non-zero terms.
//! Every operation is the corresponding real operation evaluated in the truncated polynomial
//! ring: matrix products expand by the Leibniz rule `C_m = Σ_{a·b = m} A_a B_b` (one GEMM per
//! term), smooth scalar functions by their Taylor series ([`JMat::map`]). Because the ring is
//! commutative, any algebraic identity of real numbers (e.g. the closed-form layer-norm or
//! softmax backward) holds exactly for jets, so reverse rules written with these operations are
//! exact to the algebra's order (docs/engine.md §"Structured layers").

use crate::algebra::Algebra;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::ParamJet;
use crate::matmul::{gemm, MatRef};
use rayon::prelude::*;
use std::ops::Range;

/// A jet of `rows × cols` matrices: `c[m]` is the coefficient of monomial `m` (`None` = 0).
#[derive(Debug, Clone)]
pub struct JMat<T> {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// One entry per monomial of the algebra.
    pub c: Vec<Option<Vec<T>>>,
}

impl<T: Float> JMat<T> {
    /// The zero jet with `monomials` coefficients.
    pub fn zero(monomials: usize, rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            c: vec![None; monomials],
        }
    }

    /// Elements per coefficient.
    pub fn size(&self) -> usize {
        self.rows * self.cols
    }

    /// Coefficient `m` for writing (materialized as zeros if it was `None`).
    pub fn coeff_mut(&mut self, m: usize) -> &mut Vec<T> {
        let size = self.size();
        self.c[m].get_or_insert_with(|| vec![T::zero(); size])
    }

    /// A parameter tensor `p[range]` as a jet: value at `1`, direction `i` at `εᵢ`, no
    /// degree-two terms (parameters are linear in ε).
    pub fn param(
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        range: Range<usize>,
        rows: usize,
        cols: usize,
    ) -> Self {
        debug_assert_eq!(range.len(), rows * cols);
        let mut m = Self::zero(alg.len(), rows, cols);
        m.c[0] = Some(p.primal()[range.clone()].to_vec());
        for (i, d) in p.dirs().enumerate() {
            m.c[alg.dir(i)] = Some(d[range.clone()].to_vec());
        }
        m
    }

    /// Rows `rows` of a batch jet, every stored coefficient, seen as a `shape.0 × shape.1` matrix.
    pub fn rows_of(
        alg: &Algebra,
        x: JetRef<'_, T>,
        rows: Range<usize>,
        shape: (usize, usize),
    ) -> Self {
        let (cols, size) = (x.cols, x.rows * x.cols);
        debug_assert_eq!(rows.len() * cols, shape.0 * shape.1);
        let mut m = Self::zero(alg.len(), shape.0, shape.1);
        for (k, slot) in m.c.iter_mut().enumerate().take(x.coeffs) {
            let base = k * size;
            *slot = Some(x.data[base + rows.start * cols..base + rows.end * cols].to_vec());
        }
        m
    }

    /// `(A_m)ᵀ` or `A_m` as a GEMM operand.
    fn operand(&self, m: usize, transpose: bool) -> Option<MatRef<'_, T>> {
        self.c[m].as_deref().map(|d| {
            let v = MatRef::new(d, self.rows, self.cols);
            if transpose {
                v.t()
            } else {
                v
            }
        })
    }

    fn shape(&self, transpose: bool) -> (usize, usize) {
        if transpose {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Adds coefficient `m` of `op(A)·op(B)` into `out` (`Σ_{a·b = m} op(A_a) op(B_b)`);
    /// returns false (and leaves `out` untouched) when every term is zero.
    pub fn matmul_coeff_into(
        alg: &Algebra,
        a: &Self,
        ta: bool,
        b: &Self,
        tb: bool,
        m: usize,
        out: &mut [T],
    ) -> bool {
        let mut any = false;
        for &(p, q) in alg.terms(m) {
            if let (Some(x), Some(y)) = (a.operand(p, ta), b.operand(q, tb)) {
                gemm(out, x, y, true);
                any = true;
            }
        }
        any
    }

    /// `op(A)·op(B)` in the algebra (all coefficients).
    pub fn matmul(alg: &Algebra, a: &Self, ta: bool, b: &Self, tb: bool) -> Self {
        let ((r, k1), (k2, cc)) = (a.shape(ta), b.shape(tb));
        assert_eq!(k1, k2, "jet matmul: inner dimensions differ");
        let mut out = Self::zero(alg.len(), r, cc);
        let mut buf = vec![T::zero(); r * cc];
        for m in 0..alg.len() {
            if Self::matmul_coeff_into(alg, a, ta, b, tb, m, &mut buf) {
                out.c[m] = Some(std::mem::replace(&mut buf, vec![T::zero(); r * cc]));
            }
        }
        out
    }

    /// Index into `b` for element `(i, j)` of a `rows × cols` result, broadcasting `b` when it
    /// has one row and/or one column.
    fn broadcast_index(b: &Self, cols: usize) -> impl Fn(usize) -> usize + '_ {
        move |e| {
            let (i, j) = (e / cols, e % cols);
            let bi = if b.rows == 1 { 0 } else { i };
            let bj = if b.cols == 1 { 0 } else { j };
            bi * b.cols + bj
        }
    }

    fn check_broadcast(&self, b: &Self) {
        assert!(
            (b.rows == 1 || b.rows == self.rows) && (b.cols == 1 || b.cols == self.cols),
            "jet broadcast: {}×{} does not broadcast to {}×{}",
            b.rows,
            b.cols,
            self.rows,
            self.cols
        );
    }

    /// Elementwise product `A ∘ B` in the algebra (`B` may broadcast along rows or columns).
    pub fn mul(alg: &Algebra, a: &Self, b: &Self) -> Self {
        a.check_broadcast(b);
        let mut out = Self::zero(alg.len(), a.rows, a.cols);
        let idx = Self::broadcast_index(b, a.cols);
        for m in 0..alg.len() {
            for &(p, q) in alg.terms(m) {
                if let (Some(x), Some(y)) = (a.c[p].as_deref(), b.c[q].as_deref()) {
                    let o = out.coeff_mut(m);
                    for (e, (ov, xv)) in o.iter_mut().zip(x).enumerate() {
                        *ov = *ov + *xv * y[idx(e)];
                    }
                }
            }
        }
        out
    }

    /// `A += s·B` for every coefficient (`B` may broadcast).
    pub fn add_scaled(&mut self, s: T, b: &Self) {
        self.check_broadcast(b);
        let cols = self.cols;
        for (m, bm) in b.c.iter().enumerate() {
            if let Some(y) = bm.as_deref() {
                let idx = Self::broadcast_index(b, cols);
                for (e, ov) in self.coeff_mut(m).iter_mut().enumerate() {
                    *ov = *ov + s * y[idx(e)];
                }
            }
        }
    }

    /// Multiplies every coefficient by the real number `s`.
    pub fn scale(&mut self, s: T) {
        for v in self.c.iter_mut().flatten() {
            v.iter_mut().for_each(|x| *x = *x * s);
        }
    }

    /// Row sums (`rows × 1`), coefficientwise.
    pub fn row_sums(&self) -> Self {
        let mut out = Self::zero(self.c.len(), self.rows, 1);
        for (o, v) in out.c.iter_mut().zip(&self.c) {
            *o = v.as_deref().map(|v| {
                v.chunks(self.cols)
                    .map(|r| r.iter().copied().sum())
                    .collect()
            });
        }
        out
    }

    /// Column sums (`1 × cols`), coefficientwise.
    pub fn col_sums(&self) -> Self {
        let mut out = Self::zero(self.c.len(), 1, self.cols);
        for (o, v) in out.c.iter_mut().zip(&self.c) {
            *o = v.as_deref().map(|v| {
                let mut s = vec![T::zero(); self.cols];
                for r in v.chunks(self.cols) {
                    s.iter_mut().zip(r).for_each(|(a, b)| *a = *a + *b);
                }
                s
            });
        }
        out
    }

    /// `f(A)` elementwise for a smooth `f` given as `x ↦ [f(x), f′(x), f″(x)]` at the value:
    /// `f(x₀ + δ) = f + f′δ + ½f″δ²` truncated (the rule of [`Algebra::compose`]).
    pub fn map(alg: &Algebra, x: &Self, f: impl Fn(T) -> [T; 3]) -> Self {
        let x0 = x.c[0]
            .as_deref()
            .expect("a jet function needs the value coefficient");
        let d: Vec<[T; 3]> = x0.iter().map(|&v| f(v)).collect();
        let mut out = Self::zero(alg.len(), x.rows, x.cols);
        out.c[0] = Some(d.iter().map(|v| v[0]).collect());
        for i in 0..alg.directions() {
            out.c[alg.dir(i)] = x.c[alg.dir(i)]
                .as_deref()
                .map(|xi| d.iter().zip(xi).map(|(v, a)| v[1] * *a).collect());
        }
        let half = c::<T>(0.5);
        for (p, &(i, j)) in alg.pairs().iter().enumerate() {
            let m = 1 + alg.directions() + p;
            let w = if i == j { half } else { T::one() };
            let mut o: Option<Vec<T>> = x.c[m]
                .as_deref()
                .map(|xm| d.iter().zip(xm).map(|(v, a)| v[1] * *a).collect());
            if let (Some(xi), Some(xj)) = (x.c[alg.dir(i)].as_deref(), x.c[alg.dir(j)].as_deref()) {
                let o = o.get_or_insert_with(|| vec![T::zero(); x.size()]);
                for (e, ov) in o.iter_mut().enumerate() {
                    *ov = *ov + w * d[e][2] * xi[e] * xj[e];
                }
            }
            out.c[m] = o;
        }
        out
    }

    /// Columns `start .. start + len` of every coefficient.
    pub fn cols_range(&self, start: usize, len: usize) -> Self {
        let mut out = Self::zero(self.c.len(), self.rows, len);
        for (o, v) in out.c.iter_mut().zip(&self.c) {
            *o = v.as_deref().map(|v| {
                v.chunks(self.cols)
                    .flat_map(|r| r[start..start + len].iter().copied())
                    .collect()
            });
        }
        out
    }

    /// Writes `b` into columns `start .. start + b.cols` of every coefficient.
    pub fn set_cols(&mut self, start: usize, b: &Self) {
        let cols = self.cols;
        for (m, bm) in b.c.iter().enumerate() {
            if let Some(src) = bm.as_deref() {
                for (dst, s) in self.coeff_mut(m).chunks_mut(cols).zip(src.chunks(b.cols)) {
                    dst[start..start + b.cols].copy_from_slice(s);
                }
            }
        }
    }
}

/// Splits every coefficient of `out` into blocks of `block_rows` rows and returns, per block,
/// its row range and one mutable slice per coefficient.
fn blocks_mut<T: Float>(out: &mut Jet<T>, block_rows: usize) -> Vec<(Range<usize>, Vec<&mut [T]>)> {
    let (rows, cols) = (out.rows, out.cols);
    let nblocks = rows.div_ceil(block_rows.max(1));
    let mut per: Vec<(Range<usize>, Vec<&mut [T]>)> = (0..nblocks)
        .map(|b| {
            (
                b * block_rows..((b + 1) * block_rows).min(rows),
                Vec::with_capacity(out.coeffs),
            )
        })
        .collect();
    let size = out.size();
    if size == 0 {
        return per;
    }
    for coeff in out.data.chunks_mut(size) {
        for (b, part) in coeff.chunks_mut(block_rows * cols).enumerate() {
            per[b].1.push(part);
        }
    }
    per
}

fn write_block<T: Float>(slots: Vec<&mut [T]>, jm: &JMat<T>) {
    for (s, v) in slots.into_iter().zip(&jm.c) {
        match v {
            Some(v) => s.copy_from_slice(v),
            None => s.fill(T::zero()),
        }
    }
}

/// Fills `out` block by block, in parallel: `f(rows)` returns the jet of output rows `rows`
/// (any shape with `rows.len()·out.cols` elements).
pub fn map_blocks<T, F>(out: &mut Jet<T>, block_rows: usize, f: F)
where
    T: Float,
    F: Fn(Range<usize>) -> JMat<T> + Sync,
{
    blocks_mut(out, block_rows)
        .into_par_iter()
        .for_each(|(rows, slots)| {
            let jm = f(rows);
            write_block(slots, &jm);
        });
}

/// A block's row range and its slice of every coefficient of the input cotangent.
type BlockSlots<'a, T> = (Range<usize>, Vec<&'a mut [T]>);

/// Most groups [`backward_blocks`] sums separately (one accumulator set each).
const ACC_GROUPS: usize = 16;

/// Reverse pass block by block, in parallel. `f(rows, acc)` adds this block's parameter-gradient
/// contributions into `acc` (one buffer per entry of `acc_lens`) and returns the input cotangent
/// of those rows (written into `gx` when it is given). Returns the accumulators summed over
/// blocks.
///
/// The sum is **deterministic**: blocks are cut into at most [`ACC_GROUPS`] contiguous groups
/// fixed by the number of blocks alone, each group accumulates its blocks in order, and the
/// group sums are added in order — the same rounding for every thread count and schedule.
pub fn backward_blocks<T, F>(
    rows: usize,
    block_rows: usize,
    gx: Option<&mut Jet<T>>,
    acc_lens: &[usize],
    f: F,
) -> Vec<Vec<T>>
where
    T: Float,
    F: Fn(Range<usize>, &mut [Vec<T>]) -> Option<JMat<T>> + Sync,
{
    let zeros = || {
        acc_lens
            .iter()
            .map(|&l| vec![T::zero(); l])
            .collect::<Vec<_>>()
    };
    let work: Vec<(Range<usize>, Vec<&mut [T]>)> = match gx {
        Some(gx) => blocks_mut(gx, block_rows),
        None => (0..rows.div_ceil(block_rows.max(1)))
            .map(|b| (b * block_rows..((b + 1) * block_rows).min(rows), Vec::new()))
            .collect(),
    };
    let per_group = work.len().div_ceil(ACC_GROUPS).max(1);
    let mut groups: Vec<Vec<BlockSlots<'_, T>>> = Vec::new();
    let mut work = work.into_iter();
    loop {
        let group: Vec<_> = work.by_ref().take(per_group).collect();
        if group.is_empty() {
            break;
        }
        groups.push(group);
    }
    let sums: Vec<Vec<Vec<T>>> = groups
        .into_par_iter()
        .map(|group| {
            let mut acc = zeros();
            for (rows, slots) in group {
                let g = f(rows, &mut acc);
                if let Some(g) = g.filter(|_| !slots.is_empty()) {
                    write_block(slots, &g);
                }
            }
            acc
        })
        .collect();
    let mut total = zeros();
    for group in sums {
        for (x, y) in total.iter_mut().zip(group) {
            x.iter_mut().zip(y).for_each(|(p, q)| *p = *p + q);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jm(alg: &Algebra, rows: usize, cols: usize, seed: f64) -> JMat<f64> {
        let mut m = JMat::zero(alg.len(), rows, cols);
        for k in 0..alg.len() {
            m.c[k] = Some(
                (0..rows * cols)
                    .map(|e| ((e as f64 + 1.0) * seed + k as f64).sin())
                    .collect(),
            );
        }
        m
    }

    /// Products and functions of jets agree with the same computation on perturbed real
    /// matrices: the `ε` coefficients of `exp(A·B)` at `w + ε` are derivatives along `ε`.
    #[test]
    fn matmul_and_map_match_directional_derivatives() {
        let alg = Algebra::taylor2();
        let (a, b) = (jm(&alg, 2, 3, 0.7), jm(&alg, 3, 2, 1.3));
        let exp = |v: f64| [v.exp(), v.exp(), v.exp()];
        let y = JMat::map(&alg, &JMat::matmul(&alg, &a, false, &b, false), exp);
        // Real evaluation at ε = t of the truncated polynomials A(t), B(t).
        let eval = |t: f64| -> Vec<f64> {
            let at = |m: &JMat<f64>, e: usize| {
                m.c[0].as_ref().unwrap()[e]
                    + t * m.c[1].as_ref().unwrap()[e]
                    + t * t * m.c[2].as_ref().unwrap()[e]
            };
            (0..4)
                .map(|e| {
                    let (i, j) = (e / 2, e % 2);
                    (0..3)
                        .map(|k| at(&a, i * 3 + k) * at(&b, k * 2 + j))
                        .sum::<f64>()
                        .exp()
                })
                .collect()
        };
        let h = 1e-4;
        let (p, m0, n) = (eval(h), eval(0.0), eval(-h));
        for e in 0..4 {
            let d1 = (p[e] - n[e]) / (2.0 * h);
            let d2 = (p[e] - 2.0 * m0[e] + n[e]) / (h * h) / 2.0;
            assert!((y.c[0].as_ref().unwrap()[e] - m0[e]).abs() < 1e-12);
            assert!((y.c[1].as_ref().unwrap()[e] - d1).abs() < 1e-6 * d1.abs().max(1.0));
            assert!((y.c[2].as_ref().unwrap()[e] - d2).abs() < 1e-5 * d2.abs().max(1.0));
        }
    }

    #[test]
    fn broadcasting_sums_and_column_slices() {
        let alg = Algebra::tangents(1);
        let a = jm(&alg, 3, 4, 0.3);
        let s = a.row_sums();
        let mut centered = a.clone();
        centered.add_scaled(-0.25, &s);
        for v in centered.row_sums().c.iter().flatten().flatten() {
            assert!(v.abs() < 1e-14);
        }
        let cs = a.col_sums();
        assert!(
            (cs.c[1].as_ref().unwrap()[2]
                - (0..3)
                    .map(|i| a.c[1].as_ref().unwrap()[i * 4 + 2])
                    .sum::<f64>())
            .abs()
                < 1e-15
        );
        let mut b = JMat::zero(alg.len(), 3, 4);
        b.set_cols(1, &a.cols_range(1, 2));
        assert_eq!(b.c[0].as_ref().unwrap()[5], a.c[0].as_ref().unwrap()[5]);
        assert_eq!(b.c[0].as_ref().unwrap()[4], 0.0);
    }
}

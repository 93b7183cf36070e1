//! Jet tensors: a batch of row vectors whose entries are truncated polynomials in `ε`
//! (see [`crate::algebra`]), stored structure-of-arrays — one row-major `rows × cols` matrix
//! per monomial, the matrices back to back — so that a product of jets is a handful of GEMMs
//! and all coefficients of one degree can share one GEMM.

use crate::float::Float;
use rayon::prelude::*;

/// An owned jet: `coeffs` matrices of shape `rows × cols`; coefficient `m` is
/// `data[m·rows·cols .. (m+1)·rows·cols]`.
#[derive(Debug, Clone)]
pub struct Jet<T> {
    /// Examples in the batch.
    pub rows: usize,
    /// Features per example.
    pub cols: usize,
    /// Number of stored coefficients.
    pub coeffs: usize,
    /// Coefficient matrices, back to back.
    pub data: Vec<T>,
}

impl<T: Float> Jet<T> {
    /// All-zero jet with `coeffs` coefficients.
    pub fn zeros(coeffs: usize, rows: usize, cols: usize) -> Self {
        Self {
            rows,
            cols,
            coeffs,
            data: vec![T::zero(); coeffs * rows * cols],
        }
    }

    /// Elements per coefficient matrix.
    pub fn size(&self) -> usize {
        self.rows * self.cols
    }

    /// Coefficient matrix `m`.
    pub fn coeff(&self, m: usize) -> &[T] {
        let s = self.size();
        &self.data[m * s..(m + 1) * s]
    }

    /// Mutable coefficient matrix `m`.
    pub fn coeff_mut(&mut self, m: usize) -> &mut [T] {
        let s = self.size();
        &mut self.data[m * s..(m + 1) * s]
    }

    /// A borrowed view.
    pub fn view(&self) -> JetRef<'_, T> {
        JetRef {
            rows: self.rows,
            cols: self.cols,
            coeffs: self.coeffs,
            data: &self.data,
        }
    }
}

/// A borrowed jet. A jet with fewer stored coefficients than the algebra has monomials has
/// zero higher coefficients; the network input is such a *constant* jet (`coeffs = 1`).
#[derive(Debug, Clone, Copy)]
pub struct JetRef<'a, T> {
    /// Examples in the batch.
    pub rows: usize,
    /// Features per example.
    pub cols: usize,
    /// Number of stored coefficients (the rest are zero).
    pub coeffs: usize,
    /// Coefficient matrices, back to back.
    pub data: &'a [T],
}

impl<'a, T> JetRef<'a, T> {
    /// A constant jet (only the value, all `ε` coefficients zero), e.g. the input batch.
    pub fn constant(data: &'a [T], rows: usize, cols: usize) -> Self {
        assert_eq!(
            data.len(),
            rows * cols,
            "constant jet: buffer length does not match shape"
        );
        Self {
            rows,
            cols,
            coeffs: 1,
            data,
        }
    }

    /// Coefficient matrix `m`, or `None` if it is zero (not stored).
    pub fn coeff(&self, m: usize) -> Option<&'a [T]> {
        let s = self.rows * self.cols;
        (m < self.coeffs).then(|| &self.data[m * s..(m + 1) * s])
    }

    /// Number of stored coefficient rows stacked: `coeffs · rows`.
    pub fn stacked_rows(&self) -> usize {
        self.coeffs * self.rows
    }
}

/// Elements handled per parallel task in elementwise kernels.
const CHUNK: usize = 4096;

/// Runs `kernel(a_e, b_e, scratch, out_e)` for every element `e`, where `a_e`, `b_e`, `out_e`
/// hold that element's coefficients (gathered from and scattered to the coefficient-major
/// buffers; inputs with fewer stored coefficients than `out` are zero-padded) and `scratch` is a
/// work buffer of `out.coeffs` values. `b` may be [`no_input`] when the kernel needs one input. Work is split across
/// rayon threads in chunks of elements; the gather buffers are allocated once per chunk.
pub(crate) fn map_elements<T, F>(a: JetRef<'_, T>, b: JetRef<'_, T>, out: &mut Jet<T>, kernel: F)
where
    T: Float,
    F: Fn(&[T], &[T], &mut [T], &mut [T]) + Sync,
{
    let size = out.size();
    let m_out = out.coeffs;
    debug_assert!(a.coeffs == 0 || a.rows * a.cols == size);
    debug_assert!(b.coeffs == 0 || b.rows * b.cols == size);
    if size == 0 || m_out == 0 {
        return;
    }
    let chunks = size.div_ceil(CHUNK);
    let mut per_chunk: Vec<Vec<&mut [T]>> =
        (0..chunks).map(|_| Vec::with_capacity(m_out)).collect();
    for coeff in out.data.chunks_mut(size) {
        for (ci, part) in coeff.chunks_mut(CHUNK).enumerate() {
            per_chunk[ci].push(part);
        }
    }
    per_chunk
        .into_par_iter()
        .enumerate()
        .for_each(|(ci, mut outs)| {
            let start = ci * CHUNK;
            let len = outs[0].len();
            let mut ga = vec![T::zero(); a.coeffs.max(m_out)];
            let mut gb = vec![T::zero(); b.coeffs.max(m_out)];
            let mut scratch = vec![T::zero(); m_out];
            let mut res = vec![T::zero(); m_out];
            for e in 0..len {
                for (m, v) in ga.iter_mut().take(a.coeffs).enumerate() {
                    *v = a.data[m * size + start + e];
                }
                for (m, v) in gb.iter_mut().take(b.coeffs).enumerate() {
                    *v = b.data[m * size + start + e];
                }
                kernel(&ga, &gb, &mut scratch, &mut res);
                for (o, r) in outs.iter_mut().zip(&res) {
                    o[e] = *r;
                }
            }
        });
}

/// An empty jet, for [`map_elements`] kernels with one input.
pub(crate) fn no_input<'a, T>() -> JetRef<'a, T> {
    JetRef {
        rows: 0,
        cols: 0,
        coeffs: 0,
        data: &[],
    }
}

//! Jet tensors: a batch of row vectors whose entries are truncated polynomials in `ε`
//! (see [`crate::algebra`]), stored structure-of-arrays — one row-major `rows × cols` matrix
//! per monomial, the matrices back to back — so that a product of jets is a handful of GEMMs
//! and all coefficients of one degree can share one GEMM.

use crate::float::Float;

/// An owned jet: `coeffs` matrices of shape `rows × cols`; coefficient `m` is
/// `data[m·rows·cols .. (m+1)·rows·cols]`.
#[derive(Debug, Clone, Default)]
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

    /// Reshapes to `coeffs × rows × cols`, reusing the buffer (it only grows, so a jet reused
    /// across passes of the same shapes allocates once). Contents are unspecified afterwards.
    pub fn reset(&mut self, coeffs: usize, rows: usize, cols: usize) {
        self.rows = rows;
        self.cols = cols;
        self.coeffs = coeffs;
        self.data.resize(coeffs * rows * cols, T::zero());
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

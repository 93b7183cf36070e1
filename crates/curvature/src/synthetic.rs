//! A matrix-free operator with a prescribed spectrum, for validation and benchmarks
//! (the hard spectrum of docs/curvature.md: a large negative eigenvalue beside the top ones).

use gdscope_core::Block;
use nalgebra::DVector;

use crate::error::{ensure, Result};
use crate::operator::LinearOperator;
use crate::random::{gaussian_block, rng};

/// `A = H D H` with `D = diag(values)` and the Householder reflection `H = I − 2uuᵀ` for a
/// random unit `u`: eigenvalues exactly `values`, eigenvectors `H eᵢ` (dense, not axis
/// aligned), and `O(n)` work per column applied.
#[derive(Debug, Clone)]
pub struct SpectrumOperator {
    values: DVector<f64>,
    u: DVector<f64>,
}

impl SpectrumOperator {
    /// The operator with eigenvalues `values` (finite, at least one), reflection drawn from `seed`.
    pub fn new(values: &[f64], seed: u64) -> Result<Self> {
        ensure(
            !values.is_empty() && values.iter().all(|v| v.is_finite()),
            || "spectrum must be non-empty and finite".into(),
        )?;
        let g = gaussian_block(values.len(), 1, &mut rng(seed));
        let u = g.column(0).normalize();
        Ok(Self {
            values: DVector::from_column_slice(values),
            u,
        })
    }

    /// The eigenvector for `values[i]`: `H eᵢ = eᵢ − 2uᵢu`.
    pub fn eigenvector(&self, i: usize) -> DVector<f64> {
        let mut v = &self.u * (-2.0 * self.u[i]);
        v[i] += 1.0;
        v
    }

    fn reflect(&self, b: &mut Block) {
        let c = self.u.transpose() * &*b;
        *b -= &self.u * (c * 2.0);
    }
}

impl LinearOperator for SpectrumOperator {
    fn dim(&self) -> usize {
        self.values.len()
    }
    fn apply(&self, v: &Block) -> Block {
        let mut b = v.clone();
        self.reflect(&mut b);
        for mut col in b.column_iter_mut() {
            col.component_mul_assign(&self.values);
        }
        self.reflect(&mut b);
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigenpairs_are_the_prescribed_ones() {
        let op = SpectrumOperator::new(&[3.0, -1.0, 0.5, 2.0], 9).unwrap();
        for (i, l) in [3.0, -1.0, 0.5, 2.0].into_iter().enumerate() {
            let v = op.eigenvector(i);
            assert!((v.norm() - 1.0).abs() < 1e-14);
            let av = op.apply(&Block::from_column_slice(4, 1, v.as_slice()));
            assert!((av.column(0) - &v * l).norm() < 1e-14);
        }
        assert!(SpectrumOperator::new(&[], 0).is_err());
        assert!(SpectrumOperator::new(&[f64::NAN], 0).is_err());
    }
}

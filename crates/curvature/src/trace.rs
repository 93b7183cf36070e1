//! Stochastic estimates of `tr(A)` from operator applications (docs/curvature.md "Trace").
//!
//! - **Hutchinson**: `tr(A) ≈ (1/s) Σᵢ zᵢᵀAzᵢ` with Rademacher `zᵢ` (unbiased; variance
//!   `2(‖A‖_F² − Σ A_jj²)/s`). The standard error is the sample standard deviation of the
//!   `zᵢᵀAzᵢ` over `√s`.
//! - **Hutch++** (Meyer, Musco, Musco, Woodruff 2021): with a budget of `m` applications,
//!   `Q = orth(A·S)` for `m/3` Gaussian columns `S` (full rank almost surely), then
//!   `tr(A) = tr(QᵀAQ) + tr((I−QQᵀ)A(I−QQᵀ))`, the first term exact and the second by
//!   Hutchinson on the remaining budget. It is unbiased given `Q`, and its standard error
//!   (conditional on `Q`) comes from the deflated samples; the variance falls like `1/m²`
//!   when the spectrum decays, instead of `1/m`.

use gdscope_core::Block;
use serde::{Deserialize, Serialize};

use crate::error::{ensure, Result};
use crate::operator::{apply_checked, LinearOperator};
use crate::orth::orthonormalize;
use crate::random::{gaussian_block, rademacher_block, rng};

/// Random probes are applied in blocks of at most this many columns (bounds memory).
const CHUNK: usize = 32;

/// A trace estimate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceEstimate {
    /// The estimate of `tr(A)`.
    pub value: f64,
    /// Its standard error (0 when the estimate is exact).
    pub std_error: f64,
    /// Operator applications spent.
    pub hvps: usize,
}

/// Hutchinson's estimate of `tr(A)` from `samples ≥ 2` Rademacher probes.
pub fn hutchinson(op: &dyn LinearOperator, samples: usize, seed: u64) -> Result<TraceEstimate> {
    ensure(samples >= 2, || {
        format!("Hutchinson needs at least 2 samples for a standard error, got {samples}")
    })?;
    let mut rng = rng(seed);
    let mut quad = Vec::with_capacity(samples);
    let mut hvps = 0;
    while quad.len() < samples {
        let z = rademacher_block(op.dim(), CHUNK.min(samples - quad.len()), &mut rng);
        quad.extend(quadratic_forms(op, &z, &mut hvps)?);
    }
    let (value, std_error) = mean_and_std_error(&quad);
    Ok(TraceEstimate {
        value,
        std_error,
        hvps,
    })
}

/// Hutch++ estimate of `tr(A)` with a budget of `matvecs ≥ 4` operator applications
/// (a third for the sketch, a third for the exact part, the rest for Hutchinson on the
/// deflated remainder; fewer when the sketch spans the whole space, then the result is exact).
pub fn hutch_plus_plus(
    op: &dyn LinearOperator,
    matvecs: usize,
    seed: u64,
) -> Result<TraceEstimate> {
    ensure(matvecs >= 4, || {
        format!("Hutch++ needs a budget of at least 4 operator applications, got {matvecs}")
    })?;
    let n = op.dim();
    let sketch = (matvecs / 3).min(n);
    let probes = matvecs - 2 * (matvecs / 3);
    let mut rng = rng(seed);
    let mut hvps = 0;
    let s = gaussian_block(n, sketch, &mut rng);
    let q = orthonormalize(apply_checked(op, &s, &mut hvps)?, &Block::zeros(n, 0));
    let aq = apply_checked(op, &q, &mut hvps)?;
    let exact: f64 = q
        .column_iter()
        .zip(aq.column_iter())
        .map(|(a, b)| a.dot(&b))
        .sum();
    if q.ncols() == n {
        return Ok(TraceEstimate {
            value: exact,
            std_error: 0.0,
            hvps,
        });
    }
    let mut quad = Vec::with_capacity(probes);
    while quad.len() < probes {
        let mut g = rademacher_block(n, CHUNK.min(probes - quad.len()), &mut rng);
        g -= &q * (q.transpose() * &g);
        quad.extend(quadratic_forms(op, &g, &mut hvps)?);
    }
    let (rest, std_error) = mean_and_std_error(&quad);
    Ok(TraceEstimate {
        value: exact + rest,
        std_error,
        hvps,
    })
}

/// `zᵢᵀAzᵢ` for each column of `z`.
fn quadratic_forms(op: &dyn LinearOperator, z: &Block, hvps: &mut usize) -> Result<Vec<f64>> {
    let az = apply_checked(op, z, hvps)?;
    Ok(z.column_iter()
        .zip(az.column_iter())
        .map(|(a, b)| a.dot(&b))
        .collect())
}

/// Sample mean and its standard error `sd/√s` (sample standard deviation, `s − 1` divisor).
fn mean_and_std_error(x: &[f64]) -> (f64, f64) {
    let s = x.len() as f64;
    let mean = x.iter().sum::<f64>() / s;
    let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (s - 1.0);
    (mean, (var / s).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::DMatrix;

    fn test_matrix(n: usize, seed: u64) -> DMatrix<f64> {
        // A decaying spectrum with some negative curvature, like a network Hessian.
        let q = gaussian_block(n, n, &mut rng(seed)).qr().q();
        let d: Vec<f64> = (0..n)
            .map(|i| 20.0 * (-(i as f64) / 6.0).exp() - 0.3 * ((i % 7) as f64 / 7.0))
            .collect();
        let a =
            &q * DMatrix::from_diagonal(&nalgebra::DVector::from_column_slice(&d)) * q.transpose();
        (&a + a.transpose()) * 0.5
    }

    #[test]
    fn hutchinson_is_unbiased_within_four_standard_errors() {
        let a = test_matrix(80, 1);
        for seed in 0..5 {
            let t = hutchinson(&a, 200, seed).unwrap();
            assert!(
                (t.value - a.trace()).abs() < 4.0 * t.std_error,
                "{t:?} vs {}",
                a.trace()
            );
            assert!(t.std_error > 0.0);
            assert_eq!(t.hvps, 200);
        }
    }

    #[test]
    fn hutch_plus_plus_is_unbiased_and_tighter() {
        let a = test_matrix(80, 2);
        for seed in 0..5 {
            let h = hutchinson(&a, 90, seed).unwrap();
            let t = hutch_plus_plus(&a, 90, seed).unwrap();
            assert!(
                (t.value - a.trace()).abs() < 4.0 * t.std_error,
                "{t:?} vs {}",
                a.trace()
            );
            assert!(
                t.std_error < 0.2 * h.std_error,
                "{} vs {}",
                t.std_error,
                h.std_error
            );
            assert_eq!(t.hvps, 90);
        }
    }

    #[test]
    fn mean_over_many_seeds_converges_to_the_trace() {
        // Unbiasedness checked on the average of independent estimates.
        let a = test_matrix(30, 3);
        let runs: Vec<f64> = (0..400)
            .map(|s| hutchinson(&a, 4, s).unwrap().value)
            .collect();
        let (m, se) = mean_and_std_error(&runs);
        assert!(
            (m - a.trace()).abs() < 4.0 * se,
            "{m} ± {se} vs {}",
            a.trace()
        );
    }

    #[test]
    fn hutch_plus_plus_is_exact_when_the_sketch_spans_the_space() {
        let a = test_matrix(6, 4);
        let t = hutch_plus_plus(&a, 30, 0).unwrap();
        assert!((t.value - a.trace()).abs() < 1e-12);
        assert_eq!(t.std_error, 0.0);
    }

    #[test]
    fn bad_budgets_are_errors() {
        let a = test_matrix(6, 4);
        assert!(hutchinson(&a, 1, 0).is_err());
        assert!(hutch_plus_plus(&a, 3, 0).is_err());
    }
}

//! Losses on network outputs `f` (`n × k`) against targets `y` (`n × k`), averaged over the
//! `n` examples, with their reverse jet rules (docs/engine.md §"Losses").
//!
//! - MSE: `L = (1/n) Σᵣ ½ Σⱼ (fᵣⱼ − yᵣⱼ)²`, cotangent `∂L/∂f = (f − y)/n` (a jet: the `ε`
//!   coefficients of `f` divided by `n`).
//! - Softmax cross-entropy: `L = (1/n) Σᵣ [Σⱼ yᵣⱼ · lse(fᵣ) − Σⱼ yᵣⱼ fᵣⱼ]` (one-hot or
//!   probability targets), cotangent `(softmax(f)·Σⱼyᵣⱼ − y)/n` where the softmax is evaluated
//!   in the jet algebra: `e = exp(f − max f₀)`, `p = e · (Σⱼ eⱼ)⁻¹`.

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::Jet;
use rayon::prelude::*;

/// A loss function over network outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// `½‖f − y‖²` per example, averaged.
    Mse,
    /// Softmax cross-entropy, averaged.
    CrossEntropy,
}

/// Rows per block of the deterministic loss sum ([`Loss::value`]).
pub const LOSS_BLOCK_ROWS: usize = 64;

impl Loss {
    /// Parses `mse` or `ce`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mse" => Some(Loss::Mse),
            "ce" | "cross-entropy" => Some(Loss::CrossEntropy),
            _ => None,
        }
    }

    /// The loss value at the primal outputs `f` (`n × k`, row-major), accumulated in `f64`.
    ///
    /// Deterministic: blocks of [`LOSS_BLOCK_ROWS`] rows are summed in parallel, each in row
    /// order, and the block sums are added in block order, so the value has the same bits for
    /// any thread count (a work-stealing reduction would associate differently run to run).
    pub fn value<T: Float>(self, f: &[T], y: &[T], k: usize) -> f64 {
        let n = f.len() / k.max(1);
        if n == 0 {
            return 0.0;
        }
        let row = |(fr, yr): (&[T], &[T])| match self {
            Loss::Mse => {
                0.5 * fr
                    .iter()
                    .zip(yr)
                    .map(|(a, b)| (a.as_f64() - b.as_f64()).powi(2))
                    .sum::<f64>()
            }
            Loss::CrossEntropy => {
                let lse = log_sum_exp(fr);
                fr.iter()
                    .zip(yr)
                    .map(|(a, b)| b.as_f64() * (lse - a.as_f64()))
                    .sum::<f64>()
            }
        };
        let block = LOSS_BLOCK_ROWS * k;
        let partial: Vec<f64> = f
            .par_chunks(block)
            .zip(y.par_chunks(block))
            .map(|(fb, yb)| fb.chunks(k).zip(yb.chunks(k)).map(row).sum::<f64>())
            .collect();
        partial.iter().sum::<f64>() / n as f64
    }

    /// Cotangent jet `∂L/∂f` evaluated in the algebra, for output jet `f` and targets `y`.
    pub fn cotangent<T: Float>(self, alg: &Algebra, f: &Jet<T>, y: &[T]) -> Jet<T> {
        let (n, k) = (f.rows, f.cols);
        let inv_n = T::from_f64(1.0 / n.max(1) as f64);
        let mut g = Jet::zeros(f.coeffs, n, k);
        match self {
            Loss::Mse => {
                for (gv, (fv, yv)) in g.coeff_mut(0).iter_mut().zip(f.coeff(0).iter().zip(y)) {
                    *gv = (*fv - *yv) * inv_n;
                }
                let s = f.size();
                for (gv, fv) in g.data[s..].iter_mut().zip(&f.data[s..]) {
                    *gv = *fv * inv_n;
                }
            }
            Loss::CrossEntropy => {
                let m = f.coeffs;
                let size = f.size();
                // Per row: [coefficient][class] block, then scattered into the jet.
                let mut rows = vec![T::zero(); n * m * k];
                rows.par_chunks_mut(m * k).enumerate().for_each(|(r, out)| {
                    softmax_row_jet(alg, f, r, &y[r * k..(r + 1) * k], inv_n, out);
                });
                for r in 0..n {
                    for mm in 0..m {
                        let src = &rows[(r * m + mm) * k..(r * m + mm + 1) * k];
                        g.data[mm * size + r * k..mm * size + (r + 1) * k].copy_from_slice(src);
                    }
                }
            }
        }
        g
    }
}

/// `log Σⱼ exp(fⱼ)`, stable, in `f64`.
fn log_sum_exp<T: Float>(f: &[T]) -> f64 {
    let mx = f
        .iter()
        .map(|v| v.as_f64())
        .fold(f64::NEG_INFINITY, f64::max);
    mx + f.iter().map(|v| (v.as_f64() - mx).exp()).sum::<f64>().ln()
}

/// Writes `(softmax(f_r)·Σy − y)/n` for row `r` as `out[m·k + j]` (coefficient `m`, class `j`).
fn softmax_row_jet<T: Float>(
    alg: &Algebra,
    f: &Jet<T>,
    r: usize,
    y: &[T],
    inv_n: T,
    out: &mut [T],
) {
    let (m, k, size) = (f.coeffs, f.cols, f.size());
    let coeffs = |j: usize| -> Vec<T> { (0..m).map(|mm| f.data[mm * size + r * k + j]).collect() };
    let mx = (0..k)
        .map(|j| f.data[r * k + j])
        .fold(T::neg_infinity(), T::max);
    let mut e = vec![vec![T::zero(); m]; k];
    let mut s = vec![T::zero(); m];
    for (j, ej) in e.iter_mut().enumerate() {
        let z = coeffs(j);
        let v = (z[0] - mx).exp();
        alg.compose([v, v, v], &z, ej);
        for (sv, ev) in s.iter_mut().zip(ej.iter()) {
            *sv = *sv + *ev;
        }
    }
    // 1/s: derivatives 1/s, −1/s², 2/s³.
    let inv = T::one() / s[0];
    let mut rs = vec![T::zero(); m];
    alg.compose(
        [inv, -inv * inv, T::from_f64(2.0) * inv * inv * inv],
        &s,
        &mut rs,
    );
    let ysum = y.iter().fold(T::zero(), |a, b| a + *b);
    let mut p = vec![T::zero(); m];
    for (j, ej) in e.iter().enumerate() {
        alg.mul(ej, &rs, &mut p);
        for (mm, pv) in p.iter().enumerate() {
            let target = if mm == 0 { y[j] } else { T::zero() };
            out[mm * k + j] = (*pv * ysum - target) * inv_n;
        }
    }
}

/// Fraction of rows whose argmax of `f` equals the argmax of `y` (`n × k` row-major).
pub fn accuracy<T: Float>(f: &[T], y: &[T], k: usize) -> f64 {
    let n = f.len() / k.max(1);
    if n == 0 {
        return 0.0;
    }
    let argmax = |r: &[T]| {
        r.iter()
            .enumerate()
            .fold((0, T::neg_infinity()), |(bi, bv), (i, &v)| {
                if v > bv {
                    (i, v)
                } else {
                    (bi, bv)
                }
            })
            .0
    };
    let hits = f
        .chunks(k)
        .zip(y.chunks(k))
        .filter(|(a, b)| argmax(a) == argmax(b))
        .count();
    hits as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The loss value has the same bits for every thread count and call: blocks of
    /// `LOSS_BLOCK_ROWS` rows summed in order, then the block sums in order.
    #[test]
    fn value_is_the_same_bits_for_any_thread_count() {
        let (n, k) = (5000, 4);
        let f: Vec<f64> = (0..n * k)
            .map(|e| (e as f64 * 0.61).sin() * 10f64.powi((e % 11) as i32 - 5))
            .collect();
        let y: Vec<f64> = (0..n * k).map(|e| (e as f64 * 0.23).cos()).collect();
        for loss in [Loss::Mse, Loss::CrossEntropy] {
            let want = loss.value(&f, &y, k);
            // The specified order, computed sequentially.
            let rows: Vec<f64> = f
                .chunks(k)
                .zip(y.chunks(k))
                .map(|(fr, yr)| loss.value(fr, yr, k))
                .collect();
            let spec: f64 = rows
                .chunks(LOSS_BLOCK_ROWS)
                .map(|b| b.iter().sum::<f64>())
                .sum::<f64>()
                / n as f64;
            assert_eq!(want.to_bits(), spec.to_bits(), "{loss:?}");
            for threads in [1, 2, 3, 7] {
                let pool = rayon::ThreadPoolBuilder::new()
                    .num_threads(threads)
                    .build()
                    .unwrap();
                for _ in 0..10 {
                    let got = pool.install(|| loss.value(&f, &y, k));
                    assert_eq!(got.to_bits(), want.to_bits(), "{loss:?}, {threads} threads");
                }
            }
        }
    }

    #[test]
    fn values_on_a_small_example() {
        let f = [1.0, 2.0, 0.0, -1.0];
        let y = [0.0, 1.0, 1.0, 0.0];
        // MSE: rows ½(1+1)=1 and ½(1+1)=1 → mean 1.
        assert!((Loss::Mse.value(&f, &y, 2) - 1.0).abs() < 1e-15);
        // CE: row 1: lse(1,2) − 2; row 2: lse(0,−1) − 0.
        let want = ((1f64.exp() + 2f64.exp()).ln() - 2.0 + (1.0 + (-1f64).exp()).ln()) / 2.0;
        assert!((Loss::CrossEntropy.value(&f, &y, 2) - want).abs() < 1e-15);
        assert_eq!(accuracy(&f, &y, 2), 1.0);
        assert_eq!(accuracy(&f, &[1.0, 0.0, 1.0, 0.0], 2), 0.5);
    }

    /// The primal cotangent of CE is the gradient of the value (central differences).
    #[test]
    fn cross_entropy_cotangent_is_the_gradient() {
        let alg = Algebra::primal();
        let f = vec![0.3, -1.2, 0.8, 2.0, 0.1, -0.4];
        let y = vec![0.0, 0.0, 1.0, 0.0, 1.0, 0.0];
        let jet = Jet {
            rows: 2,
            cols: 3,
            coeffs: 1,
            data: f.clone(),
        };
        let g = Loss::CrossEntropy.cotangent(&alg, &jet, &y);
        for i in 0..6 {
            let (mut fp, mut fm) = (f.clone(), f.clone());
            fp[i] += 1e-6;
            fm[i] -= 1e-6;
            let fd = (Loss::CrossEntropy.value(&fp, &y, 3) - Loss::CrossEntropy.value(&fm, &y, 3))
                / 2e-6;
            assert!((fd - g.data[i]).abs() < 1e-9, "{i}: {fd} vs {}", g.data[i]);
        }
    }
}

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
use crate::par::{for_each_range, ordered_sum, tasks_for, DisjointCoeffs};

/// A loss function over network outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// `½‖f − y‖²` per example, averaged.
    Mse,
    /// Softmax cross-entropy, averaged.
    CrossEntropy,
}

impl Loss {
    /// Parses `mse` or `ce`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "mse" => Some(Loss::Mse),
            "ce" | "cross-entropy" => Some(Loss::CrossEntropy),
            _ => None,
        }
    }

    /// The loss value at the primal outputs `f` (`n × k`, row-major), accumulated in `f64`
    /// with a reduction whose rounding depends on `n` only ([`ordered_sum`]): bitwise the same
    /// for every thread count and run.
    pub fn value<T: Float>(self, f: &[T], y: &[T], k: usize) -> f64 {
        let n = f.len() / k.max(1);
        if n == 0 {
            return 0.0;
        }
        let row = |r: usize| -> f64 {
            let (fr, yr) = (&f[r * k..(r + 1) * k], &y[r * k..(r + 1) * k]);
            match self {
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
            }
        };
        ordered_sum(n, |rows| rows.map(row).sum()) / n as f64
    }

    /// Writes the cotangent jet `∂L/∂f` into `g` (reshaped like `f`), evaluated in the algebra
    /// for output jet `f` and targets `y`. Allocation-free for algebras of up to
    /// [`STACK_COEFFS`] monomials.
    pub fn cotangent<T: Float>(self, alg: &Algebra, f: &Jet<T>, y: &[T], g: &mut Jet<T>) {
        let (n, k) = (f.rows, f.cols);
        let inv_n = T::from_f64(1.0 / n.max(1) as f64);
        g.reset(f.coeffs, n, k);
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
                let (m, size) = (f.coeffs, f.size());
                let out = DisjointCoeffs::new(&mut g.data, m, size);
                for_each_range(n, tasks_for(n * k * m * 8), 1, |rows| {
                    let mut scratch = Scratch::new(m);
                    for r in rows {
                        // SAFETY: rows are split between tasks, so the elements
                        // `r·k .. (r+1)·k` of every coefficient belong to this task alone;
                        // `softmax_row_jet` uses each slice it takes before taking the next.
                        let mut g_row = |mm: usize| unsafe { out.range(mm, r * k..(r + 1) * k) };
                        softmax_row_jet(
                            alg,
                            f,
                            r,
                            &y[r * k..(r + 1) * k],
                            inv_n,
                            &mut scratch,
                            &mut g_row,
                        );
                    }
                });
            }
        }
    }
}

/// Most monomials for which the per-row softmax jets live on the stack.
pub const STACK_COEFFS: usize = 32;

/// Five per-row work vectors of one coefficient each per monomial (on the stack for small
/// algebras).
struct Scratch<T> {
    stack: [[T; STACK_COEFFS]; 5],
    heap: Vec<T>,
    m: usize,
}

impl<T: Float> Scratch<T> {
    fn new(m: usize) -> Self {
        Self {
            stack: [[T::zero(); STACK_COEFFS]; 5],
            heap: if m > STACK_COEFFS {
                vec![T::zero(); 5 * m]
            } else {
                Vec::new()
            },
            m,
        }
    }

    fn parts(&mut self) -> [&mut [T]; 5] {
        let m = self.m;
        if m <= STACK_COEFFS {
            let [a, b, c, d, e] = &mut self.stack;
            [
                &mut a[..m],
                &mut b[..m],
                &mut c[..m],
                &mut d[..m],
                &mut e[..m],
            ]
        } else {
            let (a, rest) = self.heap.split_at_mut(m);
            let (b, rest) = rest.split_at_mut(m);
            let (c, rest) = rest.split_at_mut(m);
            let (d, e) = rest.split_at_mut(m);
            [a, b, c, d, e]
        }
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

/// Writes `(softmax(f_r)·Σy − y)/n` for row `r`: coefficient `m` of class `j` goes to
/// `g(m)[j]`. The exponentials are staged in `g` itself, so the only work space is `scratch`.
fn softmax_row_jet<'a, T: Float>(
    alg: &Algebra,
    f: &Jet<T>,
    r: usize,
    y: &[T],
    inv_n: T,
    scratch: &mut Scratch<T>,
    g: &mut impl FnMut(usize) -> &'a mut [T],
) {
    let (k, size) = (f.cols, f.size());
    let [z, ej, s, rs, p] = scratch.parts();
    let mx = (0..k)
        .map(|j| f.data[r * k + j])
        .fold(T::neg_infinity(), T::max);
    s.fill(T::zero());
    for j in 0..k {
        for (mm, v) in z.iter_mut().enumerate() {
            *v = f.data[mm * size + r * k + j];
        }
        let v = (z[0] - mx).exp();
        alg.compose([v, v, v], z, ej);
        for (mm, (sv, ev)) in s.iter_mut().zip(ej.iter()).enumerate() {
            *sv = *sv + *ev;
            g(mm)[j] = *ev;
        }
    }
    // 1/s: derivatives 1/s, −1/s², 2/s³.
    let inv = T::one() / s[0];
    alg.compose([inv, -inv * inv, T::from_f64(2.0) * inv * inv * inv], s, rs);
    let ysum = y.iter().fold(T::zero(), |a, b| a + *b);
    for (j, &yj) in y.iter().enumerate() {
        for (mm, v) in ej.iter_mut().enumerate() {
            *v = g(mm)[j];
        }
        alg.mul(ej, rs, p);
        for (mm, pv) in p.iter().enumerate() {
            let target = if mm == 0 { yj } else { T::zero() };
            g(mm)[j] = (*pv * ysum - target) * inv_n;
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
        let mut g = Jet::default();
        Loss::CrossEntropy.cotangent(&alg, &jet, &y, &mut g);
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

//! Truncated polynomial algebras in which every tensor of a jet pass lives
//! (docs/engine.md §"Jet algebras").
//!
//! Weights are seeded as `w + Σᵢ εᵢ uᵢ` for `K` directions `uᵢ`. A tensor is a polynomial in the
//! nilpotent symbols `εᵢ`, truncated to a set of monomials of degree ≤ 2 that is closed under
//! division: `1`, every `εᵢ`, and a chosen list of products `εᵢεⱼ` (`i ≤ j`). Products of
//! tensors expand by the Leibniz rule (`mul`), functions by their Taylor series (`compose`).
//! Evaluating the ordinary reverse pass in such an algebra gives the expansion of the gradient
//! `∇L(w + Σ εᵢuᵢ)`, whose coefficients are:
//!
//! | monomial | gradient coefficient |
//! |---|---|
//! | `1` | `∇L(w)` |
//! | `εᵢ` | `H uᵢ` |
//! | `εᵢεⱼ`, `i < j` | `∇(uᵢᵀ H uⱼ)` |
//! | `εᵢ²` | `½ ∇(uᵢᵀ H uᵢ)` (Taylor factor ½) |

use crate::float::{c, Float};

/// Monomial `εᵢεⱼ` of degree two, `i ≤ j`.
pub type Pair = (usize, usize);

/// A truncated polynomial algebra: `1`, `ε₀ … ε_{K−1}`, then the listed pairs `εᵢεⱼ`.
///
/// Monomial indices: `0` is `1`, `1 + i` is `εᵢ`, `1 + K + p` is the `p`-th pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Algebra {
    k: usize,
    pairs: Vec<Pair>,
    /// For each monomial `m`: the ordered pairs `(a, b)` with `a·b = m`.
    terms: Vec<Vec<(usize, usize)>>,
    /// For each direction `i`: the pairs `(a, m)` with `a·εᵢ = m`.
    times_dir: Vec<Vec<(usize, usize)>>,
}

impl Algebra {
    /// Plain numbers (no directions): the gradient pass.
    pub fn primal() -> Self {
        Self::new(0, Vec::new())
    }

    /// First-order jets in `k` independent directions: `εᵢεⱼ = 0` (block HVP).
    pub fn tangents(k: usize) -> Self {
        Self::new(k, Vec::new())
    }

    /// Univariate Taylor jets of order two, `1, ε, ε²`: gradient, `Hu`, `½∇(uᵀHu)` in one pass.
    pub fn taylor2() -> Self {
        Self::new(1, vec![(0, 0)])
    }

    /// Hyper-dual numbers `1, ε₀, ε₁, ε₀ε₁` (`εᵢ² = 0`): `∇(uᵀHv)` in one pass.
    pub fn hyper_dual() -> Self {
        Self::new(2, vec![(0, 1)])
    }

    /// All monomials of degree ≤ 2 in `k` directions: `∇(uᵢᵀHuⱼ)` for every `i ≤ j` in one pass.
    pub fn all_pairs(k: usize) -> Self {
        let pairs = (0..k).flat_map(|i| (i..k).map(move |j| (i, j))).collect();
        Self::new(k, pairs)
    }

    fn new(k: usize, pairs: Vec<Pair>) -> Self {
        debug_assert!(pairs.iter().all(|&(i, j)| i <= j && j < k));
        let m = 1 + k + pairs.len();
        let mut terms = vec![Vec::new(); m];
        terms[0].push((0, 0));
        for i in 0..k {
            terms[1 + i] = vec![(0, 1 + i), (1 + i, 0)];
        }
        for (p, &(i, j)) in pairs.iter().enumerate() {
            let mono = 1 + k + p;
            let t = &mut terms[mono];
            t.push((0, mono));
            t.push((mono, 0));
            t.push((1 + i, 1 + j));
            if i != j {
                t.push((1 + j, 1 + i));
            }
        }
        let times_dir = (0..k)
            .map(|i| {
                let mut out = vec![(0, 1 + i)];
                for (p, &(a, b)) in pairs.iter().enumerate() {
                    let mono = 1 + k + p;
                    if a == i {
                        out.push((1 + b, mono));
                    } else if b == i {
                        out.push((1 + a, mono));
                    }
                }
                out
            })
            .collect();
        Self {
            k,
            pairs,
            terms,
            times_dir,
        }
    }

    /// Number of directions `K`.
    pub fn directions(&self) -> usize {
        self.k
    }

    /// Number of monomials (coefficients per tensor).
    pub fn len(&self) -> usize {
        1 + self.k + self.pairs.len()
    }

    /// Always false: the constant monomial is always present.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Index of monomial `εᵢ`.
    pub fn dir(&self, i: usize) -> usize {
        1 + i
    }

    /// The degree-two monomials in index order (index `1 + K + position`).
    pub fn pairs(&self) -> &[Pair] {
        &self.pairs
    }

    /// Index of the degree-two monomial `εᵢεⱼ`, if present.
    pub fn pair(&self, i: usize, j: usize) -> Option<usize> {
        let key = (i.min(j), i.max(j));
        self.pairs
            .iter()
            .position(|&p| p == key)
            .map(|p| 1 + self.k + p)
    }

    /// Ordered pairs `(a, b)` of monomials with `a·b = m`.
    pub fn terms(&self, m: usize) -> &[(usize, usize)] {
        &self.terms[m]
    }

    /// Pairs `(a, m)` with `a·εᵢ = m`: multiplying by direction `i` maps coefficient `a` to `m`.
    pub fn times_dir(&self, i: usize) -> &[(usize, usize)] {
        &self.times_dir[i]
    }

    /// `out = a·b` for one element's coefficients (Leibniz rule).
    #[inline]
    pub fn mul<T: Float>(&self, a: &[T], b: &[T], out: &mut [T]) {
        for (m, o) in out.iter_mut().enumerate() {
            *o = self.terms[m]
                .iter()
                .fold(T::zero(), |s, &(p, q)| s + a[p] * b[q]);
        }
    }

    /// `out = f(x)` for one element, given `d = [f(x₀), f′(x₀), f″(x₀)]`:
    /// `f(x₀ + δ) = f + f′δ + ½f″δ²` truncated, so the `εᵢ` coefficient is `f′xᵢ`, the `εᵢεⱼ`
    /// coefficient `f′xᵢⱼ + f″xᵢxⱼ` (`i < j`) and the `εᵢ²` coefficient `f′xᵢᵢ + ½f″xᵢ²`.
    #[inline]
    pub fn compose<T: Float>(&self, d: [T; 3], x: &[T], out: &mut [T]) {
        let [f0, f1, f2] = d;
        out[0] = f0;
        for i in 0..self.k {
            out[1 + i] = f1 * x[1 + i];
        }
        let half = c::<T>(0.5);
        for (p, &(i, j)) in self.pairs.iter().enumerate() {
            let mono = 1 + self.k + p;
            let cross = x[1 + i] * x[1 + j];
            let w = if i == j { half } else { T::one() };
            out[mono] = f1 * x[mono] + w * f2 * cross;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Composition in the Taylor algebra equals the Taylor expansion of the composite:
    /// exp(sin(t)) = 1 + t + t²/2 + O(t³).
    #[test]
    fn compose_reproduces_univariate_taylor_coefficients() {
        let alg = Algebra::taylor2();
        let t = [0.0, 1.0, 0.0];
        let mut s = [0.0; 3];
        alg.compose([0.0f64.sin(), 0.0f64.cos(), -0.0f64.sin()], &t, &mut s);
        let mut e = [0.0; 3];
        let e0 = s[0].exp();
        alg.compose([e0, e0, e0], &s, &mut e);
        assert_eq!(e, [1.0, 1.0, 0.5]);
    }

    /// In the hyper-dual algebra (x + ε₀)(y + ε₁) has ε₀ε₁ coefficient 1, and squares of
    /// a single symbol vanish.
    #[test]
    fn hyper_dual_products() {
        let alg = Algebra::hyper_dual();
        assert_eq!(alg.len(), 4);
        let a = [2.0, 1.0, 0.0, 0.0];
        let b = [3.0, 0.0, 1.0, 0.0];
        let mut out = [0.0; 4];
        alg.mul(&a, &b, &mut out);
        assert_eq!(out, [6.0, 3.0, 2.0, 1.0]);
        alg.mul(&a, &a, &mut out);
        assert_eq!(out, [4.0, 4.0, 0.0, 0.0]);
        assert_eq!(alg.times_dir(1), vec![(0, 2), (1, 3)]);
        assert_eq!(alg.pair(1, 0), Some(3));
    }

    #[test]
    fn all_pairs_layout() {
        let alg = Algebra::all_pairs(3);
        assert_eq!(alg.len(), 10);
        assert_eq!(alg.pairs()[0], (0, 0));
        assert_eq!(alg.pair(2, 1), Some(1 + 3 + 4));
        assert_eq!(alg.times_dir(0), vec![(0, 1), (1, 4), (2, 5), (3, 6)]);
        assert_eq!(Algebra::tangents(4).len(), 5);
        assert_eq!(Algebra::primal().len(), 1);
    }
}

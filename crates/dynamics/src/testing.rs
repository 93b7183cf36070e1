//! A small nonlinear empirical-risk objective for the crate's tests:
//! `L(w) = (1/m) Σᵢ ½ (tanh(aᵢᵀw) − yᵢ)²` with exact gradient, HVP and third-order vector.
//! With `t = tanh z`, `s = 1 − t²`, `r = t − y`: `∇L = mean r s a`,
//! `H = mean (s² + r s′) a aᵀ` with `s′ = −2ts`, and
//! `∇(uᵀHv) = mean (3 s s′ + r s″)(aᵀu)(aᵀv) a` with `s″ = −2s² − 2ts′`.

use gdscope_core::Objective;

pub struct TanhRegression {
    pub a: Vec<Vec<f64>>,
    pub y: Vec<f64>,
}

impl TanhRegression {
    /// `m` examples in `n` dimensions from a fixed deterministic pattern.
    pub fn new(m: usize, n: usize) -> Self {
        let a = (0..m)
            .map(|i| {
                (0..n)
                    .map(|j| ((i * n + j) as f64 * 0.7).sin() * 1.5)
                    .collect()
            })
            .collect();
        let y = (0..m).map(|i| (i as f64 * 1.3).cos() * 0.8).collect();
        Self { a, y }
    }

    fn terms(&self, w: &[f64], i: usize) -> (f64, f64, f64, f64) {
        let z: f64 = self.a[i].iter().zip(w).map(|(a, w)| a * w).sum();
        let t = z.tanh();
        let s = 1.0 - t * t;
        let sp = -2.0 * t * s;
        (t - self.y[i], s, sp, -2.0 * s * s - 2.0 * t * sp)
    }

    fn hvp_on(&self, w: &[f64], idx: &[usize], v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        let m = idx.len() as f64;
        for &i in idx {
            let (r, s, sp, _) = self.terms(w, i);
            let av: f64 = self.a[i].iter().zip(v).map(|(a, v)| a * v).sum();
            let c = (s * s + r * sp) * av / m;
            out.iter_mut()
                .zip(&self.a[i])
                .for_each(|(o, a)| *o += c * a);
        }
    }

    fn accumulate(&self, w: &[f64], idx: &[usize], grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        let mut loss = 0.0;
        for &i in idx {
            let (r, s, _, _) = self.terms(w, i);
            loss += 0.5 * r * r;
            grad.iter_mut()
                .zip(&self.a[i])
                .for_each(|(g, a)| *g += r * s * a / idx.len() as f64);
        }
        loss / idx.len() as f64
    }
}

impl Objective for TanhRegression {
    fn dim(&self) -> usize {
        self.a[0].len()
    }
    fn value_grad(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let all: Vec<usize> = (0..self.y.len()).collect();
        self.accumulate(w, &all, grad)
    }
    fn hvp(&self, w: &[f64], v: &[f64], out: &mut [f64]) {
        let all: Vec<usize> = (0..self.y.len()).collect();
        self.hvp_on(w, &all, v, out)
    }
    fn hvp_subset(&self, w: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        self.hvp_on(w, indices, v, out)
    }
    fn third_order(&self, w: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        let m = self.y.len() as f64;
        for i in 0..self.y.len() {
            let (r, s, sp, spp) = self.terms(w, i);
            let au: f64 = self.a[i].iter().zip(u).map(|(a, u)| a * u).sum();
            let av: f64 = self.a[i].iter().zip(v).map(|(a, v)| a * v).sum();
            let c = (3.0 * s * sp + r * spp) * au * av / m;
            out.iter_mut()
                .zip(&self.a[i])
                .for_each(|(o, a)| *o += c * a);
        }
    }
    fn num_examples(&self) -> Option<usize> {
        Some(self.y.len())
    }
    fn value_grad_subset(&self, w: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        self.accumulate(w, indices, grad)
    }
}

#[test]
fn derivatives_match_finite_differences() {
    let f = TanhRegression::new(7, 3);
    let w = [0.3, -0.2, 0.5];
    let v = [0.1, 0.7, -0.4];
    let eps = 1e-5;
    let shifted = |e: f64| -> Vec<f64> { w.iter().zip(&v).map(|(w, v)| w + e * v).collect() };
    let (mut gp, mut gm, mut hv) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
    let lp = f.value_grad(&shifted(eps), &mut gp);
    let lm = f.value_grad(&shifted(-eps), &mut gm);
    let mut g = vec![0.0; 3];
    f.value_grad(&w, &mut g);
    let dir: f64 = g.iter().zip(&v).map(|(g, v)| g * v).sum();
    assert!(((lp - lm) / (2.0 * eps) - dir).abs() < 1e-9);
    f.hvp(&w, &v, &mut hv);
    for i in 0..3 {
        assert!(((gp[i] - gm[i]) / (2.0 * eps) - hv[i]).abs() < 1e-9);
    }
    let (mut hp, mut hm, mut d3) = (vec![0.0; 3], vec![0.0; 3], vec![0.0; 3]);
    f.hvp(&shifted(eps), &v, &mut hp);
    f.hvp(&shifted(-eps), &v, &mut hm);
    f.third_order(&w, &v, &v, &mut d3);
    // ∇(vᵀHv)·v = d/dε (vᵀ H(w+εv) v)
    let lhs: f64 = d3.iter().zip(&v).map(|(d, v)| d * v).sum();
    let rhs: f64 = hp
        .iter()
        .zip(&hm)
        .zip(&v)
        .map(|((p, m), v)| (p - m) * v / (2.0 * eps))
        .sum();
    assert!((lhs - rhs).abs() < 1e-8, "{lhs} {rhs}");
}

/// Least squares `L(w) = (1/m) Σᵢ ½(aᵢᵀw − yᵢ)²`: per-example Hessians `aᵢaᵢᵀ`, so every
/// minibatch Hessian `H_B = (1/b) Σ_{i∈B} aᵢaᵢᵀ` is known in closed form (the reference of the
/// step-curvature estimators).
pub struct LinearRegression {
    pub a: Vec<Vec<f64>>,
    pub y: Vec<f64>,
}

impl LinearRegression {
    /// `m` examples in `n` dimensions, standard normal features and targets.
    pub fn random(m: usize, n: usize, seed: u64) -> Self {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::Xoshiro256PlusPlus::seed_from_u64(seed);
        let mut normal = || rng.sample::<f64, _>(rand_distr::StandardNormal);
        let a = (0..m).map(|_| (0..n).map(|_| normal()).collect()).collect();
        let y = (0..m).map(|_| normal()).collect();
        Self { a, y }
    }

    /// `H_B` as a dense matrix.
    pub fn hessian_on(&self, idx: &[usize]) -> nalgebra::DMatrix<f64> {
        let n = self.a[0].len();
        let mut h = nalgebra::DMatrix::zeros(n, n);
        for &i in idx {
            let a = nalgebra::DVector::from_column_slice(&self.a[i]);
            h += &a * a.transpose() / idx.len() as f64;
        }
        h
    }

    /// Every subset of `b` of the `m` examples.
    pub fn subsets(&self, b: usize) -> Vec<Vec<usize>> {
        fn rec(start: usize, m: usize, b: usize, cur: &mut Vec<usize>, out: &mut Vec<Vec<usize>>) {
            if cur.len() == b {
                out.push(cur.clone());
                return;
            }
            for i in start..m {
                cur.push(i);
                rec(i + 1, m, b, cur, out);
                cur.pop();
            }
        }
        let mut out = Vec::new();
        rec(0, self.y.len(), b, &mut Vec::new(), &mut out);
        out
    }
}

impl Objective for LinearRegression {
    fn dim(&self) -> usize {
        self.a[0].len()
    }
    fn value_grad(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let all: Vec<usize> = (0..self.y.len()).collect();
        self.value_grad_subset(w, &all, grad)
    }
    fn hvp(&self, w: &[f64], v: &[f64], out: &mut [f64]) {
        let all: Vec<usize> = (0..self.y.len()).collect();
        self.hvp_subset(w, &all, v, out)
    }
    fn third_order(&self, _w: &[f64], _u: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
    fn num_examples(&self) -> Option<usize> {
        Some(self.y.len())
    }
    fn value_grad_subset(&self, w: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        grad.fill(0.0);
        let b = indices.len() as f64;
        let mut loss = 0.0;
        for &i in indices {
            let r: f64 = self.a[i].iter().zip(w).map(|(a, w)| a * w).sum::<f64>() - self.y[i];
            loss += 0.5 * r * r / b;
            grad.iter_mut()
                .zip(&self.a[i])
                .for_each(|(g, a)| *g += r * a / b);
        }
        loss
    }
    fn hvp_subset(&self, _w: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        let b = indices.len() as f64;
        for &i in indices {
            let av: f64 = self.a[i].iter().zip(v).map(|(a, v)| a * v).sum();
            out.iter_mut()
                .zip(&self.a[i])
                .for_each(|(o, a)| *o += av * a / b);
        }
    }
}

/// `inner` presented as a single-precision objective (its `f32` entry points are the
/// converting defaults of [`Objective`]): a run on it keeps its vectors in `f32`.
pub struct SinglePrecision<O>(pub O);

impl<O: Objective> Objective for SinglePrecision<O> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn value_grad(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        self.0.value_grad(w, grad)
    }
    fn hvp(&self, w: &[f64], v: &[f64], out: &mut [f64]) {
        self.0.hvp(w, v, out)
    }
    fn hvp_subset(&self, w: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        self.0.hvp_subset(w, indices, v, out)
    }
    fn third_order(&self, w: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        self.0.third_order(w, u, v, out)
    }
    fn num_examples(&self) -> Option<usize> {
        self.0.num_examples()
    }
    fn value_grad_subset(&self, w: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        self.0.value_grad_subset(w, indices, grad)
    }
    fn single_precision(&self) -> bool {
        true
    }
}

//! Fully connected layer `y = x·W + b`, `W: fan_in × fan_out` row-major, then `b: fan_out`
//! (the flat layout of `jaxmlp.py`).
//!
//! Jet rules (parameters are `W + Σ εᵢUᵢ`, `b + Σ εᵢcᵢ`):
//! - forward: `Y_m = X_m W + Σ_{a·εᵢ = m} X_a Uᵢ`, plus `b` on `Y_1` and `cᵢ` on `Y_{εᵢ}`;
//!   all `X_m W` share one GEMM over the stacked coefficients.
//! - reverse: `Ḡ_W,m = Σ_{a·b = m} X_aᵀ Ḡ_b`, `Ḡ_b,m = Σ_rows Ḡ_m` (only requested `m`),
//!   `Ḡ_X,m = Ḡ_m Wᵀ + Σ_{a·εᵢ = m} Ḡ_a Uᵢᵀ` (one stacked GEMM plus the direction terms).

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::matmul::{gemm, gemm_with, MatRef, Threads, PARALLEL_THRESHOLD};
use rand::rngs::Xoshiro256PlusPlus;
use rand::RngExt;
use rand_distr::StandardNormal;

/// `y = x·W + b`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Linear {
    /// Input width.
    pub fan_in: usize,
    /// Output width.
    pub fan_out: usize,
}

impl Linear {
    fn split<'a, T>(&self, p: &'a [T]) -> (&'a [T], &'a [T]) {
        p.split_at(self.fan_in * self.fan_out)
    }
}

/// Adds `bias` to every row of the row-major matrix `z` (`cols = bias.len()`).
fn add_rows<T: Float>(z: &mut [T], bias: &[T]) {
    for row in z.chunks_mut(bias.len()) {
        for (v, b) in row.iter_mut().zip(bias) {
            *v = *v + *b;
        }
    }
}

/// `out = Σ_rows g` (column sums of a row-major matrix with `out.len()` columns).
fn column_sums<T: Float>(g: &[T], out: &mut [T]) {
    out.fill(T::zero());
    for row in g.chunks(out.len()) {
        for (o, v) in out.iter_mut().zip(row) {
            *o = *o + *v;
        }
    }
}

impl<T: Float> Layer<T> for Linear {
    fn describe(&self) -> String {
        format!("linear({}→{})", self.fan_in, self.fan_out)
    }
    fn in_width(&self) -> usize {
        self.fan_in
    }
    fn out_width(&self) -> usize {
        self.fan_out
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            ParamShape {
                name: "weight",
                shape: vec![self.fan_in, self.fan_out],
            },
            ParamShape {
                name: "bias",
                shape: vec![self.fan_out],
            },
        ]
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let std = scheme.std(self.fan_in, self.fan_out);
        let (w, b) = out.split_at_mut(self.fan_in * self.fan_out);
        for v in w {
            *v = std * rng.sample::<f64, _>(StandardNormal);
        }
        b.fill(0.0);
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (fi, fo, n) = (self.fan_in, self.fan_out, x.rows);
        let (w, b) = self.split(p.primal());
        let stacked = x.stacked_rows();
        gemm(
            &mut y.data[..stacked * fo],
            MatRef::new(x.data, stacked, fi),
            MatRef::new(w, fi, fo),
            false,
        );
        // Coefficients the input does not store start at zero: the first direction term
        // overwrites them, later ones accumulate, untouched ones are cleared at the end.
        let mut written = Written::new(x.coeffs, alg.len());
        for i in 0..p.num_dirs() {
            let (u, c) = self.split(p.dir(i));
            for &(a, m) in alg.times_dir(i) {
                if let Some(xa) = x.coeff(a) {
                    let accumulate = written.mark(m);
                    gemm(
                        y.coeff_mut(m),
                        MatRef::new(xa, n, fi),
                        MatRef::new(u, fi, fo),
                        accumulate,
                    );
                }
            }
            add_rows(y.coeff_mut(alg.dir(i)), c);
        }
        for m in x.coeffs..alg.len() {
            if !written.mark(m) {
                y.coeff_mut(m).fill(T::zero());
            }
        }
        add_rows(y.coeff_mut(0), b);
    }

    fn backward(
        &self,
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        _y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        grads: &mut ParamGrads<'_, T>,
    ) {
        let unit = x.rows * self.fan_in * self.fan_out;
        match gx {
            // The parameter gradient and the input cotangent are independent: on several
            // threads, compute them side by side. Each product may still split into tasks,
            // so an idle thread steals from the longer side (a third-order pass has twice as
            // many cotangent products as gradient products).
            Some(gx)
                if !grads.is_empty() && unit >= PARALLEL_THRESHOLD && crate::par::threads() > 1 =>
            {
                rayon::join(
                    || self.param_grads(alg, x, gy, grads, Threads::BySize),
                    || self.input_cotangent(alg, p, x.rows, gy, gx, Threads::BySize),
                );
            }
            gx => {
                self.param_grads(alg, x, gy, grads, Threads::BySize);
                if let Some(gx) = gx {
                    self.input_cotangent(alg, p, x.rows, gy, gx, Threads::BySize);
                }
            }
        }
    }
}

impl Linear {
    /// `Ḡ_W,m = Σ_{a·b=m} X_aᵀ Ḡ_b` and `Ḡ_b,m = Σ_rows Ḡ_m` for every requested `m`.
    fn param_grads<T: Float>(
        &self,
        alg: &Algebra,
        x: JetRef<'_, T>,
        gy: &Jet<T>,
        grads: &mut ParamGrads<'_, T>,
        threads: Threads,
    ) {
        let (fi, fo, n) = (self.fan_in, self.fan_out, x.rows);
        for s in 0..grads.len() {
            let (m, slot) = grads.slot(s);
            let (gw, gb) = slot.split_at_mut(fi * fo);
            let mut first = true;
            for &(a, bm) in alg.terms(m) {
                if let Some(xa) = x.coeff(a) {
                    gemm_with(
                        gw,
                        MatRef::new(xa, n, fi).t(),
                        MatRef::new(gy.coeff(bm), n, fo),
                        !first,
                        threads,
                    );
                    first = false;
                }
            }
            if first {
                gw.fill(T::zero());
            }
            column_sums(gy.coeff(m), gb);
        }
    }

    /// `Ḡ_X,m = Ḡ_m Wᵀ + Σ_{a·εᵢ = m} Ḡ_a Uᵢᵀ` for every coefficient.
    fn input_cotangent<T: Float>(
        &self,
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        n: usize,
        gy: &Jet<T>,
        gx: &mut Jet<T>,
        threads: Threads,
    ) {
        let (fi, fo) = (self.fan_in, self.fan_out);
        let (w, _) = self.split(p.primal());
        let rows = gy.coeffs * n;
        gemm_with(
            &mut gx.data,
            MatRef::new(&gy.data, rows, fo),
            MatRef::new(w, fi, fo).t(),
            false,
            threads,
        );
        for i in 0..p.num_dirs() {
            let (u, _) = self.split(p.dir(i));
            for &(a, m) in alg.times_dir(i) {
                gemm_with(
                    gx.coeff_mut(m),
                    MatRef::new(gy.coeff(a), n, fo),
                    MatRef::new(u, fi, fo).t(),
                    true,
                    threads,
                );
            }
        }
    }
}

/// Which output coefficients beyond the stored input ones hold a value already (a bit set on
/// the stack: algebras have at most [`Written::MAX`] monomials beyond the stored ones).
struct Written {
    from: usize,
    bits: [u64; 4],
}

impl Written {
    const MAX: usize = 256;

    fn new(from: usize, monomials: usize) -> Self {
        assert!(
            monomials.saturating_sub(from) <= Self::MAX,
            "a jet algebra with {monomials} monomials is beyond the engine's limit"
        );
        Self { from, bits: [0; 4] }
    }

    /// Marks coefficient `m` written; returns whether it was written before (coefficients the
    /// input stores always were: the stacked GEMM wrote them).
    fn mark(&mut self, m: usize) -> bool {
        if m < self.from {
            return true;
        }
        let (word, bit) = ((m - self.from) / 64, (m - self.from) % 64);
        let before = self.bits[word] >> bit & 1 == 1;
        self.bits[word] |= 1 << bit;
        before
    }
}

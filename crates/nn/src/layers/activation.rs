//! Elementwise activations. Each function lists its value and first three derivatives side by
//! side (the forward jet rule needs `f, f′, f″`; the reverse rule multiplies the cotangent by
//! the jet of `f′`, which needs `f′, f″, f‴`).
//!
//! - forward: `y = f(x)` in the algebra: `Algebra::compose([f, f′, f″], x)`;
//! - reverse: `ḡ_x = ḡ_y · f′(x)` with `f′(x) = Algebra::compose([f′, f″, f‴], x)`.
//!
//! Both run fused, one pass over the elements, split across threads.

use crate::algebra::Algebra;
use crate::float::{c, Float};
use crate::jet::{map_elements, no_input, Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Elements per parallel task on the plain-value fast path.
const CHUNK: usize = 8192;

/// An elementwise nonlinearity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// `x`.
    Identity,
    /// `tanh x`.
    Tanh,
    /// `max(0, x)` (derivative 0 at 0; higher derivatives 0).
    Relu,
    /// Exact GELU `x·Φ(x)`, `Φ` the standard normal CDF via `erf`.
    Gelu,
    /// GELU, tanh approximation `½x(1 + tanh(√(2/π)(x + 0.044715x³)))` (JAX `approximate=True`).
    GeluTanh,
    /// `log(1 + eˣ)`.
    Softplus,
    /// `x` for `x > 0`, `eˣ − 1` otherwise (α = 1).
    Elu,
}

impl Activation {
    /// All activations with their spec names.
    pub const ALL: [(&'static str, Activation); 7] = [
        ("identity", Activation::Identity),
        ("tanh", Activation::Tanh),
        ("relu", Activation::Relu),
        ("gelu", Activation::Gelu),
        ("gelu-tanh", Activation::GeluTanh),
        ("softplus", Activation::Softplus),
        ("elu", Activation::Elu),
    ];

    /// Parses a spec name (`gelu-tanh`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|&(_, a)| a)
    }

    /// The spec name.
    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map_or("?", |(n, _)| n)
    }

    /// `[f(x), f′(x), f″(x), f‴(x)]`.
    #[inline]
    pub fn derivatives<T: Float>(self, x: T) -> [T; 4] {
        let (zero, one, two) = (T::zero(), T::one(), c::<T>(2.0));
        match self {
            Activation::Identity => [x, one, zero, zero],
            Activation::Tanh => {
                // s = 1 − t²: f′ = s, f″ = −2ts, f‴ = s(6t² − 2)
                let t = x.act_tanh();
                let s = one - t * t;
                [t, s, -two * t * s, s * (c::<T>(6.0) * t * t - two)]
            }
            Activation::Relu => {
                if x > zero {
                    [x, one, zero, zero]
                } else {
                    [zero, zero, zero, zero]
                }
            }
            Activation::Gelu => {
                // Φ = ½(1 + erf(x/√2)), φ = e^{−x²/2}/√(2π):
                // f = xΦ, f′ = Φ + xφ, f″ = φ(2 − x²), f‴ = φ(x³ − 4x)
                let phi_cdf = c::<T>(0.5) * (one + (x * T::FRAC_1_SQRT_2()).erf());
                let phi = (-c::<T>(0.5) * x * x).exp() * c::<T>(0.398_942_280_401_432_7);
                let x2 = x * x;
                [
                    x * phi_cdf,
                    phi_cdf + x * phi,
                    phi * (two - x2),
                    phi * (x2 * x - c::<T>(4.0) * x),
                ]
            }
            Activation::GeluTanh => {
                // g = κ(x + a x³), t = tanh g, s = 1 − t²; q = (s g′)′ = s g″ − 2ts g′²
                // f = ½x(1+t), f′ = ½(1+t) + ½x s g′, f″ = s g′ + ½x q,
                // f‴ = 3/2 q + ½x q′, q′ = s g‴ − 6ts g′g″ − 2s²g′³ + 4t²s g′³
                let kappa = c::<T>(0.797_884_560_802_865_4);
                let a = c::<T>(0.044_715);
                let half = c::<T>(0.5);
                let x2 = x * x;
                let g = kappa * (x + a * x2 * x);
                let g1 = kappa * (one + c::<T>(3.0) * a * x2);
                let g2 = c::<T>(6.0) * a * kappa * x;
                let g3 = c::<T>(6.0) * a * kappa;
                let t = g.act_tanh();
                let s = one - t * t;
                let q = s * g2 - two * t * s * g1 * g1;
                let q1 = s * g3 - c::<T>(6.0) * t * s * g1 * g2 - two * s * s * g1 * g1 * g1
                    + c::<T>(4.0) * t * t * s * g1 * g1 * g1;
                [
                    half * x * (one + t),
                    half * (one + t) + half * x * s * g1,
                    s * g1 + half * x * q,
                    c::<T>(1.5) * q + half * x * q1,
                ]
            }
            Activation::Softplus => {
                // f′ = σ, f″ = σ(1−σ), f‴ = σ(1−σ)(1−2σ); f = max(x,0) + log1p(e^{−|x|})
                let sig = one / (one + (-x).exp());
                let d2 = sig * (one - sig);
                [
                    x.max(zero) + (-x.abs()).exp().ln_1p(),
                    sig,
                    d2,
                    d2 * (one - two * sig),
                ]
            }
            Activation::Elu => {
                if x > zero {
                    [x, one, zero, zero]
                } else {
                    let e = x.exp();
                    [e - one, e, e, e]
                }
            }
        }
    }
}

/// An activation applied to a batch of width `width`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActivationLayer {
    /// The function.
    pub act: Activation,
    /// Features per example (input = output width).
    pub width: usize,
}

impl<T: Float> Layer<T> for ActivationLayer {
    fn describe(&self) -> String {
        format!("{}({})", self.act.name(), self.width)
    }
    fn in_width(&self) -> usize {
        self.width
    }
    fn out_width(&self) -> usize {
        self.width
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        Vec::new()
    }
    fn init(&self, _scheme: Init, _rng: &mut Xoshiro256PlusPlus, _out: &mut [f64]) {}

    fn forward(&self, alg: &Algebra, _p: &ParamJet<'_, T>, x: JetRef<'_, T>) -> Jet<T> {
        let mut y = Jet::zeros(alg.len(), x.rows, x.cols);
        let act = self.act;
        if alg.len() == 1 {
            // Plain values (gradient passes): no coefficients to gather.
            y.data
                .par_chunks_mut(CHUNK)
                .zip(x.data.par_chunks(CHUNK))
                .for_each(|(yc, xc)| {
                    for (yv, xv) in yc.iter_mut().zip(xc) {
                        *yv = act.derivatives(*xv)[0];
                    }
                });
            return y;
        }
        map_elements(x, no_input(), &mut y, |xe, _, _, ye| {
            let [f0, f1, f2, _] = act.derivatives(xe[0]);
            alg.compose([f0, f1, f2], xe, ye);
        });
        y
    }

    fn backward(
        &self,
        alg: &Algebra,
        _p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        _y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        _grads: &mut ParamGrads<'_, T>,
    ) {
        let Some(gx) = gx else { return };
        let act = self.act;
        if alg.len() == 1 {
            let chunks = gx.data.par_chunks_mut(CHUNK).zip(gy.data.par_chunks(CHUNK));
            chunks
                .zip(x.data.par_chunks(CHUNK))
                .for_each(|((gc, yc), xc)| {
                    for ((g, gyv), xv) in gc.iter_mut().zip(yc).zip(xc) {
                        *g = *gyv * act.derivatives(*xv)[1];
                    }
                });
            return;
        }
        map_elements(x, gy.view(), gx, |xe, ge, dfe, out| {
            let [_, f1, f2, f3] = act.derivatives(xe[0]);
            alg.compose([f1, f2, f3], xe, dfe);
            alg.mul(ge, dfe, out);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each listed derivative matches a central difference of the one before it, and the error
    /// shrinks like ε² (ratio ≈ 4 when ε halves), so the closed forms are exact.
    #[test]
    fn closed_form_derivatives_match_central_differences_with_eps_squared_error() {
        let points = [-2.3, -0.7, -0.05, 0.31, 1.4, 2.9];
        for (name, act) in Activation::ALL {
            for &x in &points {
                for order in 0..3 {
                    let exact = act.derivatives(x)[order + 1];
                    let fd = |h: f64| {
                        (act.derivatives(x + h)[order] - act.derivatives(x - h)[order]) / (2.0 * h)
                    };
                    let (e1, e2) = ((fd(1e-2) - exact).abs(), (fd(5e-3) - exact).abs());
                    let scale = exact.abs().max(1.0);
                    if e1 < 1e-9 * scale {
                        continue; // polynomial piece or kink-free linear region: FD exact
                    }
                    let ratio = e1 / e2;
                    assert!(
                        (3.5..4.5).contains(&ratio),
                        "{name} order {} at {x}: errors {e1:e} {e2:e}, ratio {ratio}",
                        order + 1
                    );
                }
            }
        }
    }

    #[test]
    fn f32_and_f64_agree_and_names_round_trip() {
        for (name, act) in Activation::ALL {
            assert_eq!(Activation::from_name(name), Some(act));
            assert_eq!(act.name(), name);
            for x in [-1.7f64, 0.2, 2.5] {
                let d64 = act.derivatives(x);
                let d32 = act.derivatives(x as f32);
                for (a, b) in d64.iter().zip(d32) {
                    assert!(
                        (a - f64::from(b)).abs() < 1e-5 * a.abs().max(1.0),
                        "{name} {x}"
                    );
                }
            }
        }
        assert_eq!(Activation::from_name("swish"), None);
    }
}

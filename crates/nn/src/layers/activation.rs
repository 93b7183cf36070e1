//! Elementwise activations. Each function lists its value and first three derivatives side by
//! side (the forward jet rule needs `f, f′, f″`; the reverse rule multiplies the cotangent by
//! the jet of `f′`, which needs `f′, f″, f‴`).
//!
//! - forward: `y = f(x)` in the algebra: `Algebra::compose([f, f′, f″], x)`;
//! - reverse: `ḡ_x = ḡ_y · f′(x)` with `f′(x) = Algebra::compose([f′, f″, f‴], x)`.
//!
//! Both run as fused, vectorised kernels over the coefficient matrices
//! (`layers/activation_jet.rs`), which evaluate exactly the per-element table below.

use crate::algebra::Algebra;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::activation_jet;
use rand::rngs::Xoshiro256PlusPlus;

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
    /// Swish / SiLU `x·σ(x)`, `σ(x) = 1/(1 + e⁻ˣ)` (`jax.nn.swish`, `torch.nn.SiLU`).
    Swish,
}

impl Activation {
    /// All activations with their spec names.
    pub const ALL: [(&'static str, Activation); 8] = [
        ("identity", Activation::Identity),
        ("tanh", Activation::Tanh),
        ("relu", Activation::Relu),
        ("gelu", Activation::Gelu),
        ("gelu-tanh", Activation::GeluTanh),
        ("softplus", Activation::Softplus),
        ("elu", Activation::Elu),
        ("swish", Activation::Swish),
    ];

    /// Other accepted spec names: `silu` is `swish`.
    const ALIASES: [(&'static str, Activation); 1] = [("silu", Activation::Swish)];

    /// Parses a spec name (`gelu-tanh`, `swish` or its alias `silu`, …).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .chain(&Self::ALIASES)
            .find(|(n, _)| *n == name)
            .map(|&(_, a)| a)
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
        match self {
            Activation::Identity => identity(x),
            Activation::Tanh => tanh(x),
            Activation::Relu => relu(x),
            Activation::Gelu => gelu(x),
            Activation::GeluTanh => gelu_tanh(x),
            Activation::Softplus => softplus(x),
            Activation::Elu => elu(x),
            Activation::Swish => swish(x),
        }
    }

    /// Calls `user` with this activation's table as a function item, so that the caller's
    /// loop is compiled (and vectorised) for one activation at a time.
    #[inline(always)]
    pub(crate) fn with_table<T: Float, U: TableUser<T>>(self, user: U) {
        match self {
            Activation::Identity => user.run(identity::<T>),
            Activation::Tanh => user.run(tanh::<T>),
            Activation::Relu => user.run(relu::<T>),
            Activation::Gelu => user.run(gelu::<T>),
            Activation::GeluTanh => user.run(gelu_tanh::<T>),
            Activation::Softplus => user.run(softplus::<T>),
            Activation::Elu => user.run(elu::<T>),
            Activation::Swish => user.run(swish::<T>),
        }
    }
}

/// Code generic over an activation's table `x ↦ [f, f′, f″, f‴]` (see
/// [`Activation::with_table`]).
pub(crate) trait TableUser<T> {
    /// Runs with the table `f`.
    fn run<F: Fn(T) -> [T; 4] + Copy>(self, f: F);
}

#[inline(always)]
fn identity<T: Float>(x: T) -> [T; 4] {
    [x, T::one(), T::zero(), T::zero()]
}

/// `s = 1 − t²`: `f′ = s`, `f″ = −2ts`, `f‴ = s(6t² − 2)`.
#[inline(always)]
fn tanh<T: Float>(x: T) -> [T; 4] {
    let two = c::<T>(2.0);
    let t = x.act_tanh();
    let s = T::one() - t * t;
    [t, s, -two * t * s, s * (c::<T>(6.0) * t * t - two)]
}

#[inline(always)]
fn relu<T: Float>(x: T) -> [T; 4] {
    let (zero, one) = (T::zero(), T::one());
    if x > zero {
        [x, one, zero, zero]
    } else {
        [zero, zero, zero, zero]
    }
}

/// `Φ = ½(1 + erf(x/√2))`, `φ = e^{−x²/2}/√(2π)`:
/// `f = xΦ`, `f′ = Φ + xφ`, `f″ = φ(2 − x²)`, `f‴ = φ(x³ − 4x)`.
#[inline(always)]
fn gelu<T: Float>(x: T) -> [T; 4] {
    let one = T::one();
    let phi_cdf = c::<T>(0.5) * (one + (x * T::FRAC_1_SQRT_2()).erf());
    let phi = (-c::<T>(0.5) * x * x).exp() * c::<T>(0.398_942_280_401_432_7);
    let x2 = x * x;
    [
        x * phi_cdf,
        phi_cdf + x * phi,
        phi * (c::<T>(2.0) - x2),
        phi * (x2 * x - c::<T>(4.0) * x),
    ]
}

/// `g = κ(x + a x³)`, `t = tanh g`, `s = 1 − t²`; `q = (s g′)′ = s g″ − 2ts g′²`:
/// `f = ½x(1+t)`, `f′ = ½(1+t) + ½x s g′`, `f″ = s g′ + ½x q`, `f‴ = 3/2 q + ½x q′`,
/// `q′ = s g‴ − 6ts g′g″ − 2s²g′³ + 4t²s g′³`.
#[inline(always)]
fn gelu_tanh<T: Float>(x: T) -> [T; 4] {
    let (one, two) = (T::one(), c::<T>(2.0));
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

/// `f′ = σ`, `f″ = σ(1−σ)`, `f‴ = σ(1−σ)(1−2σ)`; `f = max(x,0) + log1p(e^{−|x|})`.
#[inline(always)]
fn softplus<T: Float>(x: T) -> [T; 4] {
    let one = T::one();
    let sig = one / (one + (-x).exp());
    let d2 = sig * (one - sig);
    [
        x.max(T::zero()) + (-x.abs()).exp().ln_1p(),
        sig,
        d2,
        d2 * (one - c::<T>(2.0) * sig),
    ]
}

#[inline(always)]
fn elu<T: Float>(x: T) -> [T; 4] {
    if x > T::zero() {
        [x, T::one(), T::zero(), T::zero()]
    } else {
        let e = x.exp();
        [e - T::one(), e, e, e]
    }
}

/// With `σ = σ(x)`, `σ̄ = 1 − σ = σ(−x)`, `r = σσ̄ = σ′` and `b = 1 − 2σ = σ̄ − σ`:
/// `f = xσ`, `f′ = σ + x r`, `f″ = r(2 + x b)`, `f‴ = r(3b + x(b² − 2r))`
/// (from `σ″ = r b` and `(r b)′ = r(b² − 2r)`). `σ` and `σ̄` both come from `e^{−|x|}`, so
/// neither loses precision in the tails.
#[inline(always)]
fn swish<T: Float>(x: T) -> [T; 4] {
    let one = T::one();
    let e = (-x.abs()).act_exp_neg();
    let (near, far) = (one / (one + e), e / (one + e));
    let (sig, sig_bar) = if x >= T::zero() {
        (near, far)
    } else {
        (far, near)
    };
    let r = sig * sig_bar;
    let b = sig_bar - sig;
    [
        x * sig,
        sig + x * r,
        r * (c::<T>(2.0) + x * b),
        r * (c::<T>(3.0) * b + x * (b * b - c::<T>(2.0) * r)),
    ]
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

    fn forward(&self, alg: &Algebra, _p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        activation_jet::forward(self.act, alg, x, y);
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
        if let Some(gx) = gx {
            activation_jet::backward(self.act, alg, x, gy, gx);
        }
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
        assert_eq!(Activation::from_name("silu"), Some(Activation::Swish));
        assert_eq!(Activation::from_name("mish"), None);
    }
}

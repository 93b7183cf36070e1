//! The scalar types the engine computes in: `f32` and `f64` behind one small trait.
//!
//! Every public entry point takes and returns `f64`; a network built with `Dtype::F32`
//! converts parameters and directions once per call at the boundary (docs/engine.md, "f32/f64").

use std::borrow::Cow;
use std::fmt::Debug;
use std::iter::Sum;

/// A floating-point type the jet engine can run in (`f32` or `f64`).
pub trait Float:
    num_traits::Float + num_traits::FloatConst + Debug + Default + Send + Sync + Sum + 'static
{
    /// The error function `erf(x)` to full precision of the type (`libm`).
    fn erf(self) -> Self;
    /// Converts from `f64` (rounding to nearest for `f32`).
    fn from_f64(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
    /// Views an `f64` slice in this type: borrowed for `f64`, converted for `f32`.
    fn slice_from_f64(v: &[f64]) -> Cow<'_, [Self]>;
    /// [`slice_from_f64`](Self::slice_from_f64) without allocation in steady state: `f64`
    /// borrows `v`, `f32` converts into `buf` (reusing its capacity) and borrows that.
    fn load<'a>(v: &'a [f64], buf: &'a mut Vec<Self>) -> &'a [Self];
    /// Writes `src` into `dst` as `f64` (exact widening for `f32`, a copy for `f64`).
    fn store(src: &[Self], dst: &mut [f64]);
    /// `tanh(x)` for activations. `f64`: the correctly rounded library `tanh` (exact path).
    /// `f32`: a branch-free rational minimax approximation (the one Eigen uses for `float`),
    /// within a few ulp of `tanh` and free of the library call that dominated f32 training
    /// steps (docs/PERFORMANCE.md).
    fn act_tanh(self) -> Self;
}

impl Float for f64 {
    fn erf(self) -> Self {
        libm::erf(self)
    }
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    fn slice_from_f64(v: &[f64]) -> Cow<'_, [Self]> {
        Cow::Borrowed(v)
    }
    fn load<'a>(v: &'a [f64], _buf: &'a mut Vec<Self>) -> &'a [Self] {
        v
    }
    fn store(src: &[Self], dst: &mut [f64]) {
        dst.copy_from_slice(src);
    }
    fn act_tanh(self) -> Self {
        self.tanh()
    }
}

impl Float for f32 {
    fn erf(self) -> Self {
        libm::erff(self)
    }
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        f64::from(self)
    }
    fn slice_from_f64(v: &[f64]) -> Cow<'_, [Self]> {
        Cow::Owned(v.iter().map(|&x| x as f32).collect())
    }
    fn load<'a>(v: &'a [f64], buf: &'a mut Vec<Self>) -> &'a [Self] {
        buf.clear();
        buf.extend(v.iter().map(|&x| x as f32));
        buf
    }
    fn store(src: &[Self], dst: &mut [f64]) {
        dst.iter_mut()
            .zip(src)
            .for_each(|(d, s)| *d = f64::from(*s));
    }
    fn act_tanh(self) -> Self {
        tanh_f32(self)
    }
}

/// `tanh` for `f32` as `x·P(x²)/Q(x²)` on `|x| ≤ 7.905` (beyond it `tanh` rounds to ±1 in
/// `f32`), `x` itself for `|x| < 4e-4`. Coefficients: Eigen's `generic_fast_tanh_float`.
#[inline]
fn tanh_f32(x: f32) -> f32 {
    const CLAMP: f32 = 7.905_311;
    const ALPHA: [f32; 7] = [
        -2.760_768_5e-16,
        2.000_188e-13,
        -8.604_672e-11,
        5.122_297e-8,
        1.485_722_4e-5,
        6.372_619_3e-4,
        4.893_524_6e-3,
    ];
    const BETA: [f32; 4] = [1.198_258_4e-6, 1.185_347_1e-4, 2.268_434_6e-3, 4.893_525e-3];
    let xc = x.clamp(-CLAMP, CLAMP);
    let x2 = xc * xc;
    let p = ALPHA.iter().fold(0.0f32, |acc, &a| acc * x2 + a) * xc;
    let q = BETA.iter().fold(0.0f32, |acc, &b| acc * x2 + b);
    if x.abs() < 4e-4 {
        x
    } else {
        p / q
    }
}

/// `T` constant from an `f64` literal.
pub(crate) fn c<T: Float>(x: f64) -> T {
    T::from_f64(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The f32 activation tanh stays within 3 ulp-ish of the exact value over the range that
    /// matters, is odd, saturates to ±1 and propagates NaN.
    #[test]
    fn f32_tanh_is_accurate() {
        let mut worst = 0.0f64;
        for i in -200_000..=200_000 {
            let x = i as f32 * 5e-5;
            let exact = f64::from(x).tanh();
            let got = f64::from(x.act_tanh());
            let err = (got - exact).abs() / exact.abs().max(1e-30);
            worst = worst.max(err);
            assert_eq!(x.act_tanh(), -(-x).act_tanh());
        }
        assert!(
            worst < 4.0 * f64::from(f32::EPSILON),
            "max relative error {worst:e}"
        );
        assert_eq!(20.0f32.act_tanh(), 1.0);
        assert_eq!((-1e30f32).act_tanh(), -1.0);
        assert!(f32::NAN.act_tanh().is_nan());
        assert_eq!(0.7f64.act_tanh(), 0.7f64.tanh());
    }
}

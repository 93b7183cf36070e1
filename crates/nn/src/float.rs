//! The scalar types the engine computes in: `f32` and `f64` behind one small trait.
//!
//! A network built with `Dtype::F32` computes every pass in `f32`. Its `f64` entry points
//! convert the parameters and directions once per call at the boundary; the `f32` entry
//! points of `Objective` (used by single-precision runs) take the point as stored, with no
//! conversion (docs/engine.md, "f32 / f64").

use std::borrow::Cow;
use std::fmt::Debug;
use std::iter::Sum;

use crate::vec_math;

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
    /// `tanh(x)` for activations: branch-free approximations that vectorise (`vec_math`),
    /// within 4 ulp of `tanh` in `f32` and 3 ulp in `f64`, free of the library call that
    /// dominated training steps (docs/PERFORMANCE.md).
    fn act_tanh(self) -> Self;
    /// `eˣ` for `x ≤ 0` in activations (the `e^{−|x|}` of σ): in `f64` the branch-free
    /// [`vec_math::exp_f64`] (about 1 ulp; 0 below `x = −700`, where `eˣ < 1e-304`), which
    /// lets the kernel loop vectorise instead of calling the library per element; in `f32` the
    /// library `expf`.
    fn act_exp_neg(self) -> Self;
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
        vec_math::tanh_f64(self)
    }
    fn act_exp_neg(self) -> Self {
        let e = vec_math::exp_f64(self.max(-700.0));
        if self < -700.0 {
            0.0
        } else {
            e
        }
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
        vec_math::tanh_f32(self)
    }
    fn act_exp_neg(self) -> Self {
        self.exp()
    }
}

/// `T` constant from an `f64` literal.
pub(crate) fn c<T: Float>(x: f64) -> T {
    T::from_f64(x)
}

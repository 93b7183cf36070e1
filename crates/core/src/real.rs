//! The precisions a run can keep its parameter-sized vectors in (`f64`, `f32`), and typed
//! views of those vectors (docs/engine.md "f32 / f64", docs/ARCHITECTURE.md "Run precision").
//!
//! A run whose objective computes in single precision ([`Objective::single_precision`])
//! keeps its weights, gradient, update and optimizer buffers in `f32` and calls the
//! objective's `f32` entry points, so nothing parameter-sized is converted inside the step
//! loop. Scalars (the loss, the step counter `t`, learning rates, metrics) stay `f64`.
//! Generic code is written once over [`Real`]; the two precisions differ only in which
//! entry point of the objective and of the optimizer they call.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::objective::{Block, Objective};
use crate::optimizer::{OptimizerError, Rule};
use crate::rules::RuleState;

/// `f64` or `f32`: the scalar type of a run's parameter-sized vectors.
pub trait Real:
    num_traits::Float + Default + std::fmt::Debug + Send + Sync + Serialize + DeserializeOwned + 'static
{
    /// `x` rounded to this precision.
    fn of_f64(x: f64) -> Self;

    /// The value as `f64` (exact).
    fn as_f64(self) -> f64;

    /// A typed view of `x`.
    fn values(x: &[Self]) -> Values<'_>;

    /// `f(x)` and `∇f(x)` on every example (`rows = None`) or on the examples `rows`,
    /// through the objective's entry point of this precision.
    fn value_grad(
        obj: &dyn Objective,
        x: &[Self],
        rows: Option<&[usize]>,
        grad: &mut [Self],
    ) -> f64;

    /// One discrete step of `rule` in this precision ([`Rule::step`] / [`Rule::step_f32`]).
    fn step(
        rule: &Rule,
        state: &mut RuleState<Self>,
        grad: &[Self],
        w: &mut [Self],
        update: &mut [Self],
    ) -> Result<(), OptimizerError>;
}

/// The two precisions differ only in their conversions, their [`Values`] variant and the
/// entry points of the objective and of the rule they call.
macro_rules! real {
    ($t:ty, $variant:ident, $of:expr, $as:expr, $value_grad:ident, $subset:ident, $step:ident) => {
        impl Real for $t {
            fn of_f64(x: f64) -> Self {
                $of(x)
            }
            fn as_f64(self) -> f64 {
                $as(self)
            }
            fn values(x: &[Self]) -> Values<'_> {
                Values::$variant(x)
            }
            fn value_grad(
                obj: &dyn Objective,
                x: &[Self],
                rows: Option<&[usize]>,
                grad: &mut [Self],
            ) -> f64 {
                match rows {
                    Some(rows) => obj.$subset(x, rows, grad),
                    None => obj.$value_grad(x, grad),
                }
            }
            fn step(
                rule: &Rule,
                state: &mut RuleState<Self>,
                grad: &[Self],
                w: &mut [Self],
                update: &mut [Self],
            ) -> Result<(), OptimizerError> {
                rule.$step(state, grad, w, update)
            }
        }
    };
}

real!(f64, F64, |x| x, |x| x, value_grad, value_grad_subset, step);
real!(
    f32,
    F32,
    |x| x as f32,
    f64::from,
    value_grad_f32,
    value_grad_subset_f32,
    step_f32
);

/// A parameter-sized vector in either precision, borrowed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Values<'a> {
    /// Double precision.
    F64(&'a [f64]),
    /// Single precision.
    F32(&'a [f32]),
}

impl<'a> Values<'a> {
    /// Number of entries.
    pub fn len(self) -> usize {
        match self {
            Values::F64(x) => x.len(),
            Values::F32(x) => x.len(),
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(self) -> bool {
        self.len() == 0
    }

    /// The values as `f64`: the slice itself in double precision, else converted into
    /// `buffer` (resized; the one place a single-precision vector is widened).
    pub fn to_f64(self, buffer: &'a mut Vec<f64>) -> &'a [f64] {
        match self {
            Values::F64(x) => x,
            Values::F32(x) => {
                buffer.clear();
                buffer.extend(x.iter().map(|&v| f64::from(v)));
                buffer
            }
        }
    }

    /// `Σ xᵢ yᵢ` accumulated in `f64` (entries widened one by one, no buffer); `None` when
    /// the precisions differ or the lengths do. Both precisions sum in [`dot_in`]'s eight
    /// lanes (for `f64` the same bits as [`crate::linalg::dot`]).
    pub fn dot(self, other: Values<'_>) -> Option<f64> {
        match (self, other) {
            (Values::F64(x), Values::F64(y)) if x.len() == y.len() => Some(dot_in(x, y)),
            (Values::F32(x), Values::F32(y)) if x.len() == y.len() => Some(dot_in(x, y)),
            _ => None,
        }
    }

    /// `‖x‖₂` (the square root of [`dot`](Self::dot) with itself).
    pub fn norm(self) -> f64 {
        match self {
            Values::F64(x) => dot_in(x, x).sqrt(),
            Values::F32(x) => dot_in(x, x).sqrt(),
        }
    }

    /// Whether every entry is finite (checked in blocks without early exit inside a
    /// block, which vectorises).
    pub fn all_finite(self) -> bool {
        fn blocks<T: Real>(x: &[T]) -> bool {
            x.chunks(256)
                .all(|c| c.iter().fold(true, |ok, v| ok & v.is_finite()))
        }
        match self {
            Values::F64(x) => blocks(x),
            Values::F32(x) => blocks(x),
        }
    }
}

/// `Σ xᵢ yᵢ` accumulated in `f64`, entries widened one by one (no buffer), in eight
/// interleaved partial sums (element `i` goes to sum `i mod 8`; the sums are added pairwise,
/// then the tail in order). Deterministic, independent of the CPU, and it vectorises: a single
/// running sum is a chain of dependent additions (≈ 4× slower on parameter-sized vectors; the
/// per-step norms and cosines of a training run cost ≈ 1 % of it that way). For `f64` this is
/// [`crate::linalg::dot`].
#[inline(always)]
pub fn dot_in<T: Real>(x: &[T], y: &[T]) -> f64 {
    const LANES: usize = 8;
    let mut acc = [0.0f64; LANES];
    let (xc, yc) = (x.chunks_exact(LANES), y.chunks_exact(LANES));
    let (xt, yt) = (xc.remainder(), yc.remainder());
    for (a, b) in xc.zip(yc) {
        for l in 0..LANES {
            acc[l] += a[l].as_f64() * b[l].as_f64();
        }
    }
    let tail: f64 = xt
        .iter()
        .zip(yt)
        .map(|(a, b)| a.as_f64() * b.as_f64())
        .sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// `H(x)·[v₁ … v_k]` at a point of either precision (the point is passed to the objective in
/// its own precision; the directions are `f64`).
pub fn block_hvp_at(obj: &dyn Objective, x: Values<'_>, vs: &Block) -> Block {
    match x {
        Values::F64(x) => obj.block_hvp(x, vs),
        Values::F32(x) => obj.block_hvp_f32(x, vs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_widen_exactly_and_refuse_mixed_dots() {
        let x32 = [0.1f32, -2.5, 3.0e-8];
        let mut buf = Vec::new();
        let wide = Values::F32(&x32).to_f64(&mut buf).to_vec();
        assert_eq!(wide, x32.iter().map(|&v| f64::from(v)).collect::<Vec<_>>());
        let x64 = [1.0, 2.0, 3.0];
        assert_eq!(Values::F64(&x64).dot(Values::F32(&x32)), None);
        assert_eq!(Values::F64(&x64).dot(Values::F64(&x64)), Some(14.0));
        assert!(!Values::F32(&[f32::NAN]).all_finite());
    }

    #[test]
    fn eight_lane_dot_agrees_with_the_sum_in_order() {
        fn in_order<T: Real>(x: &[T], y: &[T]) -> f64 {
            x.iter().zip(y).map(|(a, b)| a.as_f64() * b.as_f64()).sum()
        }
        for n in [0, 1, 7, 8, 9, 100, 1003] {
            let x: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let y: Vec<f64> = (0..n).map(|i| (i as f64 * 1.3).cos()).collect();
            let (x32, y32): (Vec<f32>, Vec<f32>) = x
                .iter()
                .zip(&y)
                .map(|(&a, &b)| (a as f32, b as f32))
                .unzip();
            for (lanes, exact) in [
                (
                    Values::F64(&x).dot(Values::F64(&y)).unwrap(),
                    in_order(&x, &y),
                ),
                (
                    Values::F32(&x32).dot(Values::F32(&y32)).unwrap(),
                    in_order(&x32, &y32),
                ),
            ] {
                assert!(
                    (lanes - exact).abs() <= 1e-12 * (1.0 + exact.abs()),
                    "n = {n}"
                );
            }
            assert_eq!(
                dot_in(&x, &y).to_bits(),
                crate::linalg::dot(&x, &y).to_bits()
            );
        }
    }
}

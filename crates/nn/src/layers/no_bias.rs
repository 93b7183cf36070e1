//! A fully connected layer without bias, `y = x·W` (`W: fan_in × fan_out` row-major), as
//! `torch.nn.Linear(..., bias=False)` in the central-flows CNN.
//!
//! It reuses the jet rules of [`Linear`] (module `linear`) with the bias held at zero: the
//! forward pass hands `Linear` the weight followed by a zero bias (value and every direction),
//! and the reverse pass keeps only the weight part of the gradient coefficients. The extra
//! copy is `O(fan_in·fan_out)` per call, negligible next to the GEMMs.

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::Linear;
use rand::rngs::Xoshiro256PlusPlus;

/// `y = x·W`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoBias(pub Linear);

impl NoBias {
    fn weights(&self) -> usize {
        self.0.fan_in * self.0.fan_out
    }

    /// `v` followed by a zero bias.
    fn padded<T: Float>(&self, v: &[T]) -> Vec<T> {
        let mut out = Vec::with_capacity(self.weights() + self.0.fan_out);
        out.extend_from_slice(v);
        out.resize(self.weights() + self.0.fan_out, T::zero());
        out
    }

    /// Calls `f` with `p` extended by zero biases.
    fn with_padded<T: Float, R>(
        &self,
        p: &ParamJet<'_, T>,
        f: impl FnOnce(&ParamJet<'_, T>) -> R,
    ) -> R {
        let primal = self.padded(p.primal);
        let dirs: Vec<Vec<T>> = p.dirs.iter().map(|d| self.padded(d)).collect();
        f(&ParamJet {
            primal: &primal,
            dirs: dirs.iter().map(Vec::as_slice).collect(),
        })
    }
}

impl<T: Float> Layer<T> for NoBias {
    fn describe(&self) -> String {
        format!("linear({}→{}, no bias)", self.0.fan_in, self.0.fan_out)
    }
    fn in_width(&self) -> usize {
        self.0.fan_in
    }
    fn out_width(&self) -> usize {
        self.0.fan_out
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![ParamShape {
            name: "weight",
            shape: vec![self.0.fan_in, self.0.fan_out],
        }]
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let mut full = vec![0.0; self.weights() + self.0.fan_out];
        Layer::<T>::init(&self.0, scheme, rng, &mut full);
        out.copy_from_slice(&full[..self.weights()]);
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>) -> Jet<T> {
        self.with_padded(p, |full| self.0.forward(alg, full, x))
    }

    fn backward(
        &self,
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        grads: &mut ParamGrads<'_, T>,
    ) {
        let len = self.weights() + self.0.fan_out;
        let mut full: Vec<Vec<T>> = grads.slots.iter().map(|_| vec![T::zero(); len]).collect();
        {
            let wanted = grads.slots.iter().map(|(m, _)| *m);
            let mut slots = ParamGrads {
                slots: wanted.zip(full.iter_mut().map(Vec::as_mut_slice)).collect(),
            };
            self.with_padded(p, |pp| self.0.backward(alg, pp, x, y, gy, gx, &mut slots));
        }
        for ((_, slot), f) in grads.slots.iter_mut().zip(&full) {
            slot.copy_from_slice(&f[..self.weights()]);
        }
    }
}

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

    /// `p` (weights and directions) with a zero bias after the weights: `(primal, dirs)`.
    fn padded<T: Float>(&self, p: &ParamJet<'_, T>) -> (Vec<T>, Vec<T>) {
        let len = self.weights() + self.0.fan_out;
        let pad = |v: &[T], out: &mut Vec<T>| {
            out.extend_from_slice(v);
            out.resize(out.len() + self.0.fan_out, T::zero());
        };
        let (mut primal, mut dirs) = (Vec::with_capacity(len), Vec::new());
        pad(p.primal(), &mut primal);
        for d in p.dirs() {
            pad(d, &mut dirs);
        }
        (primal, dirs)
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

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (primal, dirs) = self.padded(p);
        self.0.forward(alg, &ParamJet::new(&primal, &dirs), x, y);
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
        let mut full = vec![T::zero(); grads.len() * len];
        let (primal, dirs) = self.padded(p);
        let mut slots = ParamGrads::new(grads.monomials(), &mut full);
        self.0.backward(
            alg,
            &ParamJet::new(&primal, &dirs),
            x,
            y,
            gy,
            gx,
            &mut slots,
        );
        for (s, f) in full.chunks(len).enumerate() {
            grads.slot(s).1.copy_from_slice(&f[..self.weights()]);
        }
    }
}

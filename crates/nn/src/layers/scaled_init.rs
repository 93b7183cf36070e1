//! A layer whose initial parameters are scaled by a constant — e.g. the zero-initialized
//! classification head of the central-flows ViT (`init_scale = 0`). Everything but `init`
//! delegates to the wrapped layer.

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use rand::rngs::Xoshiro256PlusPlus;

/// `inner` with its initialization multiplied by `scale`.
pub struct ScaledInit<T> {
    /// Factor applied to every initial parameter.
    pub scale: f64,
    /// The layer.
    pub inner: Box<dyn Layer<T>>,
}

impl<T: Float> Layer<T> for ScaledInit<T> {
    fn describe(&self) -> String {
        format!("{} (init ×{})", self.inner.describe(), self.scale)
    }
    fn in_width(&self) -> usize {
        self.inner.in_width()
    }
    fn out_width(&self) -> usize {
        self.inner.out_width()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        self.inner.param_shapes()
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        self.inner.init(scheme, rng, out);
        out.iter_mut().for_each(|v| *v *= self.scale);
    }
    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        self.inner.forward(alg, p, x, y);
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
        self.inner.backward(alg, p, x, y, gy, gx, grads);
    }
}

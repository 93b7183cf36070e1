//! Residual connection `y = x + f(x)` around a chain of layers `f` (a [`Sequential`]).
//!
//! Jet rules: the sum is linear, so every coefficient adds: `Y_m = X_m + F_m`; in reverse the
//! cotangent reaches the input through both paths: `Ḡ_X = Ḡ_Y + J_fᵀ Ḡ_Y`, where the second term
//! is the branch's own reverse rule (evaluated in the same algebra).

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::sequential::Sequential;
use rand::rngs::Xoshiro256PlusPlus;

/// `y = x + f(x)`.
pub struct Residual<T> {
    branch: Sequential<T>,
}

impl<T: Float> Residual<T> {
    /// Wraps the branch `layers`; its output width must equal its input width.
    pub fn new(layers: Vec<Box<dyn Layer<T>>>) -> Result<Self, NnError> {
        let branch = Sequential::new("residual", layers, 1)?;
        if branch.in_width() != branch.out_width() {
            return Err(NnError::Shape(format!(
                "a residual branch must keep the width, but {} maps {} to {}",
                branch.describe(),
                branch.in_width(),
                branch.out_width()
            )));
        }
        Ok(Self { branch })
    }
}

/// `dst += src` over all coefficients `src` stores.
fn add_into<T: Float>(dst: &mut Jet<T>, src: JetRef<'_, T>) {
    let n = src.coeffs * src.rows * src.cols;
    dst.data[..n]
        .iter_mut()
        .zip(&src.data[..n])
        .for_each(|(d, s)| *d = *d + *s);
}

impl<T: Float> Layer<T> for Residual<T> {
    fn describe(&self) -> String {
        format!("x + {}", self.branch.describe())
    }
    fn in_width(&self) -> usize {
        self.branch.in_width()
    }
    fn out_width(&self) -> usize {
        self.branch.out_width()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        self.branch.param_shapes()
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        self.branch.init(scheme, rng, out);
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        self.branch.forward(alg, p, x, y);
        add_into(y, x);
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
        match gx {
            Some(gx) => {
                self.branch
                    .backward(alg, p, x, y, gy, Some(&mut *gx), grads);
                add_into(gx, gy.view());
            }
            None => self.branch.backward(alg, p, x, y, gy, None, grads),
        }
    }
}

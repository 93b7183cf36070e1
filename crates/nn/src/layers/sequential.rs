//! A chain of layers used as one layer: the container behind residual blocks and the token
//! space of a ViT.
//!
//! Forward: `y = f_L(… f_1(x))`. Reverse: the children's outputs are recomputed from `x` (the
//! [`Layer`] interface saves only the container's own output), then the children's reverse rules
//! run last to first, each on its own slice of the container's parameters and gradient slots.
//!
//! **Token space.** With `tokens = T > 1` the container takes rows of `T·d_in` features (an
//! example's `T` tokens, token-major) and runs its children on `rows·T` rows of `d_in` features:
//! the same buffer, reinterpreted (row-major layout makes this free). So a `linear`, an
//! activation or a layer norm inside the container acts on every token independently, and
//! token-aware layers (attention, position embeddings) group rows by `T`.

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use rand::rngs::Xoshiro256PlusPlus;
use std::borrow::Cow;
use std::ops::Range;

/// Layers applied in order, as one layer (optionally in token space, see the module docs).
pub struct Sequential<T> {
    name: String,
    layers: Vec<Box<dyn Layer<T>>>,
    /// `offsets[l] .. offsets[l+1]`: child `l`'s range of this layer's parameters.
    offsets: Vec<usize>,
    tokens: usize,
}

impl<T: Float> Sequential<T> {
    /// Chains `layers` (named `name` in summaries), running them on `tokens` rows per input row.
    pub fn new(name: &str, layers: Vec<Box<dyn Layer<T>>>, tokens: usize) -> Result<Self, NnError> {
        if layers.is_empty() || tokens == 0 {
            return Err(NnError::Shape(format!(
                "{name}: needs at least one layer and one token"
            )));
        }
        for w in layers.windows(2) {
            if w[0].out_width() != w[1].in_width() {
                return Err(NnError::Shape(format!(
                    "{name}: {} outputs width {} but {} expects {}",
                    w[0].describe(),
                    w[0].out_width(),
                    w[1].describe(),
                    w[1].in_width()
                )));
            }
        }
        let mut offsets = vec![0];
        for l in &layers {
            let len: usize = l.param_shapes().iter().map(ParamShape::len).sum();
            offsets.push(offsets[offsets.len() - 1] + len);
        }
        Ok(Self {
            name: name.to_string(),
            layers,
            offsets,
            tokens,
        })
    }

    fn range(&self, l: usize) -> Range<usize> {
        self.offsets[l]..self.offsets[l + 1]
    }

    fn child_params<'a>(&self, l: usize, p: &ParamJet<'a, T>) -> ParamJet<'a, T> {
        p.sub(self.range(l))
    }

    /// `x` seen in token space (`rows·T` rows).
    fn to_tokens<'a>(&self, x: JetRef<'a, T>) -> JetRef<'a, T> {
        JetRef {
            rows: x.rows * self.tokens,
            cols: x.cols / self.tokens,
            ..x
        }
    }

    /// Outputs of the first `count` children on token-space input `x`.
    fn forward_first(
        &self,
        alg: &Algebra,
        p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        count: usize,
    ) -> Vec<Jet<T>> {
        let mut outs: Vec<Jet<T>> = Vec::with_capacity(count);
        for (l, layer) in self.layers.iter().enumerate().take(count) {
            let input = if l == 0 { x } else { outs[l - 1].view() };
            let mut y = Jet::default();
            y.reset(alg.len(), x.rows, layer.out_width());
            layer.forward(alg, &self.child_params(l, p), input, &mut y);
            outs.push(y);
        }
        outs
    }
}

/// Reshapes an owned jet in place (same buffer, `rows·cols` unchanged).
fn reshape<T>(j: &mut Jet<T>, rows: usize, cols: usize) {
    debug_assert_eq!(rows * cols, j.rows * j.cols);
    j.rows = rows;
    j.cols = cols;
}

impl<T: Float> Layer<T> for Sequential<T> {
    fn describe(&self) -> String {
        let inner: Vec<String> = self.layers.iter().map(|l| l.describe()).collect();
        let tokens = if self.tokens > 1 {
            format!("×{} tokens", self.tokens)
        } else {
            String::new()
        };
        format!("{}{tokens}[{}]", self.name, inner.join(" → "))
    }
    fn in_width(&self) -> usize {
        self.tokens * self.layers[0].in_width()
    }
    fn out_width(&self) -> usize {
        self.tokens * self.layers[self.layers.len() - 1].out_width()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        self.layers.iter().flat_map(|l| l.param_shapes()).collect()
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        for (l, layer) in self.layers.iter().enumerate() {
            layer.init(scheme, rng, &mut out[self.range(l)]);
        }
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let xt = self.to_tokens(x);
        let last = self.layers.len() - 1;
        let outs = self.forward_first(alg, p, xt, last);
        let input = if last == 0 { xt } else { outs[last - 1].view() };
        reshape(y, xt.rows, self.layers[last].out_width());
        self.layers[last].forward(alg, &self.child_params(last, p), input, y);
        reshape(y, x.rows, self.out_width());
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
        let xt = self.to_tokens(x);
        let mut outs = self.forward_first(alg, p, xt, self.layers.len());
        let mut g: Cow<'_, Jet<T>> = if self.tokens == 1 {
            Cow::Borrowed(gy)
        } else {
            let mut owned = gy.clone();
            reshape(
                &mut owned,
                xt.rows,
                self.layers[self.layers.len() - 1].out_width(),
            );
            Cow::Owned(owned)
        };
        let mut gx = gx;
        for l in (0..self.layers.len()).rev() {
            let layer = &self.layers[l];
            let y = outs.pop().expect("one output per child");
            let input = if l == 0 { xt } else { outs[l - 1].view() };
            let r = self.range(l);
            let mut slots = grads.sub(r);
            let pl = self.child_params(l, p);
            if l == 0 {
                if let Some(gx) = gx.as_deref_mut() {
                    reshape(gx, xt.rows, xt.cols);
                    layer.backward(alg, &pl, input, &y, &g, Some(&mut *gx), &mut slots);
                    reshape(gx, x.rows, x.cols);
                } else {
                    layer.backward(alg, &pl, input, &y, &g, None, &mut slots);
                }
            } else {
                let mut gin = Jet::default();
                gin.reset(alg.len(), xt.rows, layer.in_width());
                layer.backward(alg, &pl, input, &y, &g, Some(&mut gin), &mut slots);
                g = Cow::Owned(gin);
            }
        }
    }
}

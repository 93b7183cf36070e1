//! Pooling: 2-D average and max pooling over NCHW images, and the mean over the tokens of a
//! sequence.
//!
//! All three are linear in their input on a fixed pattern, so their jet rules apply the same
//! map to every coefficient (forward) and its adjoint to every cotangent coefficient (reverse):
//! - average pooling `y = (1/s²) Σ_window x`, adjoint: spread `ḡ/s²` over the window;
//! - max pooling `y = x[argmax_window x₀]`: the window's argmax is taken on the *value*
//!   coefficient and reused for every ε coefficient, the adjoint scatters `ḡ` to it. This is
//!   the exact Taylor expansion wherever the maximum is unique (the max is locally a fixed
//!   selection there); at ties the loss is not differentiable and the first maximal element is
//!   used, as in PyTorch;
//! - token mean `y = (1/T) Σ_t x_t` (per feature), adjoint `ḡ_x_t = ḡ_y / T`.
//!
//! Windows are `s × s` with stride `s` (`torch.nn.AvgPool2d(s)` / `MaxPool2d(s)`); trailing
//! rows/columns that do not fill a window are dropped, as in PyTorch.

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use rand::rngs::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// Average or max.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    /// Mean over the window.
    Avg,
    /// Maximum over the window.
    Max,
}

impl PoolKind {
    /// `avg` or `max`.
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Avg => "avg",
            PoolKind::Max => "max",
        }
    }
}

/// `s × s` pooling with stride `s` over `channels × height × width` images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2d {
    /// Average or max.
    pub kind: PoolKind,
    /// Channels.
    pub channels: usize,
    /// Input height.
    pub height: usize,
    /// Input width.
    pub width: usize,
    /// Window size and stride `s`.
    pub size: usize,
}

impl Pool2d {
    /// Returns the layer if the window fits in the image.
    pub fn checked(self) -> Result<Self, NnError> {
        if self.size == 0 || self.size > self.height || self.size > self.width || self.channels == 0
        {
            return Err(NnError::Shape(format!(
                "{}pool: window {} does not fit a {}×{} image",
                self.kind.name(),
                self.size,
                self.height,
                self.width
            )));
        }
        Ok(self)
    }

    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        (self.height / self.size, self.width / self.size)
    }

    /// Input indices of output element `o`'s window.
    fn window(&self, o: usize) -> impl Iterator<Item = usize> + '_ {
        let (oh, ow) = self.out_hw();
        let (ch, rest) = (o / (oh * ow), o % (oh * ow));
        let (oy, ox) = (rest / ow, rest % ow);
        let s = self.size;
        (0..s * s).map(move |t| (ch * self.height + oy * s + t / s) * self.width + ox * s + t % s)
    }

    /// For each example and output element, the input index that is maximal in the value
    /// coefficient (first one at ties).
    fn argmax<T: Float>(&self, x0: &[T], rows: usize) -> Vec<usize> {
        let (iw, ow) = (self.in_w(), self.out_w());
        let mut idx = vec![0; rows * ow];
        idx.par_chunks_mut(ow.max(1))
            .enumerate()
            .for_each(|(e, out)| {
                let row = &x0[e * iw..(e + 1) * iw];
                for (o, slot) in out.iter_mut().enumerate() {
                    *slot = self
                        .window(o)
                        .fold(None, |best: Option<usize>, i| match best {
                            Some(b) if row[b] >= row[i] => Some(b),
                            _ => Some(i),
                        })
                        .expect("windows are non-empty");
                }
            });
        idx
    }

    fn in_w(&self) -> usize {
        self.channels * self.height * self.width
    }

    fn out_w(&self) -> usize {
        let (oh, ow) = self.out_hw();
        self.channels * oh * ow
    }
}

impl<T: Float> Layer<T> for Pool2d {
    fn describe(&self) -> String {
        let (oh, ow) = self.out_hw();
        format!(
            "{}pool{}({}×{}×{}→{oh}×{ow})",
            self.kind.name(),
            self.size,
            self.channels,
            self.height,
            self.width
        )
    }
    fn in_width(&self) -> usize {
        self.in_w()
    }
    fn out_width(&self) -> usize {
        self.out_w()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        Vec::new()
    }
    fn init(&self, _scheme: Init, _rng: &mut Xoshiro256PlusPlus, _out: &mut [f64]) {}

    fn forward(&self, _alg: &Algebra, _p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (iw, ow, rows) = (self.in_w(), self.out_w(), x.rows);
        let stored = x.coeffs * rows * ow;
        y.data[stored..].fill(T::zero());
        let ys = y.data[..stored]
            .par_chunks_mut(ow)
            .zip(x.data.par_chunks(iw));
        match self.kind {
            PoolKind::Avg => {
                let inv = c::<T>(1.0 / (self.size * self.size) as f64);
                ys.for_each(|(yr, xr)| {
                    for (o, v) in yr.iter_mut().enumerate() {
                        *v = self.window(o).map(|i| xr[i]).sum::<T>() * inv;
                    }
                });
            }
            PoolKind::Max => {
                let idx = self.argmax(&x.data[..rows * iw], rows);
                ys.enumerate().for_each(|(r, (yr, xr))| {
                    let ix = &idx[(r % rows) * ow..(r % rows + 1) * ow];
                    yr.iter_mut().zip(ix).for_each(|(v, &i)| *v = xr[i]);
                });
            }
        }
    }

    fn backward(
        &self,
        _alg: &Algebra,
        _p: &ParamJet<'_, T>,
        x: JetRef<'_, T>,
        _y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        _grads: &mut ParamGrads<'_, T>,
    ) {
        let Some(gx) = gx else { return };
        let (iw, ow, rows) = (self.in_w(), self.out_w(), x.rows);
        let gs = gx.data.par_chunks_mut(iw).zip(gy.data.par_chunks(ow));
        match self.kind {
            PoolKind::Avg => {
                let inv = c::<T>(1.0 / (self.size * self.size) as f64);
                gs.for_each(|(gr, gyr)| {
                    gr.fill(T::zero());
                    for (o, &g) in gyr.iter().enumerate() {
                        self.window(o).for_each(|i| gr[i] = g * inv);
                    }
                });
            }
            PoolKind::Max => {
                let idx = self.argmax(&x.data[..rows * iw], rows);
                gs.enumerate().for_each(|(r, (gr, gyr))| {
                    gr.fill(T::zero());
                    let ix = &idx[(r % rows) * ow..(r % rows + 1) * ow];
                    gyr.iter().zip(ix).for_each(|(&g, &i)| gr[i] = g);
                });
            }
        }
    }
}

/// Mean over the `tokens` tokens of each example: `T·d → d`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeanTokens {
    /// Tokens per example `T`.
    pub tokens: usize,
    /// Features per token `d`.
    pub dim: usize,
}

impl<T: Float> Layer<T> for MeanTokens {
    fn describe(&self) -> String {
        format!("mean over {} tokens({})", self.tokens, self.dim)
    }
    fn in_width(&self) -> usize {
        self.tokens * self.dim
    }
    fn out_width(&self) -> usize {
        self.dim
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        Vec::new()
    }
    fn init(&self, _scheme: Init, _rng: &mut Xoshiro256PlusPlus, _out: &mut [f64]) {}

    fn forward(&self, _alg: &Algebra, _p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (d, t) = (self.dim, self.tokens);
        let inv = c::<T>(1.0 / t as f64);
        y.data.fill(T::zero());
        let stored = x.coeffs * x.rows * d;
        y.data[..stored]
            .par_chunks_mut(d)
            .zip(x.data.par_chunks(t * d))
            .for_each(|(yr, xr)| {
                for tok in xr.chunks(d) {
                    yr.iter_mut().zip(tok).for_each(|(a, b)| *a = *a + *b);
                }
                yr.iter_mut().for_each(|a| *a = *a * inv);
            });
    }

    fn backward(
        &self,
        _alg: &Algebra,
        _p: &ParamJet<'_, T>,
        _x: JetRef<'_, T>,
        _y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        _grads: &mut ParamGrads<'_, T>,
    ) {
        let Some(gx) = gx else { return };
        let (d, t) = (self.dim, self.tokens);
        let inv = c::<T>(1.0 / t as f64);
        gx.data
            .par_chunks_mut(t * d)
            .zip(gy.data.par_chunks(d))
            .for_each(|(gr, g)| {
                for tok in gr.chunks_mut(d) {
                    tok.iter_mut().zip(g).for_each(|(a, b)| *a = *b * inv);
                }
            });
    }
}

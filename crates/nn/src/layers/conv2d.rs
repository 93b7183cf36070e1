//! 2-D convolution (cross-correlation, as `torch.nn.Conv2d`) on NCHW images by im2col + GEMM.
//!
//! An example's row holds its `C × H × W` image channel-major (NCHW flattened); the output row
//! holds `O × OH × OW` with `OH = ⌊(H + 2·pad − k)/stride⌋ + 1` (same for `OW`). For each example,
//! `col = im2col(x)` is the `K × P` matrix (`K = C·k·k` indexed `(c, ky, kx)`, `P = OH·OW`) of
//! the input patches, and the output is `Y = Wᵀ·col (+ b)`. Parameters in flat order: `weight W`
//! as `K × O` row-major (fan_in × fan_out, like `linear`; from a torch weight `w[o, c, ky, kx]`
//! this is `w.permute(1, 2, 3, 0).reshape(K, O)`), then, if present, `bias b` (`O`).
//!
//! Jet rules (`W + Σ εᵢUᵢ`; im2col is linear, so it maps every coefficient separately):
//! - forward: `Y_m = Σ_{a·b = m} W_aᵀ col(X_b)` (`W_0 = W`, `W_{εᵢ} = Uᵢ`), bias on `1` and `εᵢ`;
//! - reverse: `Ḡ_W,m = Σ_examples Σ_{a·b = m} col(X_a) Ḡ_bᵀ`, `Ḡ_b,m = Σ_{examples, pixels} Ḡ_m`,
//!   `Ḡ_X,m = col2im(Σ_{a·b = m} W_a Ḡ_b)` (col2im is the adjoint of im2col).
//!
//! Examples are grouped in chunks of about 2048 output pixels whose patch matrices sit side by
//! side, so each GEMM is `O × K × (B·P)`; chunks run in parallel.

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::jmat::{backward_blocks, map_blocks, JMat};
use rand::rngs::Xoshiro256PlusPlus;
use rand::RngExt;
use rand_distr::StandardNormal;

/// Output pixels per GEMM chunk (examples are grouped until a chunk has about this many).
const CHUNK_PIXELS: usize = 2048;

/// Geometry of a 2-D convolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2d {
    /// Input channels `C`.
    pub in_channels: usize,
    /// Input height `H`.
    pub height: usize,
    /// Input width `W`.
    pub width: usize,
    /// Output channels `O`.
    pub out_channels: usize,
    /// Square kernel size `k`.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding on every side.
    pub padding: usize,
    /// Whether a bias is added.
    pub bias: bool,
}

impl Conv2d {
    /// Returns the layer if its geometry is valid (positive sizes, kernel fits in the padded
    /// input).
    pub fn checked(self) -> Result<Self, NnError> {
        let sizes = [
            self.in_channels,
            self.height,
            self.width,
            self.out_channels,
            self.kernel,
            self.stride,
        ];
        if sizes.contains(&0) {
            return Err(NnError::Shape(format!(
                "conv2d: all sizes must be positive, got {self:?}"
            )));
        }
        if self.kernel > self.height + 2 * self.padding
            || self.kernel > self.width + 2 * self.padding
        {
            return Err(NnError::Shape(format!(
                "conv2d: kernel {} does not fit a {}×{} input with padding {}",
                self.kernel, self.height, self.width, self.padding
            )));
        }
        Ok(self)
    }

    /// Output height and width.
    pub fn out_hw(&self) -> (usize, usize) {
        let f = |n: usize| (n + 2 * self.padding - self.kernel) / self.stride + 1;
        (f(self.height), f(self.width))
    }

    /// Patch length `K = C·k·k`.
    fn patch(&self) -> usize {
        self.in_channels * self.kernel * self.kernel
    }

    fn out_len(&self) -> usize {
        self.out_channels * self.pixels()
    }

    fn pixels(&self) -> usize {
        let (oh, ow) = self.out_hw();
        oh * ow
    }

    /// Calls `f(patch_row, pixel, input_index)` for every in-bounds tap.
    fn for_each_tap(&self, mut f: impl FnMut(usize, usize, usize)) {
        let (oh, ow) = self.out_hw();
        let (k, s, pad) = (self.kernel, self.stride, self.padding);
        for ch in 0..self.in_channels {
            for ky in 0..k {
                for kx in 0..k {
                    let row = (ch * k + ky) * k + kx;
                    for oy in 0..oh {
                        let Some(iy) = (oy * s + ky).checked_sub(pad).filter(|&v| v < self.height)
                        else {
                            continue;
                        };
                        for ox in 0..ow {
                            let Some(ix) =
                                (ox * s + kx).checked_sub(pad).filter(|&v| v < self.width)
                            else {
                                continue;
                            };
                            f(row, oy * ow + ox, (ch * self.height + iy) * self.width + ix);
                        }
                    }
                }
            }
        }
    }

    /// Examples per GEMM: enough that a chunk has about [`CHUNK_PIXELS`] output pixels.
    fn chunk(&self) -> usize {
        (CHUNK_PIXELS / self.pixels()).max(1)
    }

    /// `im2col` of every coefficient of a chunk of `B` examples (`B × CHW` → `K × B·P`: the
    /// examples' patch matrices side by side, so one GEMM covers the chunk).
    fn im2col<T: Float>(&self, x: &JMat<T>) -> JMat<T> {
        let (p, chw, b) = (self.pixels(), self.in_w(), x.rows);
        let mut out = JMat::zero(x.c.len(), self.patch(), b * p);
        for (o, xm) in out.c.iter_mut().zip(&x.c) {
            *o = xm.as_deref().map(|xm| {
                let mut col = vec![T::zero(); self.patch() * b * p];
                for e in 0..b {
                    self.for_each_tap(|r, px, i| col[r * b * p + e * p + px] = xm[e * chw + i]);
                }
                col
            });
        }
        out
    }

    /// The adjoint of [`Self::im2col`] (`K × B·P` → `B × CHW`, overlapping taps add).
    fn col2im<T: Float>(&self, col: &JMat<T>, b: usize) -> JMat<T> {
        let (p, chw) = (self.pixels(), self.in_w());
        let mut out = JMat::zero(col.c.len(), b, chw);
        for (o, cm) in out.c.iter_mut().zip(&col.c) {
            *o = cm.as_deref().map(|cm| {
                let mut img = vec![T::zero(); b * chw];
                for e in 0..b {
                    self.for_each_tap(|r, px, i| {
                        img[e * chw + i] = img[e * chw + i] + cm[r * b * p + e * p + px]
                    });
                }
                img
            });
        }
        out
    }

    /// `O × B·P` (pixels of the chunk side by side) ↔ `B × O·P` (NCHW rows); `to_rows` picks
    /// the direction.
    fn regroup<T: Float>(&self, m: &JMat<T>, b: usize, to_rows: bool) -> JMat<T> {
        let (o, p) = (self.out_channels, self.pixels());
        let mut out = if to_rows {
            JMat::zero(m.c.len(), b, o * p)
        } else {
            JMat::zero(m.c.len(), o, b * p)
        };
        for (dst, src) in out.c.iter_mut().zip(&m.c) {
            *dst = src.as_deref().map(|src| {
                let mut v = vec![T::zero(); src.len()];
                for e in 0..b {
                    for ch in 0..o {
                        let (rows_at, cols_at) = ((e * o + ch) * p, ch * b * p + e * p);
                        let (from, to) = if to_rows {
                            (cols_at, rows_at)
                        } else {
                            (rows_at, cols_at)
                        };
                        v[to..to + p].copy_from_slice(&src[from..from + p]);
                    }
                }
                v
            });
        }
        out
    }

    fn in_w(&self) -> usize {
        self.in_channels * self.height * self.width
    }
}

impl<T: Float> Layer<T> for Conv2d {
    fn describe(&self) -> String {
        let (oh, ow) = self.out_hw();
        format!(
            "conv{k}x{k}({}×{}×{}→{}×{oh}×{ow}, stride {}, pad {}{})",
            self.in_channels,
            self.height,
            self.width,
            self.out_channels,
            self.stride,
            self.padding,
            if self.bias { "" } else { ", no bias" },
            k = self.kernel
        )
    }
    fn in_width(&self) -> usize {
        self.in_channels * self.height * self.width
    }
    fn out_width(&self) -> usize {
        self.out_len()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        let mut v = vec![ParamShape {
            name: "weight",
            shape: vec![self.patch(), self.out_channels],
        }];
        if self.bias {
            v.push(ParamShape {
                name: "bias",
                shape: vec![self.out_channels],
            });
        }
        v
    }
    /// `fan_in = C·k·k`, `fan_out = O·k·k` (torch's convention).
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let std = scheme.std(self.patch(), self.out_channels * self.kernel * self.kernel);
        let (w, b) = out.split_at_mut(self.patch() * self.out_channels);
        for v in w {
            *v = std * rng.sample::<f64, _>(StandardNormal);
        }
        b.fill(0.0);
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (k, o) = (self.patch(), self.out_channels);
        let w = JMat::param(alg, p, 0..k * o, k, o);
        let b = self
            .bias
            .then(|| JMat::param(alg, p, k * o..k * o + o, o, 1));
        map_blocks(y, self.chunk(), |rows| {
            let n = rows.len();
            let col = self.im2col(&JMat::rows_of(alg, x, rows, (n, self.in_w())));
            let mut out = JMat::matmul(alg, &w, true, &col, false);
            if let Some(b) = &b {
                out.add_scaled(T::one(), b);
            }
            self.regroup(&out, n, true)
        });
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
        let (k, o, px) = (self.patch(), self.out_channels, self.pixels());
        let w = JMat::param(alg, p, 0..k * o, k, o);
        let want = grads.monomials();
        let plen = k * o + if self.bias { o } else { 0 };
        let need_gx = gx.is_some();
        let acc = backward_blocks(
            x.rows,
            self.chunk(),
            gx,
            &vec![plen; want.len()],
            |rows, acc| {
                let n = rows.len();
                let g = self.regroup(
                    &JMat::rows_of(alg, gy.view(), rows.clone(), (n, o * px)),
                    n,
                    false,
                );
                if !want.is_empty() {
                    let col = self.im2col(&JMat::rows_of(alg, x, rows, (n, self.in_w())));
                    for (a, &m) in acc.iter_mut().zip(want) {
                        let (aw, ab) = a.split_at_mut(k * o);
                        JMat::matmul_coeff_into(alg, &col, false, &g, true, m, aw);
                        if let (true, Some(gm)) = (self.bias, g.c[m].as_deref()) {
                            for (bv, row) in ab.iter_mut().zip(gm.chunks(n * px)) {
                                *bv = *bv + row.iter().copied().sum::<T>();
                            }
                        }
                    }
                }
                need_gx.then(|| self.col2im(&JMat::matmul(alg, &w, false, &g, false), n))
            },
        );
        for (s, a) in acc.iter().enumerate() {
            grads.slot(s).1.copy_from_slice(a);
        }
    }
}

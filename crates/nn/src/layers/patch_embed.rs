//! Patch embedding for a ViT: cutting images into patch tokens, and position embeddings.
//!
//! [`Patchify`] is the rearrangement `b c (h p1) (w p2) → b (h w) (p1 p2 c)` of SimpleViT
//! (vit-pytorch): an example's `C × H × W` image (NCHW row) becomes `T = (H/p)(W/p)` tokens of
//! `p·p·C` features, token-major. It is a fixed permutation, so its jet rules permute every
//! coefficient (forward) and scatter back (reverse). The linear projection of patches that
//! follows is an ordinary `linear` layer in token space (see `Sequential`).
//!
//! [`PosEmbed`] adds a position embedding `E` (`T × d`) to each example's tokens, in token space
//! (rows are tokens, row `r` is token `r mod T`):
//! - fixed 2-D sin-cos (`posemb_sincos_2d` of SimpleViT): for token `(y, x)` of the `h × w`
//!   patch grid and `ω_k = 10000^{−k/(d/4 − 1)}`, `k < d/4`:
//!   `E = [sin(xω), cos(xω), sin(yω), cos(yω)]`; a constant, so only the value coefficient
//!   changes and the reverse rule is the identity;
//! - learned: parameters `E` (`T × d`, initialized to `N(0, 0.02²)`): `Y_1 = X_1 + E`,
//!   `Y_{εᵢ} = X_{εᵢ} + Uᵢ`; reverse `Ḡ_E,m = Σ_examples Ḡ_m`, identity on the input.

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use rand::rngs::Xoshiro256PlusPlus;
use rand::RngExt;
use rand_distr::StandardNormal;
use rayon::prelude::*;

/// Image → patch tokens (`C×H×W → T × p·p·C`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patchify {
    channels: usize,
    height: usize,
    width: usize,
    patch: usize,
    /// `perm[j]` is the input index of output feature `j`.
    perm: Vec<usize>,
}

impl Patchify {
    /// Cuts `channels × height × width` images into `patch × patch` patches (`patch` must
    /// divide both sides, as in SimpleViT).
    pub fn new(
        channels: usize,
        height: usize,
        width: usize,
        patch: usize,
    ) -> Result<Self, NnError> {
        if patch == 0
            || channels == 0
            || height % patch != 0
            || width % patch != 0
            || height == 0
            || width == 0
        {
            return Err(NnError::Shape(format!(
                "patch size {patch} must divide the image sides {height}×{width} (and all sizes be positive)"
            )));
        }
        let (gw, p) = (width / patch, patch);
        let mut perm = Vec::with_capacity(channels * height * width);
        for t in 0..(height / p) * gw {
            let (hy, hx) = (t / gw, t % gw);
            for p1 in 0..p {
                for p2 in 0..p {
                    for ch in 0..channels {
                        perm.push((ch * height + hy * p + p1) * width + hx * p + p2);
                    }
                }
            }
        }
        Ok(Self {
            channels,
            height,
            width,
            patch,
            perm,
        })
    }

    /// Number of tokens `T`.
    pub fn tokens(&self) -> usize {
        (self.height / self.patch) * (self.width / self.patch)
    }

    /// Features per token `p·p·C`.
    pub fn patch_dim(&self) -> usize {
        self.patch * self.patch * self.channels
    }
}

impl<T: Float> Layer<T> for Patchify {
    fn describe(&self) -> String {
        format!(
            "patches{}({}×{}×{}→{}×{})",
            self.patch,
            self.channels,
            self.height,
            self.width,
            self.tokens(),
            self.patch_dim()
        )
    }
    fn in_width(&self) -> usize {
        self.perm.len()
    }
    fn out_width(&self) -> usize {
        self.perm.len()
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        Vec::new()
    }
    fn init(&self, _scheme: Init, _rng: &mut Xoshiro256PlusPlus, _out: &mut [f64]) {}

    fn forward(&self, _alg: &Algebra, _p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let w = self.perm.len();
        let stored = x.coeffs * x.rows * w;
        y.data[stored..].fill(T::zero());
        y.data[..stored]
            .par_chunks_mut(w)
            .zip(x.data.par_chunks(w))
            .for_each(|(yr, xr)| {
                yr.iter_mut().zip(&self.perm).for_each(|(v, &i)| *v = xr[i]);
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
        let w = self.perm.len();
        gx.data
            .par_chunks_mut(w)
            .zip(gy.data.par_chunks(w))
            .for_each(|(gr, g)| {
                g.iter().zip(&self.perm).for_each(|(v, &i)| gr[i] = *v);
            });
    }
}

/// Fixed or learned position embedding (token space).
#[derive(Debug, Clone, PartialEq)]
pub enum PosEmbed {
    /// Fixed 2-D sin-cos table `T × d` (row-major).
    SinCos {
        /// The table.
        table: Vec<f64>,
        /// Tokens `T`.
        tokens: usize,
        /// Features `d`.
        dim: usize,
    },
    /// Learned `T × d` parameters.
    Learned {
        /// Tokens `T`.
        tokens: usize,
        /// Features `d`.
        dim: usize,
    },
}

/// Standard deviation of the learned embedding's initialization.
const LEARNED_INIT_STD: f64 = 0.02;

impl PosEmbed {
    /// SimpleViT's `posemb_sincos_2d(h, w, dim)` (temperature 10000); `dim` must be a multiple
    /// of 4 and at least 8.
    pub fn sincos(grid_h: usize, grid_w: usize, dim: usize) -> Result<Self, NnError> {
        if dim % 4 != 0 || dim < 8 {
            return Err(NnError::Shape(format!("sin-cos position embedding needs a dimension that is a multiple of 4 and ≥ 8, got {dim}")));
        }
        let q = dim / 4;
        let omega: Vec<f64> = (0..q)
            .map(|k| 1.0 / 10000f64.powf(k as f64 / (q - 1) as f64))
            .collect();
        let mut table = Vec::with_capacity(grid_h * grid_w * dim);
        for t in 0..grid_h * grid_w {
            let (y, x) = ((t / grid_w) as f64, (t % grid_w) as f64);
            table.extend(omega.iter().map(|w| (x * w).sin()));
            table.extend(omega.iter().map(|w| (x * w).cos()));
            table.extend(omega.iter().map(|w| (y * w).sin()));
            table.extend(omega.iter().map(|w| (y * w).cos()));
        }
        Ok(PosEmbed::SinCos {
            table,
            tokens: grid_h * grid_w,
            dim,
        })
    }

    fn shape(&self) -> (usize, usize) {
        match self {
            PosEmbed::SinCos { tokens, dim, .. } | PosEmbed::Learned { tokens, dim } => {
                (*tokens, *dim)
            }
        }
    }
}

/// `y[r] += e[r mod T]` for every row of one coefficient.
fn add_table<T: Float>(y: &mut [T], e: &[T], td: usize) {
    y.par_chunks_mut(td)
        .for_each(|ex| ex.iter_mut().zip(e).for_each(|(a, b)| *a = *a + *b));
}

impl<T: Float> Layer<T> for PosEmbed {
    fn describe(&self) -> String {
        let (t, d) = self.shape();
        let kind = if matches!(self, PosEmbed::SinCos { .. }) {
            "sincos"
        } else {
            "learned"
        };
        format!("+{kind} position({t}×{d})")
    }
    fn in_width(&self) -> usize {
        self.shape().1
    }
    fn out_width(&self) -> usize {
        self.shape().1
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        match self {
            PosEmbed::SinCos { .. } => Vec::new(),
            PosEmbed::Learned { tokens, dim } => vec![ParamShape {
                name: "pos",
                shape: vec![*tokens, *dim],
            }],
        }
    }
    fn init(&self, _scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        for v in out {
            *v = LEARNED_INIT_STD * rng.sample::<f64, _>(StandardNormal);
        }
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (t, d) = self.shape();
        y.data[..x.data.len()].copy_from_slice(x.data);
        y.data[x.data.len()..].fill(T::zero());
        match self {
            PosEmbed::SinCos { table, .. } => {
                let e: Vec<T> = table.iter().map(|&v| c::<T>(v)).collect();
                add_table(y.coeff_mut(0), &e, t * d);
            }
            PosEmbed::Learned { .. } => {
                add_table(y.coeff_mut(0), p.primal(), t * d);
                for (i, u) in p.dirs().enumerate() {
                    add_table(y.coeff_mut(alg.dir(i)), u, t * d);
                }
            }
        }
    }

    fn backward(
        &self,
        _alg: &Algebra,
        _p: &ParamJet<'_, T>,
        _x: JetRef<'_, T>,
        _y: &Jet<T>,
        gy: &Jet<T>,
        gx: Option<&mut Jet<T>>,
        grads: &mut ParamGrads<'_, T>,
    ) {
        let (t, d) = self.shape();
        for s in 0..grads.len() {
            let (m, slot) = grads.slot(s);
            slot.fill(T::zero());
            for ex in gy.coeff(m).chunks(t * d) {
                slot.iter_mut().zip(ex).for_each(|(a, b)| *a = *a + *b);
            }
        }
        if let Some(gx) = gx {
            gx.data.copy_from_slice(&gy.data);
        }
    }
}

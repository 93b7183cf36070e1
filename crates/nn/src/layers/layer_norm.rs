//! Layer normalization over the features of each row, with affine weight and bias
//! (`torch.nn.LayerNorm(d, eps)`):
//!
//! `μ = mean(x)`, `x̄ = x − μ`, `v = mean(x̄²)`, `r = (v + eps)^{−1/2}`, `x̂ = x̄·r`,
//! `y = γ ∘ x̂ + β`. Parameters in flat order: `weight γ` (`d`, initialized to 1), then
//! `bias β` (`d`, 0).
//!
//! Jet rules (docs/engine.md §"Layer norm"; theory.md §7: normalization layers are where a
//! popular framework's third derivatives go wrong, so these rules are checked against finite
//! differences of HVPs):
//! - forward: the same formulas in the algebra — means are linear, `x̄²` and `x̄·r` are jet
//!   products, and `r = φ(v)` with `φ(v) = (v + eps)^{−1/2}` is composed through its Taylor
//!   series (`φ′ = −½(v+eps)^{−3/2}`, `φ″ = ¾(v+eps)^{−5/2}`), which is exact to second order in
//!   ε, i.e. to third order in the loss;
//! - reverse: `ḡ_x̂ = ḡ_y ∘ γ`, `ḡ_x = r ∘ (ḡ_x̂ − mean(ḡ_x̂) − x̂ ∘ mean(ḡ_x̂ ∘ x̂))`,
//!   `ḡ_γ = Σ_rows ḡ_y ∘ x̂`, `ḡ_β = Σ_rows ḡ_y` — the closed-form derivative of the forward map,
//!   an algebraic identity, hence exact when every product is a jet product.

use crate::algebra::Algebra;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::jmat::{backward_blocks, map_blocks, JMat};
use rand::rngs::Xoshiro256PlusPlus;
use std::ops::Range;

/// Default `eps` of `torch.nn.LayerNorm`.
pub const DEFAULT_EPS: f64 = 1e-5;

/// Elements per parallel block of rows.
const BLOCK_ELEMS: usize = 4096;

/// Layer norm over `width` features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LayerNorm {
    /// Features per row.
    pub width: usize,
    /// Added to the variance before the square root.
    pub eps: f64,
}

/// Forward intermediates of one block of rows.
struct Normalized<T> {
    /// `x̂`.
    xhat: JMat<T>,
    /// `r = (v + eps)^{−1/2}` per row (`rows × 1`).
    r: JMat<T>,
}

impl LayerNorm {
    fn block_rows(&self) -> usize {
        (BLOCK_ELEMS / self.width.max(1)).max(1)
    }

    fn normalize<T: Float>(
        &self,
        alg: &Algebra,
        x: JetRef<'_, T>,
        rows: Range<usize>,
    ) -> Normalized<T> {
        let d = self.width;
        let inv_d = c::<T>(1.0 / d as f64);
        let mut xc = JMat::rows_of(alg, x, rows.clone(), (rows.len(), d));
        let mean = xc.row_sums();
        xc.add_scaled(-inv_d, &mean);
        let mut v = JMat::mul(alg, &xc, &xc).row_sums();
        v.scale(inv_d);
        let eps = c::<T>(self.eps);
        let r = JMat::map(alg, &v, |v| {
            let s = T::one() / (v + eps).sqrt();
            let s3 = s * s * s;
            [s, c::<T>(-0.5) * s3, c::<T>(0.75) * s3 * s * s]
        });
        Normalized {
            xhat: JMat::mul(alg, &xc, &r),
            r,
        }
    }
}

impl<T: Float> Layer<T> for LayerNorm {
    fn describe(&self) -> String {
        format!("layernorm({})", self.width)
    }
    fn in_width(&self) -> usize {
        self.width
    }
    fn out_width(&self) -> usize {
        self.width
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            ParamShape {
                name: "weight",
                shape: vec![self.width],
            },
            ParamShape {
                name: "bias",
                shape: vec![self.width],
            },
        ]
    }
    fn init(&self, _scheme: Init, _rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let (w, b) = out.split_at_mut(self.width);
        w.fill(1.0);
        b.fill(0.0);
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let d = self.width;
        let gamma = JMat::param(alg, p, 0..d, 1, d);
        let beta = JMat::param(alg, p, d..2 * d, 1, d);
        map_blocks(y, self.block_rows(), |rows| {
            let n = self.normalize(alg, x, rows);
            let mut out = JMat::mul(alg, &n.xhat, &gamma);
            out.add_scaled(T::one(), &beta);
            out
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
        let d = self.width;
        let inv_d = c::<T>(1.0 / d as f64);
        let gamma = JMat::param(alg, p, 0..d, 1, d);
        let want = grads.monomials();
        let need_gx = gx.is_some();
        let acc = backward_blocks(
            x.rows,
            self.block_rows(),
            gx,
            &vec![2 * d; want.len()],
            |rows, acc| {
                let n = self.normalize(alg, x, rows.clone());
                let g = JMat::rows_of(alg, gy.view(), rows.clone(), (rows.len(), d));
                let gg = JMat::mul(alg, &g, &n.xhat).col_sums();
                let gb = g.col_sums();
                for (a, &m) in acc.iter_mut().zip(want) {
                    let (ag, ab) = a.split_at_mut(d);
                    for (dst, src) in [(ag, &gg.c[m]), (ab, &gb.c[m])] {
                        if let Some(src) = src {
                            dst.iter_mut().zip(src).for_each(|(p, q)| *p = *p + *q);
                        }
                    }
                }
                if !need_gx {
                    return None;
                }
                let gxhat = JMat::mul(alg, &g, &gamma);
                let mut inner = gxhat.clone();
                inner.add_scaled(-inv_d, &gxhat.row_sums());
                inner.add_scaled(
                    -inv_d,
                    &JMat::mul(alg, &n.xhat, &JMat::mul(alg, &gxhat, &n.xhat).row_sums()),
                );
                Some(JMat::mul(alg, &inner, &n.r))
            },
        );
        for (s, a) in acc.iter().enumerate() {
            grads.slot(s).1.copy_from_slice(a);
        }
    }
}

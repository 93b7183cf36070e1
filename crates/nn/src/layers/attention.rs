//! Multi-head self-attention (SimpleViT's `Attention` without its pre-norm, which is a separate
//! `layernorm` layer in the residual branch), in token space: each example is `T` rows of `d`
//! features.
//!
//! With `I = heads·dim_head`, parameters in flat order are `qkv` (`d × 3I`, no bias) and `out`
//! (`I × d`, no bias). For one example `X` (`T × d`):
//! `[Q K V] = X·W_qkv`; per head `h` (columns `h·dim_head ..` of each of `Q, K, V`):
//! `S_h = Q_h K_hᵀ / √dim_head`, `A_h = softmax_rows(S_h)`, `O_h = A_h V_h`;
//! `Y = [O_1 … O_H]·W_out`.
//!
//! Jet rules: every matrix product is a product of two jets (`C_m = Σ_{a·b=m} A_a B_b`, one
//! GEMM per non-zero term); the softmax is `e = exp(S − max S₀)` composed through its Taylor
//! series, `A = e ∘ (Σ_row e)⁻¹` (the reciprocal composed likewise) — the constant shift by the
//! value's row maximum leaves the softmax unchanged. Reverse rules are the usual ones evaluated
//! in the algebra: `Ḡ_O = Ḡ_Y W_outᵀ`, `Ḡ_A = Ḡ_O V_hᵀ`, `Ḡ_V = A_hᵀ Ḡ_O`,
//! `Ḡ_S = A ∘ (Ḡ_A − Σ_row(Ḡ_A ∘ A))/√dim_head`, `Ḡ_Q = Ḡ_S K_h`, `Ḡ_K = Ḡ_Sᵀ Q_h`,
//! `Ḡ_X = Ḡ_QKV W_qkvᵀ`, `Ḡ_W_qkv = Σ_examples XᵀḠ_QKV`, `Ḡ_W_out = Σ_examples OᵀḠ_Y`
//! (only the requested coefficients). The forward intermediates are recomputed in the reverse
//! pass; examples run in parallel.

use crate::algebra::Algebra;
use crate::error::NnError;
use crate::float::{c, Float};
use crate::jet::{Jet, JetRef};
use crate::layer::{Init, Layer, ParamGrads, ParamJet, ParamShape};
use crate::layers::jmat::{backward_blocks, map_blocks, JMat};
use rand::rngs::Xoshiro256PlusPlus;
use rand::RngExt;
use rand_distr::StandardNormal;

/// Multi-head self-attention over `tokens` tokens of width `dim`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attention {
    /// Tokens per example `T`.
    pub tokens: usize,
    /// Token width `d`.
    pub dim: usize,
    /// Number of heads `H`.
    pub heads: usize,
    /// Width of each head.
    pub dim_head: usize,
}

/// Forward intermediates of one example.
struct Saved<T> {
    /// `[Q K V]`, `T × 3I`.
    qkv: JMat<T>,
    /// Attention weights per head, `T × T`.
    attn: Vec<JMat<T>>,
    /// Concatenated head outputs, `T × I`.
    o: JMat<T>,
}

/// Row-wise softmax in the algebra.
fn softmax_rows<T: Float>(alg: &Algebra, mut s: JMat<T>) -> JMat<T> {
    let cols = s.cols;
    for row in s.coeff_mut(0).chunks_mut(cols) {
        let mx = row.iter().copied().fold(T::neg_infinity(), T::max);
        row.iter_mut().for_each(|v| *v = *v - mx);
    }
    let e = JMat::map(alg, &s, |v| {
        let e = v.exp();
        [e, e, e]
    });
    let inv = JMat::map(alg, &e.row_sums(), |s| {
        let r = T::one() / s;
        [r, -r * r, c::<T>(2.0) * r * r * r]
    });
    JMat::mul(alg, &e, &inv)
}

impl Attention {
    /// Returns the layer if all sizes are positive.
    pub fn checked(self) -> Result<Self, NnError> {
        if [self.tokens, self.dim, self.heads, self.dim_head].contains(&0) {
            return Err(NnError::Shape(format!(
                "attention: all sizes must be positive, got {self:?}"
            )));
        }
        Ok(self)
    }

    fn inner(&self) -> usize {
        self.heads * self.dim_head
    }

    fn scale<T: Float>(&self) -> T {
        c::<T>(1.0 / (self.dim_head as f64).sqrt())
    }

    fn weights<T: Float>(&self, alg: &Algebra, p: &ParamJet<'_, T>) -> (JMat<T>, JMat<T>) {
        let (d, i) = (self.dim, self.inner());
        (
            JMat::param(alg, p, 0..d * 3 * i, d, 3 * i),
            JMat::param(alg, p, d * 3 * i..d * 4 * i, i, d),
        )
    }

    fn head<T: Float>(&self, qkv: &JMat<T>, part: usize, h: usize) -> JMat<T> {
        qkv.cols_range(part * self.inner() + h * self.dim_head, self.dim_head)
    }

    fn attend<T: Float>(&self, alg: &Algebra, x: &JMat<T>, wqkv: &JMat<T>) -> Saved<T> {
        let qkv = JMat::matmul(alg, x, false, wqkv, false);
        let mut o = JMat::zero(alg.len(), self.tokens, self.inner());
        let mut attn = Vec::with_capacity(self.heads);
        for h in 0..self.heads {
            let (q, k, v) = (
                self.head(&qkv, 0, h),
                self.head(&qkv, 1, h),
                self.head(&qkv, 2, h),
            );
            let mut s = JMat::matmul(alg, &q, false, &k, true);
            s.scale(self.scale());
            let a = softmax_rows(alg, s);
            o.set_cols(h * self.dim_head, &JMat::matmul(alg, &a, false, &v, false));
            attn.push(a);
        }
        Saved { qkv, attn, o }
    }
}

impl<T: Float> Layer<T> for Attention {
    fn describe(&self) -> String {
        format!(
            "attention({} tokens × {}, {} heads × {})",
            self.tokens, self.dim, self.heads, self.dim_head
        )
    }
    fn in_width(&self) -> usize {
        self.dim
    }
    fn out_width(&self) -> usize {
        self.dim
    }
    fn param_shapes(&self) -> Vec<ParamShape> {
        vec![
            ParamShape {
                name: "qkv",
                shape: vec![self.dim, 3 * self.inner()],
            },
            ParamShape {
                name: "out",
                shape: vec![self.inner(), self.dim],
            },
        ]
    }
    fn init(&self, scheme: Init, rng: &mut Xoshiro256PlusPlus, out: &mut [f64]) {
        let (d, i) = (self.dim, self.inner());
        let (qkv, o) = out.split_at_mut(d * 3 * i);
        for (w, std) in [(qkv, scheme.std(d, 3 * i)), (o, scheme.std(i, d))] {
            for v in w {
                *v = std * rng.sample::<f64, _>(StandardNormal);
            }
        }
    }

    fn forward(&self, alg: &Algebra, p: &ParamJet<'_, T>, x: JetRef<'_, T>, y: &mut Jet<T>) {
        let (wqkv, wout) = self.weights(alg, p);
        map_blocks(y, self.tokens, |rows| {
            let xe = JMat::rows_of(alg, x, rows, (self.tokens, self.dim));
            let s = self.attend(alg, &xe, &wqkv);
            JMat::matmul(alg, &s.o, false, &wout, false)
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
        let (d, i, t, dh) = (self.dim, self.inner(), self.tokens, self.dim_head);
        let (wqkv, wout) = self.weights(alg, p);
        let want = grads.monomials();
        let need_gx = gx.is_some();
        let acc = backward_blocks(x.rows, t, gx, &vec![4 * d * i; want.len()], |rows, acc| {
            let xe = JMat::rows_of(alg, x, rows.clone(), (t, d));
            let g = JMat::rows_of(alg, gy.view(), rows, (t, d));
            let s = self.attend(alg, &xe, &wqkv);
            let go = JMat::matmul(alg, &g, false, &wout, true);
            let mut gqkv = JMat::zero(alg.len(), t, 3 * i);
            for (h, a) in s.attn.iter().enumerate() {
                let (q, k, v) = (
                    self.head(&s.qkv, 0, h),
                    self.head(&s.qkv, 1, h),
                    self.head(&s.qkv, 2, h),
                );
                let goh = go.cols_range(h * dh, dh);
                let ga = JMat::matmul(alg, &goh, false, &v, true);
                let mut gs = ga.clone();
                gs.add_scaled(-T::one(), &JMat::mul(alg, &ga, a).row_sums());
                let mut gs = JMat::mul(alg, &gs, a);
                gs.scale(self.scale());
                gqkv.set_cols(h * dh, &JMat::matmul(alg, &gs, false, &k, false));
                gqkv.set_cols(i + h * dh, &JMat::matmul(alg, &gs, true, &q, false));
                gqkv.set_cols(2 * i + h * dh, &JMat::matmul(alg, a, true, &goh, false));
            }
            for (a, &m) in acc.iter_mut().zip(want) {
                let (aq, ao) = a.split_at_mut(3 * d * i);
                JMat::matmul_coeff_into(alg, &xe, true, &gqkv, false, m, aq);
                JMat::matmul_coeff_into(alg, &s.o, true, &g, false, m, ao);
            }
            need_gx.then(|| JMat::matmul(alg, &gqkv, false, &wqkv, true))
        });
        for (s, a) in acc.iter().enumerate() {
            grads.slot(s).1.copy_from_slice(a);
        }
    }
}

//! The [`Objective`] trait: everything gdscope needs to know about a loss `f: ℝⁿ → ℝ`.
//!
//! The methods take and return `f64`; implementations may compute internally in `f32`
//! (networks with `--dtype f32`) and convert at the boundary. An objective that computes in
//! `f32` says so ([`Objective::single_precision`]) and then also serves the `_f32` entry
//! points natively, so a run that keeps its vectors in `f32` converts nothing
//! (docs/engine.md "f32 / f64"; the defaults convert and call the `f64` methods, so analytic
//! objectives need nothing).

use nalgebra::DMatrix;

/// A block of `k` vectors of length `n`, stored as the columns of an `n × k` matrix
/// (column-major, so each vector is contiguous: `block.column(j)`).
pub type Block = DMatrix<f64>;

/// A twice (and thrice) differentiable scalar objective `f(x)`, `x ∈ ℝⁿ`.
///
/// Required: [`dim`](Objective::dim), [`value_grad`](Objective::value_grad),
/// [`hvp`](Objective::hvp) and [`third_order`](Objective::third_order).
/// The block and fused methods ([`block_hvp`](Objective::block_hvp),
/// [`derivatives`](Objective::derivatives)) have correct default implementations that loop over
/// the single-vector ones; implementations override them when one pass can do more (the
/// network engine computes `H·[v₁…v_k]` with one stacked GEMM per layer, and value, gradient,
/// `H·U` and every `∇(uᵢᵀHuⱼ)` in one jet pass).
pub trait Objective: Send + Sync {
    /// Number of variables `n`.
    fn dim(&self) -> usize;

    /// `f(x)`.
    fn value(&self, x: &[f64]) -> f64 {
        let mut g = vec![0.0; self.dim()];
        self.value_grad(x, &mut g)
    }

    /// Returns `f(x)` and writes `∇f(x)` into `grad` (length `n`).
    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64;

    /// Hessian-vector product: writes `∇²f(x)·v` into `out`.
    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]);

    /// Block HVP: `∇²f(x)·[v₁ … v_k]`, one column per direction.
    fn block_hvp(&self, x: &[f64], vs: &Block) -> Block {
        let n = self.dim();
        let mut out = Block::zeros(n, vs.ncols());
        for j in 0..vs.ncols() {
            let v: Vec<f64> = vs.column(j).iter().copied().collect();
            let mut hv = vec![0.0; n];
            self.hvp(x, &v, &mut hv);
            out.column_mut(j).copy_from_slice(&hv);
        }
        out
    }

    /// Third-order vector: writes `∇ₓ(uᵀ ∇²f(x) v) = ∇³f(x)[u, v, ·]` into `out`
    /// (u and v held fixed). Symmetric in `u` and `v`.
    fn third_order(&self, x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]);

    /// Everything a step of a flow needs at `x`, for a block `U = [u₁ … u_k]` of directions,
    /// in one call (one jet pass for networks). Fills the parts of `out` that `request`
    /// asks for and leaves the others untouched:
    ///
    /// | request | written into `out` |
    /// |---|---|
    /// | `value_grad` | `value = f(x)`, `grad = ∇f(x)` |
    /// | `hvps` | `hvps = H·U` (`n × k`) |
    /// | `pairs` | `pairs` column `p(i, j)` = `∇ₓ(u_iᵀ H(x) u_j)` for `i ≤ j`, in the order of [`pair_index`] (`n × k(k+1)/2`) |
    ///
    /// Buffers of `out` are resized only when their shape changes, so a caller that reuses
    /// one [`Derivatives`] allocates nothing in steady state. The default implementation
    /// calls [`value_grad`](Self::value_grad), [`block_hvp`](Self::block_hvp) and
    /// [`third_order`](Self::third_order); networks override it with one fused pass.
    fn derivatives(&self, x: &[f64], us: &Block, request: Request, out: &mut Derivatives) {
        let n = self.dim();
        let k = us.ncols();
        if request.value_grad {
            out.grad.resize(n, 0.0);
            out.value = self.value_grad(x, &mut out.grad);
        }
        if request.hvps {
            out.hvps = self.block_hvp(x, us);
        }
        if request.pairs {
            let m = k * (k + 1) / 2;
            if out.pairs.shape() != (n, m) {
                out.pairs = Block::zeros(n, m);
            }
            let mut d = vec![0.0; n];
            for i in 0..k {
                for j in i..k {
                    let (ui, uj) = (us.column(i), us.column(j));
                    self.third_order(x, ui.as_slice(), uj.as_slice(), &mut d);
                    out.pairs
                        .column_mut(pair_index(i, j, k))
                        .copy_from_slice(&d);
                }
            }
        }
    }

    /// Number of examples the objective averages over, for objectives that are empirical
    /// risks (networks). `None` for analytic functions. Enables minibatch methods.
    fn num_examples(&self) -> Option<usize> {
        None
    }

    /// Loss and gradient on a subset of examples (a minibatch, mean over `indices`).
    /// Objectives without examples ignore `indices` and return the full value.
    fn value_grad_subset(&self, x: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        let _ = indices;
        self.value_grad(x, grad)
    }

    /// Loss on a subset of examples (no gradient: a forward pass for networks). The default
    /// calls [`value_grad_subset`](Self::value_grad_subset).
    fn value_subset(&self, x: &[f64], indices: &[usize]) -> f64 {
        let mut g = vec![0.0; self.dim()];
        self.value_grad_subset(x, indices, &mut g)
    }

    /// Hessian-vector product of the loss on a subset of examples (a minibatch Hessian
    /// `H_B·v`, mean over `indices`). The default ignores `indices` and returns the full
    /// [`hvp`](Self::hvp), which is right for objectives without examples; empirical risks
    /// override it.
    fn hvp_subset(&self, x: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        let _ = indices;
        self.hvp(x, v, out)
    }

    /// Whether the objective computes in single precision. A caller that can keep its
    /// parameter-sized vectors in `f32` then does so and calls the `_f32` entry points below,
    /// which such an objective serves without converting (a training run's weights, gradient
    /// and optimizer state; [`crate::real`]). `false` by default.
    fn single_precision(&self) -> bool {
        false
    }

    /// [`value_grad`](Self::value_grad) with the point and the gradient in `f32`. The
    /// default widens `x`, calls the `f64` method and rounds the gradient.
    fn value_grad_f32(&self, x: &[f32], grad: &mut [f32]) -> f64 {
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let mut g = vec![0.0; grad.len()];
        let value = self.value_grad(&x, &mut g);
        grad.iter_mut().zip(&g).for_each(|(o, &v)| *o = v as f32);
        value
    }

    /// [`value_grad_subset`](Self::value_grad_subset) with the point and the gradient in
    /// `f32` (default: widen, call the `f64` method, round).
    fn value_grad_subset_f32(&self, x: &[f32], indices: &[usize], grad: &mut [f32]) -> f64 {
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let mut g = vec![0.0; grad.len()];
        let value = self.value_grad_subset(&x, indices, &mut g);
        grad.iter_mut().zip(&g).for_each(|(o, &v)| *o = v as f32);
        value
    }

    /// [`block_hvp`](Self::block_hvp) at a point given in `f32` (the directions and the
    /// products stay `f64`: they are the eigen-solver's block). Default: widen `x`.
    fn block_hvp_f32(&self, x: &[f32], vs: &Block) -> Block {
        let x: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        self.block_hvp(&x, vs)
    }

    /// Dense Hessian `∇²f(x)` built column by column from HVPs (n HVPs; for small n and
    /// for validating the matrix-free paths).
    fn hessian(&self, x: &[f64]) -> DMatrix<f64> {
        let n = self.dim();
        let mut h = DMatrix::zeros(n, n);
        let mut e = vec![0.0; n];
        let mut col = vec![0.0; n];
        for j in 0..n {
            e[j] = 1.0;
            self.hvp(x, &e, &mut col);
            h.column_mut(j).copy_from_slice(&col);
            e[j] = 0.0;
        }
        // Symmetrize away rounding so that eigen-solvers see an exactly symmetric matrix.
        let ht = h.transpose();
        (h + ht) * 0.5
    }
}

/// Which parts of [`Objective::derivatives`] to compute.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Request {
    /// `f(x)` and `∇f(x)`.
    pub value_grad: bool,
    /// `H·U`.
    pub hvps: bool,
    /// `∇(u_iᵀHu_j)` for all `i ≤ j`.
    pub pairs: bool,
}

impl Request {
    /// Value, gradient, `H·U` and every pair vector: one central-flow substep.
    pub const ALL: Self = Self {
        value_grad: true,
        hvps: true,
        pairs: true,
    };
}

/// Output of [`Objective::derivatives`]; reuse one across calls to avoid allocation.
#[derive(Debug, Clone)]
pub struct Derivatives {
    /// `f(x)` (when requested).
    pub value: f64,
    /// `∇f(x)` (when requested).
    pub grad: Vec<f64>,
    /// `H·U`, one column per direction (when requested).
    pub hvps: Block,
    /// `∇(u_iᵀHu_j)`, column [`pair_index`]`(i, j, k)` for `i ≤ j` (when requested).
    pub pairs: Block,
}

impl Default for Derivatives {
    fn default() -> Self {
        Self {
            value: f64::NAN,
            grad: Vec::new(),
            hvps: Block::zeros(0, 0),
            pairs: Block::zeros(0, 0),
        }
    }
}

/// Column of the pair `(i, j)`, `i ≤ j < k`, in the order (0,0), (0,1), …, (0,k−1), (1,1), …,
/// (k−1,k−1): `i·k − i(i−1)/2 + (j − i)`.
pub fn pair_index(i: usize, j: usize, k: usize) -> usize {
    debug_assert!(i <= j && j < k, "pair ({i}, {j}) out of order for k = {k}");
    i * k - i * i.saturating_sub(1) / 2 + (j - i)
}

/// A quadratic `f(x) = ½ xᵀ A x − bᵀx` with dense symmetric `A`: exact, cheap, and the
/// reference objective for tests of optimizers and eigen-solvers throughout the workspace.
#[derive(Debug, Clone)]
pub struct DenseQuadratic {
    /// Symmetric matrix `A` (the Hessian).
    pub a: DMatrix<f64>,
    /// Linear term `b`.
    pub b: Vec<f64>,
}

impl DenseQuadratic {
    /// `½ xᵀAx` (no linear term). `a` must be symmetric.
    pub fn new(a: DMatrix<f64>) -> Self {
        let n = a.nrows();
        Self { a, b: vec![0.0; n] }
    }
}

impl Objective for DenseQuadratic {
    fn dim(&self) -> usize {
        self.a.nrows()
    }
    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let xv = nalgebra::DVectorView::from_slice(x, x.len());
        let ax = &self.a * xv;
        grad.copy_from_slice(ax.as_slice());
        for (g, b) in grad.iter_mut().zip(&self.b) {
            *g -= b;
        }
        0.5 * xv.dot(&ax) - x.iter().zip(&self.b).map(|(a, b)| a * b).sum::<f64>()
    }
    fn hvp(&self, _x: &[f64], v: &[f64], out: &mut [f64]) {
        let vv = nalgebra::DVectorView::from_slice(v, v.len());
        out.copy_from_slice((&self.a * vv).as_slice());
    }
    fn block_hvp(&self, _x: &[f64], vs: &Block) -> Block {
        &self.a * vs
    }
    fn third_order(&self, _x: &[f64], _u: &[f64], _v: &[f64], out: &mut [f64]) {
        out.fill(0.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dense_quadratic_defaults_agree_with_matrix() {
        let a = DMatrix::from_row_slice(3, 3, &[2.0, 1.0, 0.0, 1.0, 3.0, -1.0, 0.0, -1.0, 4.0]);
        let q = DenseQuadratic::new(a.clone());
        let x = [0.3, -0.2, 1.0];
        let h = q.hessian(&x);
        assert!((h - &a).abs().max() < 1e-15);
        let mut d = Derivatives::default();
        q.derivatives(&x, &Block::identity(3, 2), Request::ALL, &mut d);
        assert_eq!(d.pairs.ncols(), 3);
        assert_eq!(d.pairs.abs().max(), 0.0);
        let mut g = [0.0; 3];
        let f = q.value_grad(&x, &mut g);
        assert!((f - 0.5 * 4.58).abs() < 1e-12, "{f}");
    }

    #[test]
    fn f32_entry_points_default_to_the_f64_methods() {
        let a = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 3.0]);
        let q = DenseQuadratic::new(a.clone());
        assert!(!q.single_precision());
        let x32 = [0.5f32, -1.25];
        let mut g32 = [0.0f32; 2];
        let f = q.value_grad_f32(&x32, &mut g32);
        let mut g = [0.0; 2];
        assert_eq!(f, q.value_grad(&[0.5, -1.25], &mut g));
        assert_eq!(g32, [g[0] as f32, g[1] as f32]);
        let mut gs = [0.0f32; 2];
        assert_eq!(q.value_grad_subset_f32(&x32, &[0], &mut gs), f);
        assert_eq!(gs, g32);
        assert_eq!(q.block_hvp_f32(&x32, &Block::identity(2, 2)), a);
    }

    #[test]
    fn pair_index_enumerates_the_upper_triangle_in_order() {
        for k in 1..7 {
            let mut c = 0;
            for i in 0..k {
                for j in i..k {
                    assert_eq!(pair_index(i, j, k), c, "k = {k}, ({i}, {j})");
                    c += 1;
                }
            }
        }
    }

    #[test]
    fn derivatives_fill_only_what_is_requested() {
        let a = DMatrix::from_row_slice(2, 2, &[2.0, 1.0, 1.0, 3.0]);
        let q = DenseQuadratic::new(a.clone());
        let us = Block::identity(2, 2);
        let mut out = Derivatives::default();
        q.derivatives(
            &[1.0, 0.0],
            &us,
            Request {
                hvps: true,
                ..Request::default()
            },
            &mut out,
        );
        assert!(out.value.is_nan() && out.grad.is_empty() && out.pairs.is_empty());
        assert_eq!(out.hvps, a);
        q.derivatives(&[1.0, 0.0], &us, Request::ALL, &mut out);
        assert_eq!(out.value, 1.0);
        assert_eq!(out.grad, vec![2.0, 1.0]);
        assert_eq!(out.pairs.shape(), (2, 3));
    }
}

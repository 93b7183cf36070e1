//! Symmetric linear operators applied to blocks of vectors, and the Hessian operator
//! (plain, preconditioned `P^{-1/2} H P^{-1/2}`, or restricted to a parameter subset).

use std::sync::atomic::{AtomicUsize, Ordering};

use gdscope_core::real::block_hvp_at;
use gdscope_core::{Block, Objective, Values};
use nalgebra::DMatrix;

use crate::error::{ensure, CurvatureError, Result};

/// A symmetric linear map `A: ℝⁿ → ℝⁿ` applied to the columns of an `n × k` block.
///
/// Implementations must be symmetric (`uᵀAv = vᵀAu`); every solver here relies on it.
/// `apply` receives a block with exactly [`dim`](LinearOperator::dim) rows.
pub trait LinearOperator: Sync {
    /// The dimension `n`.
    fn dim(&self) -> usize;
    /// `A·[v₁ … v_k]`, one column per input column.
    fn apply(&self, v: &Block) -> Block;
}

/// A dense symmetric matrix is an operator (useful for tests and small problems).
impl LinearOperator for DMatrix<f64> {
    fn dim(&self) -> usize {
        self.nrows()
    }
    fn apply(&self, v: &Block) -> Block {
        self * v
    }
}

/// `A·v`, counted, with a finiteness check.
pub(crate) fn apply_checked(op: &dyn LinearOperator, v: &Block, hvps: &mut usize) -> Result<Block> {
    *hvps += v.ncols();
    let av = op.apply(v);
    if av.iter().all(|x| x.is_finite()) {
        Ok(av)
    } else {
        Err(CurvatureError::NonFinite)
    }
}

/// `−A`: turns "largest algebraic" into "smallest algebraic".
pub(crate) struct Negated<'a>(pub &'a dyn LinearOperator);

impl LinearOperator for Negated<'_> {
    fn dim(&self) -> usize {
        self.0.dim()
    }
    fn apply(&self, v: &Block) -> Block {
        -self.0.apply(v)
    }
}

/// The Hessian `H = ∇²f(x)` of an [`Objective`] at fixed `x`, as an operator built on
/// [`Objective::block_hvp`] (one call per block).
///
/// Two optional transformations (docs/theory.md §3, §5):
/// - [`with_preconditioner`](Self::with_preconditioner)`(p)`: the *effective Hessian*
///   `P^{-1/2} H P^{-1/2}` for a diagonal preconditioner `P = diag(p)`, whose eigenvalues are
///   those of `P⁻¹H` (the preconditioned sharpness of Adam/RMSProp, `p = √ν̂ + ε`).
/// - [`with_subset`](Self::with_subset)`(idx)`: the principal submatrix `H[S, S]` for a
///   parameter subset `S` (a layer): a vector on `S` is embedded with zeros elsewhere,
///   multiplied, and restricted back to `S`. With both, the result is `(P^{-1/2} H P^{-1/2})[S, S]`.
///
/// The point may be given in the run's precision ([`new_at`](Self::new_at)): an `f32` point
/// reaches an `f32` objective as it is, so the products of a solve convert no parameters.
///
/// Every column applied is counted ([`hvps`](Self::hvps)).
pub struct HessianOperator<'a> {
    obj: &'a dyn Objective,
    x: Values<'a>,
    /// `p^{-1/2}` entrywise, precomputed from the preconditioner.
    inv_sqrt_p: Option<Vec<f64>>,
    subset: Option<&'a [usize]>,
    hvps: AtomicUsize,
}

impl<'a> HessianOperator<'a> {
    /// The Hessian of `obj` at `x`. Errors if `x.len() != obj.dim()`.
    pub fn new(obj: &'a dyn Objective, x: &'a [f64]) -> Result<Self> {
        Self::new_at(obj, Values::F64(x))
    }

    /// The Hessian of `obj` at `x` given in either precision ([`Objective::block_hvp_f32`]
    /// for an `f32` point). Errors if `x.len() != obj.dim()`.
    pub fn new_at(obj: &'a dyn Objective, x: Values<'a>) -> Result<Self> {
        ensure(x.len() == obj.dim(), || {
            format!(
                "parameter vector has {} entries but the objective has {} parameters; \
                 pass parameters of the right model",
                x.len(),
                obj.dim()
            )
        })?;
        Ok(Self {
            obj,
            x,
            inv_sqrt_p: None,
            subset: None,
            hvps: AtomicUsize::new(0),
        })
    }

    /// Use the effective Hessian `P^{-1/2} H P^{-1/2}`, `P = diag(p)`. Every `pᵢ` must be
    /// finite and positive and `p` must have one entry per parameter (full dimension, even
    /// when a subset is used).
    pub fn with_preconditioner(mut self, p: &[f64]) -> Result<Self> {
        ensure(p.len() == self.x.len(), || {
            format!(
                "preconditioner has {} entries but the objective has {} parameters",
                p.len(),
                self.x.len()
            )
        })?;
        ensure(p.iter().all(|v| v.is_finite() && *v > 0.0), || {
            "preconditioner entries must be finite and positive (use sqrt(v_hat) + eps)".into()
        })?;
        self.inv_sqrt_p = Some(p.iter().map(|v| 1.0 / v.sqrt()).collect());
        Ok(self)
    }

    /// Restrict to the parameters `idx` (distinct, each `< n`, at least one).
    pub fn with_subset(mut self, idx: &'a [usize]) -> Result<Self> {
        let n = self.x.len();
        ensure(!idx.is_empty(), || {
            "parameter subset is empty; select at least one parameter".into()
        })?;
        let mut seen = vec![false; n];
        for &i in idx {
            ensure(i < n, || {
                format!("parameter index {i} is out of range (the objective has {n})")
            })?;
            ensure(!seen[i], || {
                format!("parameter index {i} appears twice in the subset")
            })?;
            seen[i] = true;
        }
        self.subset = Some(idx);
        Ok(self)
    }

    /// Number of Hessian-vector products (columns) applied so far.
    pub fn hvps(&self) -> usize {
        self.hvps.load(Ordering::Relaxed)
    }

    fn scale_rows(&self, b: &mut Block) {
        if let Some(s) = &self.inv_sqrt_p {
            for mut col in b.column_iter_mut() {
                col.iter_mut().zip(s).for_each(|(v, si)| *v *= si);
            }
        }
    }
}

impl LinearOperator for HessianOperator<'_> {
    fn dim(&self) -> usize {
        self.subset.map_or(self.x.len(), <[usize]>::len)
    }

    fn apply(&self, v: &Block) -> Block {
        let k = v.ncols();
        self.hvps.fetch_add(k, Ordering::Relaxed);
        let mut full = match self.subset {
            None => v.clone(),
            Some(idx) => {
                let mut full = Block::zeros(self.x.len(), k);
                for j in 0..k {
                    for (r, &i) in idx.iter().enumerate() {
                        full[(i, j)] = v[(r, j)];
                    }
                }
                full
            }
        };
        self.scale_rows(&mut full);
        let mut out = block_hvp_at(self.obj, self.x, &full);
        self.scale_rows(&mut out);
        match self.subset {
            None => out,
            Some(idx) => Block::from_fn(idx.len(), k, |r, j| out[(idx[r], j)]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gdscope_core::objective::DenseQuadratic;

    fn sample() -> DenseQuadratic {
        DenseQuadratic::new(DMatrix::from_row_slice(
            3,
            3,
            &[4.0, 1.0, 0.5, 1.0, 3.0, -1.0, 0.5, -1.0, 2.0],
        ))
    }

    #[test]
    fn preconditioned_subset_matches_dense_formula() {
        let q = sample();
        let x = [0.0; 3];
        let p = [4.0, 1.0, 0.25];
        let idx = [2, 0];
        let op = HessianOperator::new(&q, &x)
            .unwrap()
            .with_preconditioner(&p)
            .unwrap();
        let op = op.with_subset(&idx).unwrap();
        let d = DMatrix::from_diagonal(&nalgebra::DVector::from_iterator(
            3,
            p.iter().map(|v| 1.0 / v.sqrt()),
        ));
        let eff = &d * &q.a * &d;
        let expect = DMatrix::from_fn(2, 2, |r, c| eff[(idx[r], idx[c])]);
        let got = op.apply(&DMatrix::identity(2, 2));
        assert!((got - expect).abs().max() < 1e-14);
        assert_eq!(op.hvps(), 2);
        assert_eq!(op.dim(), 2);
    }

    #[test]
    fn bad_inputs_are_errors() {
        let q = sample();
        assert!(HessianOperator::new(&q, &[0.0; 2]).is_err());
        let x = [0.0; 3];
        let op = || HessianOperator::new(&q, &x).unwrap();
        assert!(op().with_preconditioner(&[1.0, 0.0, 1.0]).is_err());
        assert!(op().with_preconditioner(&[1.0, 1.0]).is_err());
        assert!(op().with_subset(&[]).is_err());
        assert!(op().with_subset(&[0, 3]).is_err());
        assert!(op().with_subset(&[1, 1]).is_err());
    }
}

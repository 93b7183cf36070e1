//! [`NetworkObjective`]: a network, a dataset and a loss as a [`gdscope_core::Objective`].
//!
//! All methods take and return `f64`; with [`Dtype::F32`] parameters, directions and data are
//! converted once at the boundary and every pass runs in `f32`.
//!
//! | method | algebra | coefficients returned |
//! |---|---|---|
//! | `value_grad` | primal | `1` |
//! | `hvp` / `block_hvp` | `tangents(K)` | `εᵢ` → `H uᵢ` (K ≤ 8 per pass) |
//! | `grad_hvp_third` | `taylor2` | `1, ε, ε²` → `∇L, Hu, ½∇(uᵀHu)` |
//! | `third_order` | `hyper_dual` | `ε₀ε₁` → `∇(uᵀHv)` |
//! | `third_order_pairs` | `all_pairs(k)` (k ≤ 4), else hyper-dual per pair | `εᵢεⱼ`, `εᵢ²` |

use crate::algebra::Algebra;
use crate::engine::{forward, jet_pass, Batch};
use crate::error::NnError;
use crate::float::Float;
use crate::jet::JetRef;
use crate::layer::Init;
use crate::loss::{accuracy, Loss};
use crate::model::{Model, ParamView};
use gdscope_core::objective::GradHvpThird;
use gdscope_core::{Block, Objective};

/// Floating-point type the network computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// Single precision (fast; derivatives accurate to ~1e-6 relative).
    F32,
    /// Double precision (reference accuracy).
    F64,
}

impl Dtype {
    /// Parses `f32` or `f64`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "f32" | "float32" => Some(Dtype::F32),
            "f64" | "float64" => Some(Dtype::F64),
            _ => None,
        }
    }
}

/// Most directions pushed through one block-HVP pass (bounds memory: activations grow with K).
const MAX_BLOCK: usize = 8;
/// Largest set for which `third_order_pairs` uses one joint all-pairs jet.
const MAX_JOINT_PAIRS: usize = 4;

struct Net<T> {
    model: Model<T>,
    x: Vec<T>,
    y: Vec<T>,
}

/// What one pass returns, converted to `f64`.
struct Pass64 {
    value: f64,
    outputs: Vec<f64>,
    grads: Vec<Vec<f64>>,
}

impl<T: Float> Net<T> {
    fn pass(
        &self,
        loss: Loss,
        alg: &Algebra,
        w: &[f64],
        dirs: &[&[f64]],
        want: &[usize],
        rows: Option<&[usize]>,
    ) -> Pass64 {
        let w = T::slice_from_f64(w);
        let dirs: Vec<_> = dirs.iter().map(|d| T::slice_from_f64(d)).collect();
        let dir_refs: Vec<&[T]> = dirs.iter().map(|d| d.as_ref()).collect();
        let (d, k) = (self.model.in_width(), self.model.out_width());
        let gathered;
        let batch = match rows {
            None => Batch {
                x: &self.x,
                y: &self.y,
                rows: self.x.len() / d,
            },
            Some(idx) => {
                gathered = gather(&self.x, &self.y, d, k, idx);
                Batch {
                    x: &gathered.0,
                    y: &gathered.1,
                    rows: idx.len(),
                }
            }
        };
        let out = jet_pass(&self.model, loss, alg, &w, &dir_refs, batch, want);
        Pass64 {
            value: out.value,
            outputs: out.outputs.iter().map(|v| v.as_f64()).collect(),
            grads: out
                .grads
                .into_iter()
                .map(|g| g.iter().map(|v| v.as_f64()).collect())
                .collect(),
        }
    }

    /// Primal outputs on another input set.
    fn outputs_on(&self, w: &[f64], x: &[f64]) -> Vec<f64> {
        let w = T::slice_from_f64(w);
        let x = T::slice_from_f64(x);
        let rows = x.len() / self.model.in_width();
        let outs = forward(
            &self.model,
            &Algebra::primal(),
            &w,
            &[],
            JetRef::constant(&x, rows, self.model.in_width()),
        );
        outs.last()
            .map(|o| o.coeff(0).iter().map(|v| v.as_f64()).collect())
            .unwrap_or_default()
    }
}

fn gather<T: Float>(x: &[T], y: &[T], d: usize, k: usize, idx: &[usize]) -> (Vec<T>, Vec<T>) {
    let xs = idx
        .iter()
        .flat_map(|&i| x[i * d..(i + 1) * d].iter().copied())
        .collect();
    let ys = idx
        .iter()
        .flat_map(|&i| y[i * k..(i + 1) * k].iter().copied())
        .collect();
    (xs, ys)
}

enum Inner {
    F32(Net<f32>),
    F64(Net<f64>),
}

/// Loss of a network on a fixed dataset as a function of the flat parameter vector
/// (layout: [`Model`]), with exact derivatives up to third order by jet passes.
pub struct NetworkObjective {
    spec: String,
    loss: Loss,
    dtype: Dtype,
    n: usize,
    d: usize,
    k: usize,
    num_params: usize,
    inner: Inner,
}

impl NetworkObjective {
    /// Builds the objective for model `spec` on inputs `x` (`n × d` row-major) and targets
    /// `y` (`n × k`, one-hot for classification), where `d`, `k` are the model's input and
    /// output widths.
    pub fn new(
        spec: &str,
        x: &[f64],
        y: &[f64],
        n: usize,
        loss: Loss,
        dtype: Dtype,
    ) -> Result<Self, NnError> {
        fn net<T: Float>(spec: &str, x: &[f64], y: &[f64]) -> Result<Net<T>, NnError> {
            Ok(Net {
                model: Model::from_spec(spec)?,
                x: T::slice_from_f64(x).into_owned(),
                y: T::slice_from_f64(y).into_owned(),
            })
        }
        let probe = Model::<f64>::from_spec(spec)?;
        let (d, k) = (probe.in_width(), probe.out_width());
        check_data(x, y, n, d, k)?;
        let inner = match dtype {
            Dtype::F32 => Inner::F32(net(spec, x, y)?),
            Dtype::F64 => Inner::F64(net(spec, x, y)?),
        };
        Ok(Self {
            spec: spec.to_string(),
            loss,
            dtype,
            n,
            d,
            k,
            num_params: probe.num_params(),
            inner,
        })
    }

    /// The model spec.
    pub fn spec(&self) -> &str {
        &self.spec
    }
    /// The loss.
    pub fn loss(&self) -> Loss {
        self.loss
    }
    /// The compute dtype.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }
    /// Input width `d`.
    pub fn in_width(&self) -> usize {
        self.d
    }
    /// Output width `k`.
    pub fn out_width(&self) -> usize {
        self.k
    }

    /// Named views into the flat parameter vector.
    pub fn param_views(&self) -> Vec<ParamView> {
        match &self.inner {
            Inner::F32(n) => n.model.param_views(),
            Inner::F64(n) => n.model.param_views(),
        }
    }

    /// Seeded initial parameters (see [`Model::init`]).
    pub fn init(&self, scheme: Init, seed: u64) -> Vec<f64> {
        match &self.inner {
            Inner::F32(n) => n.model.init(scheme, seed),
            Inner::F64(n) => n.model.init(scheme, seed),
        }
    }

    fn pass(
        &self,
        alg: &Algebra,
        w: &[f64],
        dirs: &[&[f64]],
        want: &[usize],
        rows: Option<&[usize]>,
    ) -> Pass64 {
        assert_eq!(
            w.len(),
            self.num_params,
            "parameter vector has the wrong length"
        );
        for d in dirs {
            assert_eq!(d.len(), self.num_params, "direction has the wrong length");
        }
        match &self.inner {
            Inner::F32(n) => n.pass(self.loss, alg, w, dirs, want, rows),
            Inner::F64(n) => n.pass(self.loss, alg, w, dirs, want, rows),
        }
    }

    /// Network outputs on the training inputs (`n × k`).
    pub fn outputs(&self, w: &[f64]) -> Vec<f64> {
        self.pass(&Algebra::primal(), w, &[], &[], None).outputs
    }

    /// Fraction of training examples whose output argmax matches the target argmax.
    pub fn accuracy(&self, w: &[f64]) -> f64 {
        accuracy(&self.outputs(w), &self.y_f64(), self.k)
    }

    fn y_f64(&self) -> Vec<f64> {
        match &self.inner {
            Inner::F32(n) => n.y.iter().map(|v| f64::from(*v)).collect(),
            Inner::F64(n) => n.y.clone(),
        }
    }

    /// `(loss, accuracy)` on another dataset (e.g. a test set): `x` is `rows × d`, `y` is
    /// `rows × k`.
    pub fn evaluate(&self, w: &[f64], x: &[f64], y: &[f64]) -> Result<(f64, f64), NnError> {
        let rows = x.len() / self.d.max(1);
        check_data(x, y, rows, self.d, self.k)?;
        if w.len() != self.num_params {
            return Err(NnError::Shape(format!(
                "parameter vector has {} entries, the model needs {}",
                w.len(),
                self.num_params
            )));
        }
        let f = match &self.inner {
            Inner::F32(n) => n.outputs_on(w, x),
            Inner::F64(n) => n.outputs_on(w, x),
        };
        Ok((self.loss.value(&f, y, self.k), accuracy(&f, y, self.k)))
    }
}

fn check_data(x: &[f64], y: &[f64], n: usize, d: usize, k: usize) -> Result<(), NnError> {
    if x.len() != n * d {
        return Err(NnError::Shape(format!(
            "inputs have {} values, expected n × d = {n} × {d} (the model's input width is {d})",
            x.len()
        )));
    }
    if y.len() != n * k {
        return Err(NnError::Shape(format!(
            "targets have {} values, expected n × k = {n} × {k} (the model's output width is {k})",
            y.len()
        )));
    }
    Ok(())
}

impl Objective for NetworkObjective {
    fn dim(&self) -> usize {
        self.num_params
    }

    fn value(&self, x: &[f64]) -> f64 {
        self.pass(&Algebra::primal(), x, &[], &[], None).value
    }

    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        let p = self.pass(&Algebra::primal(), x, &[], &[0], None);
        grad.copy_from_slice(&p.grads[0]);
        p.value
    }

    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        let alg = Algebra::tangents(1);
        let p = self.pass(&alg, x, &[v], &[alg.dir(0)], None);
        out.copy_from_slice(&p.grads[0]);
    }

    fn block_hvp(&self, x: &[f64], vs: &Block) -> Block {
        let mut out = Block::zeros(self.num_params, vs.ncols());
        let mut start = 0;
        while start < vs.ncols() {
            let kk = (vs.ncols() - start).min(MAX_BLOCK);
            let alg = Algebra::tangents(kk);
            let dirs: Vec<&[f64]> = (start..start + kk).map(|j| column(vs, j)).collect();
            let want: Vec<usize> = (0..kk).map(|i| alg.dir(i)).collect();
            let p = self.pass(&alg, x, &dirs, &want, None);
            for (i, g) in p.grads.iter().enumerate() {
                out.column_mut(start + i).copy_from_slice(g);
            }
            start += kk;
        }
        out
    }

    fn third_order(&self, x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        let alg = Algebra::hyper_dual();
        let m = alg.pair(0, 1).expect("hyper-dual has ε₀ε₁");
        let p = self.pass(&alg, x, &[u, v], &[m], None);
        out.copy_from_slice(&p.grads[0]);
    }

    fn grad_hvp_third(&self, x: &[f64], u: &[f64]) -> GradHvpThird {
        let alg = Algebra::taylor2();
        let sq = alg.pair(0, 0).expect("taylor2 has ε²");
        let mut p = self.pass(&alg, x, &[u], &[0, alg.dir(0), sq], None);
        // Taylor convention: the ε² coefficient of ∇L(w + εu) is ½∇(uᵀHu).
        let mut d3 = p.grads.pop().expect("three coefficients");
        d3.iter_mut().for_each(|v| *v *= 2.0);
        let hu = p.grads.pop().expect("three coefficients");
        let grad = p.grads.pop().expect("three coefficients");
        GradHvpThird {
            value: p.value,
            grad,
            hu,
            d3,
        }
    }

    fn third_order_pairs(&self, x: &[f64], us: &Block) -> Block {
        let kk = us.ncols();
        let npairs = kk * (kk + 1) / 2;
        let mut out = Block::zeros(self.num_params, npairs);
        if kk > MAX_JOINT_PAIRS {
            let mut c = 0;
            for i in 0..kk {
                for j in i..kk {
                    let mut d = vec![0.0; self.num_params];
                    self.third_order(x, column(us, i), column(us, j), &mut d);
                    out.column_mut(c).copy_from_slice(&d);
                    c += 1;
                }
            }
            return out;
        }
        let alg = Algebra::all_pairs(kk);
        let dirs: Vec<&[f64]> = (0..kk).map(|j| column(us, j)).collect();
        // all_pairs lists (i, j), i ≤ j, in exactly the trait's output order.
        let want: Vec<usize> = (0..npairs).map(|p| 1 + kk + p).collect();
        let p = self.pass(&alg, x, &dirs, &want, None);
        for (c, (g, &(i, j))) in p.grads.iter().zip(alg.pairs()).enumerate() {
            let scale = if i == j { 2.0 } else { 1.0 };
            for (o, v) in out.column_mut(c).iter_mut().zip(g) {
                *o = scale * v;
            }
        }
        out
    }

    fn num_examples(&self) -> Option<usize> {
        Some(self.n)
    }

    fn value_grad_subset(&self, x: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        assert!(
            indices.iter().all(|&i| i < self.n),
            "example index out of range"
        );
        let p = self.pass(&Algebra::primal(), x, &[], &[0], Some(indices));
        grad.copy_from_slice(&p.grads[0]);
        p.value
    }

    fn value_subset(&self, x: &[f64], indices: &[usize]) -> f64 {
        assert!(
            indices.iter().all(|&i| i < self.n),
            "example index out of range"
        );
        self.pass(&Algebra::primal(), x, &[], &[], Some(indices))
            .value
    }

    fn hvp_subset(&self, x: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        assert!(
            indices.iter().all(|&i| i < self.n),
            "example index out of range"
        );
        let alg = Algebra::tangents(1);
        let p = self.pass(&alg, x, &[v], &[alg.dir(0)], Some(indices));
        out.copy_from_slice(&p.grads[0]);
    }
}

fn column(b: &Block, j: usize) -> &[f64] {
    let n = b.nrows();
    &b.as_slice()[j * n..(j + 1) * n]
}

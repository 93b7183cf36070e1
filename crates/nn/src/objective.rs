//! [`NetworkObjective`]: a network, a dataset and a loss as a [`gdscope_core::Objective`].
//!
//! The [`Objective`] methods take and return `f64`; with [`Dtype::F32`] the data are converted
//! once at construction, parameters and directions once per call into reused buffers, and
//! every pass runs in `f32` (docs/engine.md §"f32 / f64"). An `f32` objective reports
//! [`Objective::single_precision`] and serves the `_f32` entry points natively: the point
//! and the gradient are read and written in `f32` as they are, so a run that keeps its
//! weights in `f32` converts nothing.
//!
//! | method | algebra | coefficients returned |
//! |---|---|---|
//! | `value_grad` | primal | `1` |
//! | `hvp` / `block_hvp` | `tangents(K)` | `εᵢ` → `H uᵢ` (K ≤ 8 per pass) |
//! | `third_order` | `hyper_dual` | `ε₀ε₁` → `∇(uᵀHv)` |
//! | `derivatives` with pairs | `all_pairs(k)` (k ≤ 4), else tangents + hyper-dual per pair | requested among `1`, `εᵢ`, `εᵢεⱼ` |
//! | `derivatives` without pairs | `tangents(k)`, or primal | requested among `1`, `εᵢ` |
//!
//! Each pass runs in a [`Workspace`] taken from a small pool inside the objective (one per
//! concurrent caller), so repeated calls of the same shapes allocate no jet buffers.

use std::sync::Mutex;

use crate::algebra::{Algebra, Pair};
use crate::engine::{Batch, Workspace};
use crate::error::NnError;
use crate::float::Float;
use crate::jet::JetRef;
use crate::layer::Init;
use crate::loss::{accuracy, Loss};
use crate::model::{Model, ParamView};
use crate::par;
use gdscope_core::objective::{pair_index, Derivatives, Request};
use gdscope_core::{Block, Objective, Values};

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
/// Largest set for which `derivatives` computes the pair vectors in one all-pairs jet.
const MAX_JOINT_PAIRS: usize = 4;
/// Most gradient coefficients one pass returns (all pairs of 4 directions with gradient and
/// HVPs: 1 + 4 + 10).
const MAX_WANT: usize = 1 + MAX_JOINT_PAIRS + MAX_JOINT_PAIRS * (MAX_JOINT_PAIRS + 1) / 2;

/// The algebras the objective's passes use, built once.
struct Algebras {
    primal: Algebra,
    /// `tangents[k − 1]` for `k = 1 … MAX_BLOCK`.
    tangents: Vec<Algebra>,
    hyper_dual: Algebra,
    /// `all_pairs[k − 1]` for `k = 1 … MAX_JOINT_PAIRS`.
    all_pairs: Vec<Algebra>,
}

impl Algebras {
    fn new() -> Self {
        Self {
            primal: Algebra::primal(),
            tangents: (1..=MAX_BLOCK).map(Algebra::tangents).collect(),
            hyper_dual: Algebra::hyper_dual(),
            all_pairs: (1..=MAX_JOINT_PAIRS).map(Algebra::all_pairs).collect(),
        }
    }
}

/// The directions of a pass, in `f64`.
#[derive(Clone, Copy)]
enum Dirs<'a> {
    /// `K` directions back to back (a column-major block).
    Flat(&'a [f64]),
    /// Two separate directions (`third_order(u, v)`).
    Two(&'a [f64], &'a [f64]),
}

/// Where a pass writes the gradient: in the caller's precision.
enum GradOut<'a> {
    F64(&'a mut [f64]),
    F32(&'a mut [f32]),
}

/// The engine types, with the boundary between the caller's vectors ([`Values`], [`GradOut`])
/// and the compute type: borrowed when the precisions agree, converted into a reused buffer
/// when they differ.
trait Native: Float {
    fn load_values<'a>(v: Values<'a>, buf: &'a mut Vec<Self>) -> &'a [Self];
    fn store_grad(src: &[Self], dst: GradOut<'_>);
}

impl Native for f64 {
    fn load_values<'a>(v: Values<'a>, buf: &'a mut Vec<Self>) -> &'a [Self] {
        v.to_f64(buf)
    }
    fn store_grad(src: &[Self], dst: GradOut<'_>) {
        match dst {
            GradOut::F64(d) => d.copy_from_slice(src),
            GradOut::F32(d) => d.iter_mut().zip(src).for_each(|(d, &s)| *d = s as f32),
        }
    }
}

impl Native for f32 {
    fn load_values<'a>(v: Values<'a>, buf: &'a mut Vec<Self>) -> &'a [Self] {
        match v {
            Values::F32(v) => v,
            Values::F64(v) => Self::load(v, buf),
        }
    }
    fn store_grad(src: &[Self], dst: GradOut<'_>) {
        match dst {
            GradOut::F32(d) => d.copy_from_slice(src),
            GradOut::F64(d) => Self::store(src, d),
        }
    }
}

/// Where the requested coefficients of a pass go, in request order: the gradient, then `H·uᵢ`
/// for consecutive columns, then pair vectors (×2 on squares: the Taylor factor).
#[derive(Default)]
struct Dest<'a> {
    grad: Option<GradOut<'a>>,
    /// Column-major `P × k` buffer and the number of HVP columns this pass writes.
    hvps: Option<(&'a mut [f64], usize)>,
    /// Column-major buffer and the pairs `(i, j)` whose vectors this pass writes, in order.
    pairs: Option<(&'a mut [f64], &'a [Pair])>,
    outputs: Option<&'a mut Vec<f64>>,
}

/// A pass to run: algebra, point, directions, requested monomials, optional minibatch rows.
struct Spec<'a> {
    alg: &'a Algebra,
    w: Values<'a>,
    dirs: Dirs<'a>,
    want: &'a [usize],
    rows: Option<&'a [usize]>,
}

/// One caller's buffers: the engine workspace and the inputs in the compute type.
#[derive(Default)]
struct Scratch<T> {
    ws: Workspace<T>,
    w: Vec<T>,
    dirs: Vec<T>,
    xb: Vec<T>,
    yb: Vec<T>,
}

struct Net<T> {
    model: Model<T>,
    x: Vec<T>,
    y: Vec<T>,
    pool: Mutex<Vec<Scratch<T>>>,
}

impl<T: Native> Net<T> {
    /// Runs `f` with a scratch set from the pool (a new one when every set is in use).
    fn with_scratch<R>(&self, f: impl FnOnce(&mut Scratch<T>) -> R) -> R {
        let lock = || self.pool.lock().unwrap_or_else(|e| e.into_inner());
        let mut s = lock().pop().unwrap_or_default();
        let r = f(&mut s);
        lock().push(s);
        r
    }

    /// Runs one pass and writes its results into `dest`; returns the loss value.
    fn pass(&self, loss: Loss, spec: Spec<'_>, dest: Dest<'_>) -> f64 {
        self.with_scratch(|s| {
            let Scratch {
                ws,
                w: wbuf,
                dirs: dbuf,
                xb,
                yb,
            } = s;
            let w = T::load_values(spec.w, wbuf);
            let dirs: &[T] = match spec.dirs {
                Dirs::Flat(d) => T::load(d, dbuf),
                Dirs::Two(u, v) => {
                    dbuf.clear();
                    dbuf.extend(u.iter().chain(v).map(|&a| T::from_f64(a)));
                    dbuf
                }
            };
            let (d, k) = (self.model.in_width(), self.model.out_width());
            let batch = match spec.rows {
                None => Batch {
                    x: &self.x,
                    y: &self.y,
                    rows: self.x.len() / d,
                },
                Some(idx) => {
                    gather(&self.x, d, idx, xb);
                    gather(&self.y, k, idx, yb);
                    Batch {
                        x: xb,
                        y: yb,
                        rows: idx.len(),
                    }
                }
            };
            let model = &self.model;
            let splits = par::pass_splits(
                batch.rows,
                spec.alg.len(),
                model.widest_product(),
                model.widest(),
            );
            par::on_pool(splits, || {
                ws.pass(model, loss, spec.alg, w, dirs, batch, spec.want)
            });
            store(ws, dest);
            ws.value()
        })
    }

    /// Primal outputs on `x` (`rows × in_width`, converted once) and `f(outputs)`.
    fn with_outputs<R>(&self, w: &[f64], x: Option<&[f64]>, f: impl FnOnce(&[T], &[T]) -> R) -> R {
        self.with_scratch(|s| {
            let Scratch {
                ws, w: wbuf, xb, ..
            } = s;
            let w = T::load(w, wbuf);
            let x = match x {
                Some(x) => T::load(x, xb),
                None => &self.x,
            };
            let rows = x.len() / self.model.in_width();
            let alg = Algebra::primal();
            let input = JetRef::constant(x, rows, self.model.in_width());
            ws.forward(&self.model, &alg, w, &[], input);
            f(ws.outputs(), &self.y)
        })
    }
}

/// Writes the gradient coefficients of the last pass in `ws` into `dest` (request order).
fn store<T: Native>(ws: &Workspace<T>, dest: Dest<'_>) {
    let mut slot = 0;
    if let Some(g) = dest.grad {
        T::store_grad(ws.grad(slot), g);
        slot += 1;
    }
    if let Some((h, cols)) = dest.hvps {
        let p = ws.grad(slot).len();
        for c in 0..cols {
            T::store(ws.grad(slot), &mut h[c * p..(c + 1) * p]);
            slot += 1;
        }
    }
    if let Some((buf, pairs)) = dest.pairs {
        let p = ws.grad(slot).len();
        for (c, &(i, j)) in pairs.iter().enumerate() {
            let col = &mut buf[c * p..(c + 1) * p];
            T::store(ws.grad(slot), col);
            if i == j {
                // Taylor convention: the εᵢ² coefficient is ½∇(uᵢᵀHuᵢ).
                col.iter_mut().for_each(|v| *v *= 2.0);
            }
            slot += 1;
        }
    }
    if let Some(out) = dest.outputs {
        out.clear();
        out.extend(ws.outputs().iter().map(|v| v.as_f64()));
    }
}

/// `dst ← rows idx of src` (`width` values per row), reusing `dst`'s capacity.
fn gather<T: Float>(src: &[T], width: usize, idx: &[usize], dst: &mut Vec<T>) {
    dst.clear();
    for &i in idx {
        dst.extend_from_slice(&src[i * width..(i + 1) * width]);
    }
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
    algebras: Algebras,
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
                pool: Mutex::new(Vec::new()),
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
            algebras: Algebras::new(),
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

    /// Runs one pass (checking the lengths of the point and directions).
    fn pass(&self, spec: Spec<'_>, dest: Dest<'_>) -> f64 {
        assert_eq!(
            spec.w.len(),
            self.num_params,
            "parameter vector has the wrong length"
        );
        let dirs_len = match spec.dirs {
            Dirs::Flat(d) => d.len(),
            Dirs::Two(u, v) => {
                assert_eq!(u.len(), v.len(), "direction has the wrong length");
                u.len() + v.len()
            }
        };
        assert_eq!(
            dirs_len,
            spec.alg.directions() * self.num_params,
            "direction has the wrong length"
        );
        match &self.inner {
            Inner::F32(n) => n.pass(self.loss, spec, dest),
            Inner::F64(n) => n.pass(self.loss, spec, dest),
        }
    }

    /// Network outputs on the training inputs (`n × k`).
    pub fn outputs(&self, w: &[f64]) -> Vec<f64> {
        let mut out = Vec::new();
        let spec = Spec {
            alg: &self.algebras.primal,
            w: Values::F64(w),
            dirs: Dirs::Flat(&[]),
            want: &[],
            rows: None,
        };
        self.pass(
            spec,
            Dest {
                outputs: Some(&mut out),
                ..Dest::default()
            },
        );
        out
    }

    /// Fraction of training examples whose output argmax matches the target argmax.
    pub fn accuracy(&self, w: &[f64]) -> f64 {
        self.check_params(w);
        let k = self.k;
        match &self.inner {
            Inner::F32(n) => n.with_outputs(w, None, |f, y| accuracy(f, y, k)),
            Inner::F64(n) => n.with_outputs(w, None, |f, y| accuracy(f, y, k)),
        }
    }

    fn check_params(&self, w: &[f64]) {
        assert_eq!(
            w.len(),
            self.num_params,
            "parameter vector has the wrong length"
        );
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
        let (loss, k) = (self.loss, self.k);
        let score = |f: &[f64]| (loss.value(f, y, k), accuracy(f, y, k));
        Ok(match &self.inner {
            Inner::F32(n) => n.with_outputs(w, Some(x), |f, _| {
                score(&f.iter().map(|v| f64::from(*v)).collect::<Vec<_>>())
            }),
            Inner::F64(n) => n.with_outputs(w, Some(x), |f, _| score(f)),
        })
    }

    /// `H·U` for `kk ≤ MAX_BLOCK` columns `cols` of the flat column-major `us` into the same
    /// columns of `hvps`, plus the gradient into `grad` when given; returns the loss value.
    fn tangent_pass(
        &self,
        x: Values<'_>,
        us: &[f64],
        cols: std::ops::Range<usize>,
        hvps: &mut [f64],
        grad: Option<&mut [f64]>,
    ) -> f64 {
        let (p, kk) = (self.num_params, cols.len());
        let alg = &self.algebras.tangents[kk - 1];
        let mut want = [0usize; MAX_WANT];
        let first = usize::from(grad.is_some());
        for i in 0..kk {
            want[first + i] = alg.dir(i);
        }
        let spec = Spec {
            alg,
            w: x,
            dirs: Dirs::Flat(&us[cols.start * p..cols.end * p]),
            want: &want[..first + kk],
            rows: None,
        };
        let dest = Dest {
            grad: grad.map(GradOut::F64),
            hvps: Some((&mut hvps[cols.start * p..cols.end * p], kk)),
            ..Dest::default()
        };
        self.pass(spec, dest)
    }

    /// Loss and gradient at `x` on every example or on `rows` (checked), the gradient written
    /// in the caller's precision.
    fn value_grad_at(&self, x: Values<'_>, rows: Option<&[usize]>, grad: GradOut<'_>) -> f64 {
        if let Some(rows) = rows {
            assert!(
                rows.iter().all(|&i| i < self.n),
                "example index out of range"
            );
        }
        let spec = Spec {
            alg: &self.algebras.primal,
            w: x,
            dirs: Dirs::Flat(&[]),
            want: &[0],
            rows,
        };
        self.pass(
            spec,
            Dest {
                grad: Some(grad),
                ..Dest::default()
            },
        )
    }

    /// `H·[v₁ … v_k]` at `x` in either precision, `MAX_BLOCK` directions per pass.
    fn block_hvp_at(&self, x: Values<'_>, vs: &Block) -> Block {
        let mut out = Block::zeros(self.num_params, vs.ncols());
        let mut start = 0;
        while start < vs.ncols() {
            let end = (start + MAX_BLOCK).min(vs.ncols());
            self.tangent_pass(x, vs.as_slice(), start..end, out.as_mut_slice(), None);
            start = end;
        }
        out
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
        let spec = Spec {
            alg: &self.algebras.primal,
            w: Values::F64(x),
            dirs: Dirs::Flat(&[]),
            want: &[],
            rows: None,
        };
        self.pass(spec, Dest::default())
    }

    fn value_grad(&self, x: &[f64], grad: &mut [f64]) -> f64 {
        self.value_grad_at(Values::F64(x), None, GradOut::F64(grad))
    }

    fn single_precision(&self) -> bool {
        self.dtype == Dtype::F32
    }

    fn value_grad_f32(&self, x: &[f32], grad: &mut [f32]) -> f64 {
        self.value_grad_at(Values::F32(x), None, GradOut::F32(grad))
    }

    fn value_grad_subset_f32(&self, x: &[f32], indices: &[usize], grad: &mut [f32]) -> f64 {
        self.value_grad_at(Values::F32(x), Some(indices), GradOut::F32(grad))
    }

    fn block_hvp_f32(&self, x: &[f32], vs: &Block) -> Block {
        self.block_hvp_at(Values::F32(x), vs)
    }

    fn hvp(&self, x: &[f64], v: &[f64], out: &mut [f64]) {
        self.tangent_pass(Values::F64(x), v, 0..1, out, None);
    }

    fn block_hvp(&self, x: &[f64], vs: &Block) -> Block {
        self.block_hvp_at(Values::F64(x), vs)
    }

    fn third_order(&self, x: &[f64], u: &[f64], v: &[f64], out: &mut [f64]) {
        let alg = &self.algebras.hyper_dual;
        let m = alg.pair(0, 1).expect("hyper-dual has ε₀ε₁");
        let spec = Spec {
            alg,
            w: Values::F64(x),
            dirs: Dirs::Two(u, v),
            want: &[m],
            rows: None,
        };
        let dest = Dest {
            pairs: Some((out, alg.pairs())),
            ..Dest::default()
        };
        self.pass(spec, dest);
    }

    /// One jet pass when pairs are requested for `k ≤ 4` directions: the all-pairs algebra
    /// gives `∇L` (coefficient `1`), `H·uᵢ` (`εᵢ`) and `∇(uᵢᵀHuⱼ)` (`εᵢεⱼ`, ×2 on squares)
    /// together, and only the requested ones get parameter-gradient GEMMs. Without pairs, a
    /// tangent pass (`H·U` and the gradient, 8 directions per pass) or the plain gradient pass.
    /// For `k > 4`, pairs come from one hyper-dual pass each. Allocation-free in steady state
    /// when `out` is reused.
    fn derivatives(&self, x: &[f64], us: &Block, request: Request, out: &mut Derivatives) {
        let (p, k) = (self.num_params, us.ncols());
        assert_eq!(us.nrows(), p, "direction has the wrong length");
        let npairs = k * (k + 1) / 2;
        if request.value_grad {
            out.grad.resize(p, 0.0);
        }
        if request.hvps && out.hvps.shape() != (p, k) {
            out.hvps = Block::zeros(p, k);
        }
        if request.pairs && out.pairs.shape() != (p, npairs) {
            out.pairs = Block::zeros(p, npairs);
        }
        let (hvps, pairs) = (request.hvps && k > 0, request.pairs && k > 0);
        if pairs && k <= MAX_JOINT_PAIRS {
            let alg = &self.algebras.all_pairs[k - 1];
            let mut want = [0usize; MAX_WANT];
            let mut len = 0;
            let mut push = |m: usize| {
                want[len] = m;
                len += 1;
            };
            if request.value_grad {
                push(0);
            }
            if hvps {
                (0..k).for_each(|i| push(alg.dir(i)));
            }
            // all_pairs lists (i, j), i ≤ j, in exactly the order of `pair_index`.
            (0..npairs).for_each(|c| push(1 + k + c));
            let spec = Spec {
                alg,
                w: Values::F64(x),
                dirs: Dirs::Flat(us.as_slice()),
                want: &want[..len],
                rows: None,
            };
            let dest = Dest {
                grad: request
                    .value_grad
                    .then_some(GradOut::F64(out.grad.as_mut_slice())),
                hvps: hvps.then(|| (out.hvps.as_mut_slice(), k)),
                pairs: Some((out.pairs.as_mut_slice(), alg.pairs())),
                outputs: None,
            };
            let value = self.pass(spec, dest);
            if request.value_grad {
                out.value = value;
            }
            return;
        }
        if hvps {
            let mut start = 0;
            while start < k {
                let end = (start + MAX_BLOCK).min(k);
                let grad = (request.value_grad && start == 0).then_some(out.grad.as_mut_slice());
                let value = self.tangent_pass(
                    Values::F64(x),
                    us.as_slice(),
                    start..end,
                    out.hvps.as_mut_slice(),
                    grad,
                );
                if request.value_grad && start == 0 {
                    out.value = value;
                }
                start = end;
            }
        } else if request.value_grad {
            out.value = self.value_grad(x, &mut out.grad);
        }
        if pairs {
            let us = us.as_slice();
            for i in 0..k {
                for j in i..k {
                    let c = pair_index(i, j, k);
                    self.third_order(
                        x,
                        &us[i * p..(i + 1) * p],
                        &us[j * p..(j + 1) * p],
                        &mut out.pairs.as_mut_slice()[c * p..(c + 1) * p],
                    );
                }
            }
        }
    }

    fn num_examples(&self) -> Option<usize> {
        Some(self.n)
    }

    fn value_grad_subset(&self, x: &[f64], indices: &[usize], grad: &mut [f64]) -> f64 {
        self.value_grad_at(Values::F64(x), Some(indices), GradOut::F64(grad))
    }

    fn value_subset(&self, x: &[f64], indices: &[usize]) -> f64 {
        assert!(
            indices.iter().all(|&i| i < self.n),
            "example index out of range"
        );
        let spec = Spec {
            alg: &self.algebras.primal,
            w: Values::F64(x),
            dirs: Dirs::Flat(&[]),
            want: &[],
            rows: Some(indices),
        };
        self.pass(spec, Dest::default())
    }

    fn hvp_subset(&self, x: &[f64], indices: &[usize], v: &[f64], out: &mut [f64]) {
        assert!(
            indices.iter().all(|&i| i < self.n),
            "example index out of range"
        );
        let alg = &self.algebras.tangents[0];
        let spec = Spec {
            alg,
            w: Values::F64(x),
            dirs: Dirs::Flat(v),
            want: &[alg.dir(0)],
            rows: Some(indices),
        };
        let dest = Dest {
            hvps: Some((out, 1)),
            ..Dest::default()
        };
        self.pass(spec, dest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn objective(dtype: Dtype) -> NetworkObjective {
        let (n, d, k) = (5, 3, 2);
        let x: Vec<f64> = (0..n * d).map(|i| (i as f64 * 0.7).sin()).collect();
        let y: Vec<f64> = (0..n * k).map(|i| (i as f64 * 1.3).cos()).collect();
        NetworkObjective::new("mlp:3-4-2:tanh", &x, &y, n, Loss::Mse, dtype).unwrap()
    }

    /// The f32 entry points of an f32 network read the point as it is: the same pass as the
    /// f64 entry points at the widened point, so the same bits.
    #[test]
    fn f32_entry_points_are_the_f64_ones_without_conversion() {
        assert!(!objective(Dtype::F64).single_precision());
        let obj = objective(Dtype::F32);
        assert!(obj.single_precision());
        let w32: Vec<f32> = obj.init(Init::LeCun, 3).iter().map(|&v| v as f32).collect();
        let w: Vec<f64> = w32.iter().map(|&v| f64::from(v)).collect();
        let wide = |g: &[f32]| g.iter().map(|&v| f64::from(v)).collect::<Vec<_>>();
        let (mut g, mut g32) = (vec![0.0; w.len()], vec![0.0f32; w.len()]);
        let f = obj.value_grad(&w, &mut g);
        assert_eq!(obj.value_grad_f32(&w32, &mut g32).to_bits(), f.to_bits());
        assert_eq!(wide(&g32), g);
        let rows = [4, 1];
        let f = obj.value_grad_subset(&w, &rows, &mut g);
        let f32_value = obj.value_grad_subset_f32(&w32, &rows, &mut g32);
        assert_eq!(f32_value.to_bits(), f.to_bits());
        assert_eq!(wide(&g32), g);
        let vs = Block::from_fn(w.len(), 3, |i, j| ((i * 3 + j) as f64 * 0.11).sin());
        assert_eq!(obj.block_hvp_f32(&w32, &vs), obj.block_hvp(&w, &vs));
    }
}

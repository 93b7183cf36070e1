//! One jet pass: forward through the model in an algebra, the loss cotangent, then the
//! reverse pass, returning only the requested coefficients of `∇L(w + Σ εᵢuᵢ)`.
//!
//! Work is pruned to what the result needs: parameter-gradient GEMMs run only for requested
//! monomials and the first layer's input cotangent is never formed.
//!
//! Every buffer of a pass — each layer's output jet, the two cotangent jets, the gradient
//! coefficients — lives in a [`Workspace`] that the caller keeps between passes, so a pass
//! of the same shapes as an earlier one allocates nothing (docs/engine.md §"Workspaces").

use crate::algebra::Algebra;
use crate::float::Float;
use crate::jet::{Jet, JetRef};
use crate::layer::{ParamGrads, ParamJet};
use crate::loss::Loss;
use crate::model::Model;

/// The network input and targets of one pass (row-major, `rows` examples).
#[derive(Clone, Copy)]
pub struct Batch<'a, T> {
    /// Inputs, `rows × in_width`.
    pub x: &'a [T],
    /// Targets, `rows × out_width`.
    pub y: &'a [T],
    /// Number of examples.
    pub rows: usize,
}

/// Reusable buffers of jet passes through one model. Buffers grow to the largest pass seen
/// and are then reused; results of the last pass stay readable until the next one.
#[derive(Default)]
pub struct Workspace<T> {
    /// Output jet of every layer (`outs[l]` is layer `l`'s).
    outs: Vec<Jet<T>>,
    /// Cotangent of the current layer's output, and of its input.
    gy: Jet<T>,
    gx: Jet<T>,
    /// Requested gradient coefficients, `want.len()` buffers of length `P` back to back.
    grads: Vec<T>,
    /// Parameter count of the last pass.
    params: usize,
    /// Loss value of the last pass.
    value: f64,
}

impl<T: Float> Workspace<T> {
    /// An empty workspace (buffers are allocated by the first pass).
    pub fn new() -> Self {
        Self::default()
    }

    /// Loss value of the last [`pass`](Self::pass) or [`forward`](Self::forward) with targets.
    pub fn value(&self) -> f64 {
        self.value
    }

    /// Gradient coefficient `s` (the `s`-th requested monomial) of the last pass, length `P`.
    pub fn grad(&self, s: usize) -> &[T] {
        &self.grads[s * self.params..(s + 1) * self.params]
    }

    /// Primal network outputs of the last pass, `rows × out_width`.
    pub fn outputs(&self) -> &[T] {
        self.outs.last().map_or(&[], |o| o.coeff(0))
    }

    /// Forward pass in `alg` with parameters `w + Σ εᵢ dirs[i]` (`dirs`: the directions back to
    /// back, `alg.directions() · P` values); every layer's output jet stays in the workspace.
    pub fn forward(
        &mut self,
        model: &Model<T>,
        alg: &Algebra,
        w: &[T],
        dirs: &[T],
        x: JetRef<'_, T>,
    ) {
        assert_eq!(
            dirs.len(),
            alg.directions() * w.len(),
            "one direction per ε symbol"
        );
        let layers = model.layers();
        self.outs.resize_with(layers.len(), Jet::default);
        let params = ParamJet::new(w, dirs);
        for (l, layer) in layers.iter().enumerate() {
            let (done, rest) = self.outs.split_at_mut(l);
            let input = if l == 0 { x } else { done[l - 1].view() };
            let y = &mut rest[0];
            y.reset(alg.len(), x.rows, layer.out_width());
            layer.forward(alg, &params.sub(model.param_range(l)), input, y);
        }
    }

    /// Loss value, primal outputs and the requested gradient coefficients (monomial indices of
    /// `alg`, e.g. `alg.dir(i)` for `H·uᵢ`) in one forward and one reverse pass; read them with
    /// [`value`](Self::value), [`outputs`](Self::outputs) and [`grad`](Self::grad).
    #[allow(clippy::too_many_arguments)]
    pub fn pass(
        &mut self,
        model: &Model<T>,
        loss: Loss,
        alg: &Algebra,
        w: &[T],
        dirs: &[T],
        batch: Batch<'_, T>,
        want: &[usize],
    ) {
        let k = model.out_width();
        let x = JetRef::constant(batch.x, batch.rows, model.in_width());
        self.forward(model, alg, w, dirs, x);
        let last = self.outs.last().expect("a model has at least one layer");
        self.value = loss.value(last.coeff(0), batch.y, k);
        self.params = model.num_params();
        self.grads.resize(want.len() * self.params, T::zero());
        if want.is_empty() {
            return;
        }
        loss.cotangent(alg, last, batch.y, &mut self.gy);
        let params = ParamJet::new(w, dirs);
        let mut grads = ParamGrads::new(want, &mut self.grads);
        for l in (0..model.layers().len()).rev() {
            let layer = &model.layers()[l];
            let input = if l == 0 { x } else { self.outs[l - 1].view() };
            let range = model.param_range(l);
            let p = params.sub(range.clone());
            let mut slots = grads.sub(range);
            if l == 0 {
                layer.backward(alg, &p, input, &self.outs[l], &self.gy, None, &mut slots);
            } else {
                self.gx.reset(alg.len(), batch.rows, layer.in_width());
                layer.backward(
                    alg,
                    &p,
                    input,
                    &self.outs[l],
                    &self.gy,
                    Some(&mut self.gx),
                    &mut slots,
                );
                std::mem::swap(&mut self.gy, &mut self.gx);
            }
        }
    }
}

/// Result of [`jet_pass`].
pub struct PassOutput<T> {
    /// Loss at `w` (the primal value), accumulated in `f64`.
    pub value: f64,
    /// Primal network outputs `rows × out_width`.
    pub outputs: Vec<T>,
    /// One gradient coefficient (length `P`) per requested monomial, in request order.
    pub grads: Vec<Vec<T>>,
}

/// [`Workspace::pass`] in a fresh workspace, with the directions as separate slices and the
/// results copied out: convenient for tests and one-off calls; repeated callers keep a
/// [`Workspace`].
pub fn jet_pass<T: Float>(
    model: &Model<T>,
    loss: Loss,
    alg: &Algebra,
    w: &[T],
    dirs: &[&[T]],
    batch: Batch<'_, T>,
    want: &[usize],
) -> PassOutput<T> {
    let flat: Vec<T> = dirs.iter().flat_map(|d| d.iter().copied()).collect();
    let mut ws = Workspace::new();
    ws.pass(model, loss, alg, w, &flat, batch, want);
    PassOutput {
        value: ws.value(),
        outputs: ws.outputs().to_vec(),
        grads: (0..want.len()).map(|s| ws.grad(s).to_vec()).collect(),
    }
}

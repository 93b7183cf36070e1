//! One jet pass: forward through the model in an algebra, the loss cotangent, then the
//! reverse pass, returning only the requested coefficients of `∇L(w + Σ εᵢuᵢ)`.
//!
//! Work is pruned to what the result needs: parameter-gradient GEMMs run only for requested
//! monomials, the first layer's input cotangent is never formed, and each layer's saved
//! output is dropped as soon as the reverse pass has passed it.

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

/// Result of [`jet_pass`].
pub struct PassOutput<T> {
    /// Loss at `w` (the primal value), accumulated in `f64`.
    pub value: f64,
    /// Primal network outputs `rows × out_width`.
    pub outputs: Vec<T>,
    /// One gradient coefficient (length `P`) per requested monomial, in request order.
    pub grads: Vec<Vec<T>>,
}

/// Runs the forward pass in `alg` with parameters `w + Σ εᵢ dirs[i]` and returns the outputs of
/// every layer (`outs[l]` is layer `l`'s output jet).
pub fn forward<T: Float>(
    model: &Model<T>,
    alg: &Algebra,
    w: &[T],
    dirs: &[&[T]],
    x: JetRef<'_, T>,
) -> Vec<Jet<T>> {
    assert_eq!(dirs.len(), alg.directions(), "one direction per ε symbol");
    let mut outs: Vec<Jet<T>> = Vec::with_capacity(model.layers().len());
    for (l, layer) in model.layers().iter().enumerate() {
        let p = param_jet(model, l, w, dirs);
        let input = if l == 0 { x } else { outs[l - 1].view() };
        let y = layer.forward(alg, &p, input);
        outs.push(y);
    }
    outs
}

fn param_jet<'a, T: Float>(
    model: &Model<T>,
    l: usize,
    w: &'a [T],
    dirs: &[&'a [T]],
) -> ParamJet<'a, T> {
    let r = model.param_range(l);
    ParamJet {
        primal: &w[r.clone()],
        dirs: dirs.iter().map(|d| &d[r.clone()]).collect(),
    }
}

/// Loss value, primal outputs and the requested gradient coefficients (monomial indices of
/// `alg`, e.g. `alg.dir(i)` for `H·uᵢ`) in one forward and one reverse pass.
pub fn jet_pass<T: Float>(
    model: &Model<T>,
    loss: Loss,
    alg: &Algebra,
    w: &[T],
    dirs: &[&[T]],
    batch: Batch<'_, T>,
    want: &[usize],
) -> PassOutput<T> {
    let k = model.out_width();
    let x = JetRef::constant(batch.x, batch.rows, model.in_width());
    let mut outs = forward(model, alg, w, dirs, x);
    let last = outs.last().expect("a model has at least one layer");
    let value = loss.value(last.coeff(0), batch.y, k);
    let outputs = last.coeff(0).to_vec();
    let mut grads: Vec<Vec<T>> = want
        .iter()
        .map(|_| vec![T::zero(); model.num_params()])
        .collect();
    if want.is_empty() {
        return PassOutput {
            value,
            outputs,
            grads,
        };
    }
    let mut gy = loss.cotangent(alg, last, batch.y);
    for l in (0..model.layers().len()).rev() {
        let layer = &model.layers()[l];
        let p = param_jet(model, l, w, dirs);
        let y = outs.pop().expect("one saved output per layer");
        let input = if l == 0 { x } else { outs[l - 1].view() };
        let range = model.param_range(l);
        let mut slots = ParamGrads {
            slots: want
                .iter()
                .copied()
                .zip(grads.iter_mut().map(|g| &mut g[range.clone()]))
                .collect(),
        };
        if l == 0 {
            layer.backward(alg, &p, input, &y, &gy, None, &mut slots);
        } else {
            let mut gx = Jet::zeros(alg.len(), batch.rows, layer.in_width());
            layer.backward(alg, &p, input, &y, &gy, Some(&mut gx), &mut slots);
            gy = gx;
        }
    }
    PassOutput {
        value,
        outputs,
        grads,
    }
}

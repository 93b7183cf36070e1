//! Mean-square stability of SGD's linearization (EoSS's "second-moment contraction"): the
//! step `δ ← (I − ηH_B)δ` contracts in mean square iff
//!
//! `mean_square = λmax(E_B[(I − ηH_B)²]) = 1 + λmax(M)`, `M = −2ηH + η²E_B[H_B²]`,
//!
//! is below 1 (full batch: `max_i (1 − ηλ_i)²`, so the edge is `λmax = 2/η`). Two stages:
//!
//! 1. **Pilot direction.** `v` = the top eigenvector of `M̂ = −2ηH + η²(1/K)Σ_k H_{B_k}²`
//!    over `K = mean_square_pilot_batches` random batches (block LOBPCG, largest algebraic,
//!    warm-started from the previous measurement's `v`, which checkpoints keep);
//!    `mean_square_pilot = 1 + λmax(M̂)`.
//! 2. **Monte Carlo along `v`**, over fresh batches independent of the pilot's:
//!    `mean_square = 1 + vᵀE_B[M_B]v` with samples `1 − 2η vᵀHv + η²‖H_Bv‖²` (one minibatch
//!    HVP each; `vᵀHv` once). This is unbiased for the Rayleigh quotient at `v`, a lower bound
//!    of `λmax(E_B[(I − ηH_B)²])` that is tight when `v` is its top eigenvector, with a Student-t
//!    interval (the pilot's own `λmax(M̂)` is biased upwards by the sampling of `M̂`).

use gdscope_core::linalg::dot;
use gdscope_core::seeds::{derive, Stream};
use gdscope_core::{Block, Objective};
use gdscope_curvature::{top_eigenpairs, EigOptions, LinearOperator};

use super::{hvp_on, Draws, EstimateColumns, Sampling, Source};
use crate::montecarlo::{Estimate, Mean, MonteCarlo};
use crate::observers::{Columns, Memory, Observation, Observer};

/// Relative residual of the pilot eigenvector (the Rayleigh quotient's error is quadratic
/// in the vector's).
const PILOT_TOL: f64 = 1e-4;
/// Iteration cap of the pilot solve.
const PILOT_ITERS: usize = 200;

/// `M̂ = −2ηH + η²(1/K)Σ_k H_{B_k}²` at `w`; batches `None` mean the whole set.
struct Pilot<'a> {
    obj: &'a dyn Objective,
    w: &'a [f64],
    lr: f64,
    batches: &'a [Option<Vec<usize>>],
}

impl LinearOperator for Pilot<'_> {
    fn dim(&self) -> usize {
        self.w.len()
    }

    fn apply(&self, v: &Block) -> Block {
        let (n, eta, k) = (self.w.len(), self.lr, self.batches.len() as f64);
        let mut out = self.obj.block_hvp(self.w, v) * (-2.0 * eta);
        let (mut hv, mut hhv) = (vec![0.0; n], vec![0.0; n]);
        for j in 0..v.ncols() {
            let col = v.column(j);
            for b in self.batches {
                hvp_on(self.obj, self.w, b.as_deref(), col.as_slice(), &mut hv);
                hvp_on(self.obj, self.w, b.as_deref(), &hv, &mut hhv);
                for (o, x) in out.column_mut(j).iter_mut().zip(&hhv) {
                    *o += eta * eta * x / k;
                }
            }
        }
        out
    }
}

/// The two results of [`estimate`].
#[derive(Debug, Clone, PartialEq)]
pub struct MeanSquareEstimate {
    /// `1 + vᵀE_B[M_B]v` (Monte Carlo; exact for full batch).
    pub value: Estimate,
    /// `1 + λmax(M̂)` of the pilot.
    pub pilot: f64,
    /// The pilot direction `v` (unit norm).
    pub direction: Vec<f64>,
}

/// Estimates the mean-square stability at `w` for learning rate `lr` (module docs);
/// `draws` must be started; `warm` is the previous pilot direction, `seed` seeds the
/// eigen-solver's random start.
#[allow(clippy::too_many_arguments)]
pub fn estimate(
    obj: &dyn Objective,
    w: &[f64],
    lr: f64,
    pilot_batches: usize,
    draws: &mut Draws,
    mc: &MonteCarlo,
    warm: Option<&[f64]>,
    seed: u64,
) -> anyhow::Result<MeanSquareEstimate> {
    let n = w.len();
    let k = if draws.is_exact() { 1 } else { pilot_batches };
    let batches: Vec<Option<Vec<usize>>> = (0..k)
        .map(|_| draws.next_batch().map(<[usize]>::to_vec))
        .collect();
    let op = Pilot {
        obj,
        w,
        lr,
        batches: &batches,
    };
    let warm = warm
        .filter(|v| v.len() == n)
        .map(|v| Block::from_column_slice(n, 1, v));
    let opts = EigOptions {
        k: 1,
        tol: PILOT_TOL,
        max_iters: PILOT_ITERS,
        seed,
    };
    let r = top_eigenpairs(&op, warm.as_ref(), &opts)?;
    let v: Vec<f64> = r.vectors.column(0).iter().copied().collect();
    let pilot = 1.0 + r.values[0];
    let mut hv = vec![0.0; n];
    obj.hvp(w, &v, &mut hv);
    let base = 1.0 - 2.0 * lr * dot(&v, &hv);
    let value = if draws.is_exact() {
        Estimate::exact(base + lr * lr * dot(&hv, &hv))
    } else {
        let mut mean = Mean::default();
        loop {
            let batch = draws.next_batch();
            hvp_on(obj, w, batch, &v, &mut hv);
            mean.push(base + lr * lr * dot(&hv, &hv));
            let e = mean.estimate();
            if mc.done(e.samples, &[mean.rel_se()]) {
                break e;
            }
        }
    };
    Ok(MeanSquareEstimate {
        value,
        pilot,
        direction: v,
    })
}

pub(crate) struct MeanSquare {
    sampling: Sampling,
    pilot_batches: usize,
    columns: EstimateColumns,
    pilot: usize,
    /// The previous pilot direction (checkpointed).
    direction: Option<Vec<f64>>,
}

impl MeanSquare {
    pub(crate) fn new(source: Source, pilot_batches: usize, cols: &mut Columns<'_>) -> Self {
        Self {
            columns: EstimateColumns::new(cols, "mean_square"),
            sampling: Sampling::new(source, cols, "mean_square"),
            pilot: cols.add("mean_square_pilot"),
            pilot_batches,
            direction: None,
        }
    }
}

impl Observer for MeanSquare {
    fn observe(&mut self, o: &mut Observation<'_, '_>) -> anyhow::Result<()> {
        let (direction, columns) = (&mut self.direction, &self.columns);
        let (pilot, pilot_batches) = (self.pilot, self.pilot_batches);
        self.sampling.observe(o, |m| {
            let (p, ctx) = (&*m.process, m.ctx);
            let seed = derive(
                derive(ctx.seed, Stream::CurvatureBatches, ctx.step),
                Stream::EigenStart,
                0,
            );
            let lr = ctx.rule.lr_at(p.state().t);
            let obj = ctx.problem.objective;
            let warm = direction.as_deref();
            let e = estimate(obj, p.point(), lr, pilot_batches, m.draws, m.mc, warm, seed)?;
            columns.write(m.record, &e.value);
            m.record.set(pilot, e.pilot);
            *direction = Some(e.direction);
            Ok(e.value.samples)
        })
    }

    fn memory(&mut self) -> Option<&mut dyn Memory> {
        Some(&mut self.direction)
    }
}

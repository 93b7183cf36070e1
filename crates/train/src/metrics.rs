//! Per-step metrics of a training run: one [`Row`] per optimizer step, `NaN` where a
//! quantity was not measured at that step (docs/training.md, "Metrics").

use serde::{Deserialize, Serialize};

/// Everything recorded at step `t` (the weights `w_t` before the `t`-th update, except the
/// update cosine, which compares the update `Δw_t = w_{t+1} − w_t` with `Δw_{t−1}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Step index `t` (0-based; equals flow time in step units).
    pub step: u64,
    /// Learning rate used for this step (after the schedule).
    pub lr: f64,
    /// Loss at `w_t` on the examples used for this step (the minibatch under SGD).
    pub loss: f64,
    /// `‖∇L(w_t)‖` on the same examples.
    pub grad_norm: f64,
    /// `cos⟨Δw_t, Δw_{t−1}⟩` (paper eq. 32).
    pub update_cosine: f64,
    /// `⟨w_t − w_{t0}, u_{t0}⟩` (oscillation plot).
    pub projection: f64,
    /// Stability threshold of the optimizer at this step's learning rate.
    pub threshold: f64,
    /// Top eigenvalues (descending) of the tracked Hessian (preconditioned for adaptive
    /// optimizers when so configured); empty when not measured.
    pub eigenvalues: Vec<f64>,
    /// Largest residual norm `‖H v − λ v‖` of the tracked eigenpairs.
    pub eig_residual: f64,
    /// Hessian-vector products spent by this measurement.
    pub eig_hvps: f64,
    /// Solver iterations of this measurement.
    pub eig_iterations: f64,
    /// Hutchinson trace estimate and its standard error.
    pub trace: f64,
    /// Standard error of [`trace`](Self::trace).
    pub trace_se: f64,
    /// Full-batch training loss (differs from `loss` only under SGD).
    pub train_loss: f64,
    /// Training accuracy in [0, 1].
    pub train_accuracy: f64,
    /// Test loss.
    pub test_loss: f64,
    /// Test accuracy in [0, 1].
    pub test_accuracy: f64,
    /// `‖w_t − w_flow(t)‖` to the gradient-flow baseline.
    pub flow_distance: f64,
    /// Training loss along the gradient flow, `L(w_flow(t))`.
    pub flow_loss: f64,
}

impl Row {
    /// A row for step `t` with every optional quantity unmeasured (`NaN`).
    pub fn new(step: u64, lr: f64, threshold: f64) -> Self {
        let nan = f64::NAN;
        Self {
            step,
            lr,
            loss: nan,
            grad_norm: nan,
            update_cosine: nan,
            projection: nan,
            threshold,
            eigenvalues: Vec::new(),
            eig_residual: nan,
            eig_hvps: nan,
            eig_iterations: nan,
            trace: nan,
            trace_se: nan,
            train_loss: nan,
            train_accuracy: nan,
            test_loss: nan,
            test_accuracy: nan,
            flow_distance: nan,
            flow_loss: nan,
        }
    }

    /// The sharpness (largest tracked eigenvalue), `NaN` when not measured.
    pub fn sharpness(&self) -> f64 {
        self.eigenvalues.first().copied().unwrap_or(f64::NAN)
    }
}

/// The rows of a run so far, as column vectors ready for a table.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// One row per executed step, in order.
    pub rows: Vec<Row>,
}

impl Metrics {
    /// Largest number of eigenvalues measured at any step (number of `eig_i` columns).
    pub fn max_k(&self) -> usize {
        self.rows
            .iter()
            .map(|r| r.eigenvalues.len())
            .max()
            .unwrap_or(0)
    }

    /// Named `f64` columns in a fixed order: `step` first (as a float-free integer column in
    /// the table writer), then the scalar fields, `sharpness`, and `eig_1 … eig_K`.
    pub fn float_columns(&self) -> Vec<(String, Vec<f64>)> {
        let col =
            |name: &str, f: fn(&Row) -> f64| (name.to_string(), self.rows.iter().map(f).collect());
        let mut cols = vec![
            col("loss", |r| r.loss),
            col("sharpness", Row::sharpness),
            col("threshold", |r| r.threshold),
            col("lr", |r| r.lr),
            col("grad_norm", |r| r.grad_norm),
            col("update_cosine", |r| r.update_cosine),
            col("projection", |r| r.projection),
            col("eig_residual", |r| r.eig_residual),
            col("eig_hvps", |r| r.eig_hvps),
            col("eig_iterations", |r| r.eig_iterations),
            col("trace", |r| r.trace),
            col("trace_se", |r| r.trace_se),
            col("train_loss", |r| r.train_loss),
            col("train_accuracy", |r| r.train_accuracy),
            col("test_loss", |r| r.test_loss),
            col("test_accuracy", |r| r.test_accuracy),
            col("flow_distance", |r| r.flow_distance),
            col("flow_loss", |r| r.flow_loss),
        ];
        for i in 0..self.max_k() {
            let values = self
                .rows
                .iter()
                .map(|r| r.eigenvalues.get(i).copied().unwrap_or(f64::NAN))
                .collect();
            cols.push((format!("eig_{}", i + 1), values));
        }
        cols
    }

    /// The step column.
    pub fn steps(&self) -> Vec<i64> {
        self.rows
            .iter()
            .map(|r| i64::try_from(r.step).unwrap_or(i64::MAX))
            .collect()
    }
}

//! The training loop: one [`Trainer::step`] per optimizer step, with every measurement of
//! docs/training.md, and a [`TrainState`] that holds everything needed to resume the run
//! bit for bit.
//!
//! Order of work at step `t` (weights `w_t`):
//! 1. learning rate `η_t` from the schedule and the optimizer's threshold at `η_t`;
//! 2. every `tracking.every` steps: top-k eigenpairs of `H(w_t)` (or `P^{-1/2}HP^{-1/2}`),
//!    warm-started from the cached eigenvectors; the projection reference `t0` may be set;
//! 3. every `tracking.trace_every` steps: Hutchinson trace; every `tracking.eval_every`
//!    steps: full-batch train loss/accuracy and test metrics; flow distance and flow loss;
//! 4. loss and gradient (full batch, or the next minibatch); stopping rules;
//! 5. the optimizer update `Δw_t`, its cosine with `Δw_{t−1}`, and the flow advanced to `t+1`.

use gdscope_core::linalg::norm;
use gdscope_core::optimizer::{OptimizerState, Rule};
use gdscope_core::rules::Preconditioning;
use gdscope_core::Objective;
use serde::{Deserialize, Serialize};

use crate::config::TrainConfig;
use crate::diagnostics::{Projection, UpdateCosine};
use crate::flow::GradientFlow;
use crate::metrics::{Metrics, Row};
use crate::sampler::MinibatchSampler;
use crate::summary::Timings;
use crate::tracking::{trace_estimate, CurvatureTracker};

/// Fraction of the stability threshold at which the sharpness counts as "at the edge".
pub const CROSSING_FRACTION: f64 = 0.95;

/// Metrics that need more than the training objective (accuracy, a test set).
pub trait Evaluator: Send + Sync {
    /// Evaluates the weights `w` on the full training set and, when there is one, the test set.
    fn evaluate(&self, w: &[f64]) -> Evaluation;
}

/// Result of [`Evaluator::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Full-batch training loss.
    pub train_loss: f64,
    /// Training accuracy in [0, 1], for classification.
    pub train_accuracy: Option<f64>,
    /// Test loss.
    pub test_loss: Option<f64>,
    /// Test accuracy in [0, 1].
    pub test_accuracy: Option<f64>,
}

/// What the loop trains: the training objective (full-batch loss; minibatches through
/// [`Objective::value_grad_subset`]) and an optional evaluator.
#[derive(Clone, Copy)]
pub struct Problem<'a> {
    /// Training loss `L(w)`.
    pub objective: &'a dyn Objective,
    /// Accuracy and test metrics.
    pub evaluator: Option<&'a dyn Evaluator>,
}

/// How a run ended (or that it has not yet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Steps remain.
    Running,
    /// All configured steps were taken.
    Completed,
    /// `stop.loss_below` reached.
    LossGoal,
    /// `stop.accuracy_above` reached.
    AccuracyGoal,
    /// Non-finite values or a loss blow-up; the reason says which.
    Diverged {
        /// What was observed.
        reason: String,
    },
}

impl Status {
    /// `true` unless [`Status::Running`].
    pub fn is_finished(&self) -> bool {
        *self != Status::Running
    }
}

/// Everything a run carries between steps; serialized into checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// The next step to execute.
    pub step: u64,
    /// Current weights `w_step`.
    pub weights: Vec<f64>,
    /// Optimizer buffers.
    pub optimizer: OptimizerState,
    /// Minibatch sampler (absent for full-batch training).
    pub sampler: Option<MinibatchSampler>,
    /// Previous update, for the update cosine.
    pub cosine: UpdateCosine,
    /// Reference of the oscillation projection, once set.
    pub projection: Option<Projection>,
    /// Eigen-solver state (eigenvector cache, current k).
    pub tracker: Option<CurvatureTracker>,
    /// Gradient-flow baseline.
    pub flow: Option<GradientFlow>,
    /// Loss at step 0 (reference of the divergence rule).
    pub initial_loss: Option<f64>,
    /// Rows recorded so far.
    pub metrics: Metrics,
    /// Whether the run is finished, and how.
    pub status: Status,
}

/// A training run in memory: configuration, state and the live optimizer.
pub struct Trainer {
    config: TrainConfig,
    state: TrainState,
    rule: Rule,
    timings: Timings,
}

impl Trainer {
    /// A fresh run from weights `w0`. `num_examples` is needed for minibatch training.
    pub fn new(
        config: TrainConfig,
        w0: Vec<f64>,
        num_examples: Option<usize>,
    ) -> anyhow::Result<Self> {
        config.validate()?;
        let sampler = match (config.batch_size, num_examples) {
            (0, _) => None,
            (b, Some(n)) => Some(MinibatchSampler::new(n, b, config.seed ^ 0x5EED_BA7C)?),
            (_, None) => anyhow::bail!(
                "batch_size = {} needs an objective made of examples (a network); use batch_size = 0",
                config.batch_size
            ),
        };
        let t = &config.tracking;
        let tracker = if t.every > 0 {
            Some(CurvatureTracker::new(t, config.seed)?)
        } else {
            None
        };
        let flow = if t.flow {
            Some(GradientFlow::new(&w0, t.flow_rate, config.seed ^ 0xF10)?)
        } else {
            None
        };
        let state = TrainState {
            step: 0,
            optimizer: OptimizerState::zeros(config.optimizer.rule(), w0.len()),
            weights: w0,
            sampler,
            cosine: UpdateCosine::default(),
            projection: None,
            tracker,
            flow,
            initial_loss: None,
            metrics: Metrics::default(),
            status: Status::Running,
        };
        Self::resume(config, state)
    }

    /// Continues a run from a saved state. The optimizer buffers must fit the configuration.
    pub fn resume(config: TrainConfig, mut state: TrainState) -> anyhow::Result<Self> {
        config.validate()?;
        if state.status == Status::Completed && state.step < config.steps {
            state.status = Status::Running;
        }
        let rule = Rule::new(config.optimizer.clone(), config.schedule, config.steps)?;
        rule.check_state(&state.optimizer, state.weights.len())
            .map_err(|e| anyhow::anyhow!("cannot restore the optimizer: {e}"))?;
        let mut trainer = Self {
            config,
            state,
            rule,
            timings: Timings::default(),
        };
        if trainer.state.step >= trainer.config.steps && !trainer.state.status.is_finished() {
            trainer.state.status = Status::Completed;
        }
        Ok(trainer)
    }

    /// The configuration.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// The state (with the optimizer buffers up to date).
    pub fn state(&self) -> &TrainState {
        &self.state
    }

    /// Time spent in eigen-solves and the flow baseline by this process (`wall_s` unset).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// Consumes the trainer, returning its state.
    pub fn into_state(self) -> TrainState {
        self.state
    }

    /// Learning rate at step `t`.
    pub fn lr_at(&self, t: u64) -> f64 {
        self.rule.lr_at(t as f64)
    }

    /// Executes one step (see the module docs) and returns its row.
    /// Does nothing and returns `None` when the run is finished.
    pub fn step(&mut self, problem: Problem<'_>) -> anyhow::Result<Option<&Row>> {
        if self.state.status.is_finished() {
            return Ok(None);
        }
        let obj = problem.objective;
        anyhow::ensure!(
            obj.dim() == self.state.weights.len(),
            "the model has {} parameters but the run's weights have {}; resume with the same model",
            obj.dim(),
            self.state.weights.len()
        );
        let t = self.state.step;
        let lr = self.lr_at(t);
        let threshold = self.rule.threshold_at(t as f64);
        let mut row = Row::new(t, lr, threshold);
        self.measure(problem, t, threshold, &mut row)?;

        // Loss and gradient on this step's examples.
        let mut grad = vec![0.0; self.state.weights.len()];
        row.loss = match &mut self.state.sampler {
            None => obj.value_grad(&self.state.weights, &mut grad),
            Some(s) => obj.value_grad_subset(&self.state.weights, &s.next_batch(), &mut grad),
        };
        row.grad_norm = norm(&grad);
        if self.config.batch_size == 0
            && row.train_loss.is_nan()
            && due(self.config.tracking.eval_every, t)
        {
            row.train_loss = row.loss;
        }
        if let Some(p) = &self.state.projection {
            row.projection = p.value(&self.state.weights);
        }
        let initial = *self.state.initial_loss.get_or_insert(row.loss);
        if let Some(status) = self.stop_before_update(&row, initial) {
            return Ok(Some(self.finish_step(row, status)));
        }

        // Update, cosine, flow.
        let w = &mut self.state.weights;
        let mut update = vec![0.0; w.len()];
        self.rule
            .step(&mut self.state.optimizer, &grad, w, &mut update)
            .map_err(|e| anyhow::anyhow!("optimizer step {t}: {e}"))?;
        row.update_cosine = self.state.cosine.observe(&update).unwrap_or(f64::NAN);
        if let Some(flow) = &mut self.state.flow {
            let clock = std::time::Instant::now();
            flow.advance(obj, lr);
            self.timings.flow_s += clock.elapsed().as_secs_f64();
        }
        self.state.step += 1;
        let status = if !w.iter().all(|x| x.is_finite()) {
            Status::Diverged {
                reason: format!("non-finite weights after step {t}"),
            }
        } else if self.state.step >= self.config.steps {
            Status::Completed
        } else {
            Status::Running
        };
        Ok(Some(self.finish_step(row, status)))
    }

    fn finish_step(&mut self, row: Row, status: Status) -> &Row {
        self.state.status = status;
        self.state.metrics.rows.push(row);
        self.state
            .metrics
            .rows
            .last()
            .expect("a row was just pushed")
    }

    /// Measurements at `w_t` before the update: curvature, trace, evaluation, flow.
    fn measure(
        &mut self,
        problem: Problem<'_>,
        t: u64,
        threshold: f64,
        row: &mut Row,
    ) -> anyhow::Result<()> {
        let obj = problem.objective;
        let tr = &self.config.tracking;
        let w = &self.state.weights;
        let mut p = Vec::new();
        let kind = self
            .rule
            .tracking_preconditioner(&self.state.optimizer, &mut p);
        let (precond, measurable) = match (tr.effective_hessian, kind) {
            (true, Preconditioning::Diagonal) => (Some(p), true),
            // The effective Hessian needs ν: skip the measurement before the first adaptive step.
            (true, Preconditioning::NotYet) => (None, false),
            _ => (None, true),
        };
        if let Some(tracker) = &mut self.state.tracker {
            if due(tr.every, t) && measurable {
                let clock = std::time::Instant::now();
                let m = tracker.measure(obj, w, precond.as_deref(), threshold)?;
                self.timings.eigen_s += clock.elapsed().as_secs_f64();
                row.eigenvalues = m.values;
                row.eig_residual = m.max_residual;
                row.eig_hvps = m.hvps as f64;
                row.eig_iterations = m.iterations as f64;
                if tr.projection && self.state.projection.is_none() {
                    let at_edge = row.sharpness() >= CROSSING_FRACTION * threshold;
                    let start = tr.projection_step.map_or(at_edge, |s| s == t);
                    if start {
                        self.state.projection = Projection::new(t, w, &m.top_vector);
                    }
                }
            }
        }
        if due(tr.trace_every, t) && measurable {
            let (trace, se) = trace_estimate(
                obj,
                w,
                precond.as_deref(),
                tr.trace_probes,
                self.config.seed ^ t,
            )?;
            row.trace = trace;
            row.trace_se = se;
        }
        let eval_due = due(tr.eval_every, t);
        if eval_due {
            if let Some(ev) = problem.evaluator {
                let e = ev.evaluate(w);
                row.train_loss = e.train_loss;
                row.train_accuracy = e.train_accuracy.unwrap_or(f64::NAN);
                row.test_loss = e.test_loss.unwrap_or(f64::NAN);
                row.test_accuracy = e.test_accuracy.unwrap_or(f64::NAN);
            } else if self.config.batch_size > 0 {
                row.train_loss = obj.value(w);
            }
        }
        if let Some(flow) = &mut self.state.flow {
            let refresh = if tr.every > 0 { tr.every } else { 20 };
            if t % refresh == 0 {
                let clock = std::time::Instant::now();
                flow.refresh_radius(obj, tr.flow_power_iters);
                self.timings.flow_s += clock.elapsed().as_secs_f64();
            }
            row.flow_distance = flow.distance(w);
            if eval_due {
                row.flow_loss = obj.value(flow.weights());
            }
        }
        Ok(())
    }

    /// Stopping rules checked on the loss and gradient of step `t`, before the update.
    fn stop_before_update(&self, row: &Row, initial: f64) -> Option<Status> {
        let t = row.step;
        let stop = &self.config.stop;
        if !row.loss.is_finite() || !row.grad_norm.is_finite() {
            return Some(Status::Diverged {
                reason: format!("non-finite loss or gradient at step {t}"),
            });
        }
        if initial.is_finite() && row.loss > stop.divergence_factor * initial.max(f64::MIN_POSITIVE)
        {
            return Some(Status::Diverged {
                reason: format!(
                    "loss {:.3e} at step {t} exceeds stop.divergence_factor = {} times the initial loss {initial:.3e}",
                    row.loss, stop.divergence_factor
                ),
            });
        }
        let full_loss = if self.config.batch_size == 0 {
            row.loss
        } else {
            row.train_loss
        };
        if stop.loss_below.is_some_and(|goal| full_loss <= goal) {
            return Some(Status::LossGoal);
        }
        if stop
            .accuracy_above
            .is_some_and(|goal| row.train_accuracy >= goal)
        {
            return Some(Status::AccuracyGoal);
        }
        None
    }
}

/// Whether a measurement scheduled every `every` steps (0: never) falls on step `t`.
fn due(every: u64, t: u64) -> bool {
    every > 0 && t % every == 0
}

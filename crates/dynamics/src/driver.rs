//! The lockstep driver, written once: every step prepares every process, lets the observers
//! measure, checks the stopping rules on the primary process, and commits (docs/ARCHITECTURE.md
//! has a diagram of one step).
//!
//! ```text
//! step t:  batch(t) ─► prepare(p) for every process p        (loss, gradient, staged next state)
//!                  ─► observers [Prepared]                   (eigen, projection, trace, eval, distances …)
//!                  ─► stopping rules on the primary process  (divergence, loss/accuracy goals)
//!                  ─► commit(p) for every process            (unless the run stops here)
//!                  ─► observers [Applied]                    (update cosine)
//!                  ─► record(t) returned to the caller       (one row of metrics)
//! ```
//!
//! The primary process is `discrete` when it runs, else the first listed process; its
//! columns are unprefixed only if it is `discrete`. All state between steps — processes
//! (weights, optimizer states, eigen caches), observers' memories, the step, the status and
//! the initial loss — is in [`DriverState`], whose size does not depend on the step count.

use gdscope_core::optimizer::{OptimizerConfig, Rule};
use gdscope_core::schedule::LrSchedule;
use gdscope_core::seeds::{derive, Stream};
use serde::{Deserialize, Serialize};

use crate::batches::Batches;
use crate::config::{StopConfig, TrackingConfig};
use crate::noise::{GradientNoise, NoiseSource};
use crate::observers::{self, Observation, ObserveContext, Observer, Phase};
use crate::problem::Problem;
use crate::process::{AnyProcess, ProcessName, ProcessSettings, Start, StepContext};
use crate::record::{column_name, Record, Schema};
use crate::Timings;

/// Everything that defines the dynamics of a run (a view of the training config).
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpec {
    /// Seed of every random stream ([`gdscope_core::seeds`]).
    pub seed: u64,
    /// Number of steps.
    pub steps: u64,
    /// Minibatch size (0: full batch).
    pub batch_size: usize,
    /// The optimizer.
    pub optimizer: OptimizerConfig,
    /// Its learning-rate schedule.
    pub schedule: LrSchedule,
    /// The processes, in column order.
    pub processes: Vec<ProcessName>,
    /// Per-process settings.
    pub process: ProcessSettings,
    /// Shared tracking settings.
    pub tracking: TrackingConfig,
    /// Stopping rules.
    pub stop: StopConfig,
    /// Gradient-noise control added to full-batch steps.
    pub noise: GradientNoise,
}

impl RunSpec {
    /// Checks what can be checked before a run starts; messages name the field.
    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(self.steps >= 1, "steps must be at least 1");
        anyhow::ensure!(
            !self.processes.is_empty(),
            "processes must name at least one process (e.g. processes = [\"discrete\"])"
        );
        for (i, p) in self.processes.iter().enumerate() {
            anyhow::ensure!(
                !self.processes[..i].contains(p),
                "processes lists \"{}\" twice",
                p.as_str()
            );
        }
        Rule::new(self.optimizer.clone(), self.schedule, self.steps)
            .map_err(|e| anyhow::anyhow!("in [optimizer]: {e}"))?;
        self.schedule.validate()?;
        self.tracking.validate("tracking")?;
        self.process.validate(&self.tracking)?;
        self.stop.validate()?;
        if self.noise.is_on() {
            anyhow::ensure!(
                self.batch_size == 0,
                "gradient_noise adds noise to full-batch steps, but batch_size = {}; set \
                 batch_size = 0 (the matched noise's batch size is gradient_noise.batch_size)",
                self.batch_size
            );
            anyhow::ensure!(
                self.noise.batch_size >= 1,
                "gradient_noise.batch_size must be at least 1"
            );
        }
        for flow in [ProcessName::Stable, ProcessName::Central] {
            if self.processes.contains(&flow) {
                self.optimizer.rule().flow().map_err(|reason| {
                    anyhow::anyhow!(
                        "processes includes \"{}\", a flow of the optimizer, but optimizer \
                         `{}` has none: {reason}; use an optimizer with a flow (gd, rmsprop, \
                         scalar_rmsprop)",
                        flow.as_str(),
                        self.optimizer.name()
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Index of the primary process (see the module docs).
    pub fn primary(&self) -> usize {
        self.processes
            .iter()
            .position(|p| *p == ProcessName::Discrete)
            .unwrap_or(0)
    }

    /// Whether the run uses minibatches.
    pub fn minibatch(&self) -> bool {
        self.batch_size > 0
    }
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

/// Everything the driver carries between steps (checkpoints store it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DriverState {
    /// The next step to execute.
    pub step: u64,
    /// Whether the run is finished, and how.
    pub status: Status,
    /// Loss of the primary process at step 0 (reference of the divergence rule).
    pub initial_loss: Option<f64>,
    /// The processes, in [`RunSpec::processes`] order.
    pub processes: Vec<AnyProcess>,
    /// The saved memory of each observer that keeps one, by its position in the (config-
    /// determined) observer list.
    pub observers: Vec<(usize, Vec<u8>)>,
}

/// Column indices the stopping rules read (primary process).
struct StopColumns {
    loss: usize,
    grad_norm: usize,
    train_loss: Option<usize>,
    train_accuracy: Option<usize>,
}

/// A run of processes in lockstep; see the module docs.
pub struct Driver {
    spec: RunSpec,
    rule: Rule,
    processes: Vec<AnyProcess>,
    observers: Vec<Box<dyn Observer>>,
    schema: Schema,
    record: Record,
    batches: Option<Batches>,
    step: u64,
    status: Status,
    initial_loss: Option<f64>,
    primary: usize,
    stop: StopColumns,
    timings: Timings,
}

impl Driver {
    /// A fresh run from weights `w0`: every process starts from `w0` and a zero optimizer
    /// state.
    pub fn new(spec: RunSpec, problem: Problem<'_>, w0: Vec<f64>) -> anyhow::Result<Self> {
        spec.validate()?;
        let obj = problem.objective;
        anyhow::ensure!(
            obj.dim() == w0.len(),
            "the model has {} parameters but the initial weights have {}",
            obj.dim(),
            w0.len()
        );
        let rule = Rule::new(spec.optimizer.clone(), spec.schedule, spec.steps)?;
        let state0 = rule.zero_state(w0.len());
        let single = single_precision(&spec, &rule, problem);
        let processes = spec
            .processes
            .iter()
            .enumerate()
            .map(|(i, &name)| {
                let start = Start {
                    problem,
                    rule: &rule,
                    w0: &w0,
                    state0: &state0,
                    tracking: spec.process.tracking(name, &spec.tracking),
                    eigen_seed: derive(spec.seed, Stream::EigenStart, i as u64),
                    single,
                };
                AnyProcess::build(name, &spec.process, &start)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let saved = DriverState {
            step: 0,
            status: Status::Running,
            initial_loss: None,
            processes,
            observers: Vec::new(),
        };
        Self::resume(spec, problem, saved)
    }

    /// Continues a run from a saved state. `spec.steps` may exceed the steps of the run
    /// that saved it (a finished run then continues).
    pub fn resume(
        spec: RunSpec,
        problem: Problem<'_>,
        mut saved: DriverState,
    ) -> anyhow::Result<Self> {
        spec.validate()?;
        let rule = Rule::new(spec.optimizer.clone(), spec.schedule, spec.steps)?;
        let single = single_precision(&spec, &rule, problem);
        for p in &mut saved.processes {
            p.get_mut().set_single(single);
        }
        let names: Vec<ProcessName> = saved.processes.iter().map(AnyProcess::name).collect();
        anyhow::ensure!(
            names == spec.processes,
            "the saved run has processes {:?} but the config lists {:?}",
            names.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
            spec.processes
                .iter()
                .map(|n| n.as_str())
                .collect::<Vec<_>>()
        );
        for p in &saved.processes {
            let p = p.get();
            anyhow::ensure!(
                p.point().len() == problem.objective.dim() || p.point().is_empty(),
                "the model has {} parameters but the run's weights have {}; resume with the same model",
                problem.objective.dim(),
                p.point().len()
            );
            rule.check_state(p.state(), problem.objective.dim())
                .map_err(|e| anyhow::anyhow!("cannot restore the optimizer: {e}"))?;
        }
        let resolved: Vec<(ProcessName, TrackingConfig)> = spec
            .processes
            .iter()
            .map(|&n| (n, spec.process.tracking(n, &spec.tracking)))
            .collect();
        let mut schema = Schema::default();
        let examples = problem.objective.num_examples();
        let mut observers = observers::build(&resolved, &mut schema, examples, spec.batch_size)?;
        observers.extend(observers::central::build(
            &spec,
            &rule,
            problem,
            &mut schema,
        ));
        for (i, bytes) in &saved.observers {
            observers
                .get_mut(*i)
                .and_then(|o| o.memory())
                .ok_or_else(|| {
                    anyhow::anyhow!("the saved run has an observer memory #{i} this config lacks")
                })?
                .load(bytes)
                .map_err(|e| anyhow::anyhow!("cannot restore observer #{i}: {e}"))?;
        }
        if spec.noise.is_on() {
            NoiseSource::new(&spec.noise, problem.objective.num_examples())?;
        }
        let batches = match spec.batch_size {
            0 => None,
            b => {
                let n = problem.objective.num_examples().ok_or_else(|| {
                    anyhow::anyhow!(
                        "batch_size = {b} needs an objective made of examples (a network); \
                         use batch_size = 0"
                    )
                })?;
                Some(Batches::new(n, b, spec.seed)?)
            }
        };
        let primary = spec.primary();
        let pname = spec.processes[primary].as_str();
        let col = |metric: &str| schema.index(&column_name(pname, metric));
        let stop = StopColumns {
            loss: col("loss").expect("every process records its loss"),
            grad_norm: col("grad_norm").expect("every process records its gradient norm"),
            train_loss: col("train_loss"),
            train_accuracy: col("train_accuracy"),
        };
        if saved.status == Status::Completed && saved.step < spec.steps {
            saved.status = Status::Running;
        }
        if saved.step >= spec.steps && !saved.status.is_finished() {
            saved.status = Status::Completed;
        }
        Ok(Self {
            record: Record::new(&schema),
            spec,
            rule,
            processes: saved.processes,
            observers,
            schema,
            batches,
            step: saved.step,
            status: saved.status,
            initial_loss: saved.initial_loss,
            primary,
            stop,
            timings: Timings::default(),
        })
    }

    /// The state to checkpoint (between steps).
    pub fn save(&mut self) -> anyhow::Result<DriverState> {
        Ok(DriverState {
            step: self.step,
            status: self.status.clone(),
            initial_loss: self.initial_loss,
            processes: self.processes.clone(),
            observers: self
                .observers
                .iter_mut()
                .enumerate()
                .filter_map(|(i, o)| Some((i, o.memory()?.save())))
                .map(|(i, bytes)| Ok((i, bytes?)))
                .collect::<anyhow::Result<_>>()?,
        })
    }

    /// The record layout.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The run's spec.
    pub fn spec(&self) -> &RunSpec {
        &self.spec
    }

    /// The next step to execute.
    pub fn step_index(&self) -> u64 {
        self.step
    }

    /// How the run stands.
    pub fn status(&self) -> &Status {
        &self.status
    }

    /// Time spent in eigen-solves and flow integration by this driver (`wall_s` unset).
    pub fn timings(&self) -> &Timings {
        &self.timings
    }

    /// The processes.
    pub fn processes(&self) -> &[AnyProcess] {
        &self.processes
    }

    /// The current weights of the primary process.
    pub fn weights(&self) -> &[f64] {
        self.processes[self.primary].get().point()
    }

    /// Executes step `t` (module docs) and returns its record, or `None` when the run is
    /// finished.
    pub fn step(&mut self, problem: Problem<'_>) -> anyhow::Result<Option<&Record>> {
        if self.status.is_finished() {
            return Ok(None);
        }
        let t = self.step;
        self.record.reset(t);
        let batch = self.batches.as_mut().map(|b| b.batch(t));
        let ctx = StepContext {
            problem,
            rule: &self.rule,
            step: t,
            batch,
            seed: self.spec.seed,
            noise: Some(&self.spec.noise),
        };
        for p in &mut self.processes {
            p.get_mut().prepare(&ctx, &mut self.timings)?;
        }
        let octx = ObserveContext {
            problem,
            rule: &self.rule,
            step: t,
            minibatch: self.spec.minibatch(),
            batch,
            seed: self.spec.seed,
        };
        let mut seen = Observation {
            ctx: &octx,
            processes: &mut self.processes,
            record: &mut self.record,
            timings: &mut self.timings,
        };
        observe(&mut self.observers, &mut seen, Phase::Prepared)?;
        let minibatch_loss =
            self.spec.minibatch() && self.spec.processes[self.primary] != ProcessName::Stable;
        let stop = stop_rule(
            &self.spec.stop,
            &self.stop,
            seen.record,
            &mut self.initial_loss,
            minibatch_loss,
            t,
        );
        if let Some(status) = stop {
            self.status = status;
            return Ok(Some(&self.record));
        }
        for p in seen.processes.iter_mut() {
            p.get_mut().commit();
        }
        observe(&mut self.observers, &mut seen, Phase::Applied)?;
        self.step += 1;
        let primary = self.processes[self.primary].get();
        self.status = if !primary.values().all_finite() {
            Status::Diverged {
                reason: format!("non-finite weights after step {t}"),
            }
        } else if self.step >= self.spec.steps {
            Status::Completed
        } else {
            Status::Running
        };
        Ok(Some(&self.record))
    }

    /// Why processes stopped advancing (for the summary): `(name, reason)`.
    pub fn halted(&self) -> Vec<(ProcessName, String)> {
        self.processes
            .iter()
            .filter_map(|p| p.get().halted().map(|r| (p.name(), r.to_string())))
            .collect()
    }

    /// Hessian-vector products spent by every process's eigen-solves.
    pub fn eigen_hvps(&self) -> u64 {
        self.processes
            .iter()
            .map(|p| p.get().curvature().total_hvps())
            .sum()
    }
}

/// Whether the run keeps its vectors in `f32` ([`Start::single`](crate::process::Start)):
/// the objective computes in `f32`, the optimizer has an `f32` step, no gradient noise.
fn single_precision(spec: &RunSpec, rule: &Rule, problem: Problem<'_>) -> bool {
    problem.objective.single_precision() && rule.has_f32_step() && !spec.noise.is_on()
}

/// Runs the observers of `phase`, in order.
fn observe(
    observers: &mut [Box<dyn Observer>],
    seen: &mut Observation<'_, '_>,
    phase: Phase,
) -> anyhow::Result<()> {
    for o in observers.iter_mut().filter(|o| o.phase() == phase) {
        o.observe(seen)?;
    }
    Ok(())
}

/// The stopping rules on the primary process's record of step `t`, before the update.
/// `minibatch_loss`: the record's `loss` is a minibatch loss (the full loss is `train_loss`).
fn stop_rule(
    stop: &StopConfig,
    cols: &StopColumns,
    r: &Record,
    initial_loss: &mut Option<f64>,
    minibatch_loss: bool,
    t: u64,
) -> Option<Status> {
    let loss = r.get(cols.loss);
    if !loss.is_finite() || !r.get(cols.grad_norm).is_finite() {
        return Some(Status::Diverged {
            reason: format!("non-finite loss or gradient at step {t}"),
        });
    }
    let initial = *initial_loss.get_or_insert(loss);
    if initial.is_finite() && loss > stop.divergence_factor * initial.abs().max(f64::MIN_POSITIVE) {
        return Some(Status::Diverged {
            reason: format!(
                "loss {loss:.3e} at step {t} exceeds stop.divergence_factor = {} times the initial loss {initial:.3e}",
                stop.divergence_factor
            ),
        });
    }
    let read = |c: Option<usize>| c.map_or(f64::NAN, |c| r.get(c));
    let full_loss = if minibatch_loss {
        read(cols.train_loss)
    } else {
        loss
    };
    if stop.loss_below.is_some_and(|goal| full_loss <= goal) {
        return Some(Status::LossGoal);
    }
    if stop
        .accuracy_above
        .is_some_and(|goal| read(cols.train_accuracy) >= goal)
    {
        return Some(Status::AccuracyGoal);
    }
    None
}

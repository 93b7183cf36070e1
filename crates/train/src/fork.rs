//! Forks (docs/training.md "Forks"): a child run that starts from its parent's state after
//! `T` steps with some settings changed — the intervention experiments of the field (raise
//! the learning rate at step T, shrink the batch, change the momentum) — while the parent is
//! only read.
//!
//! The child's state at `T` is the parent's kept checkpoint of step `T` (`checkpoints/`,
//! `checkpoint.keep` / `checkpoint.keep_every`), or its last `checkpoint.bin` when that is at
//! `T`; otherwise the parent is replayed in memory from its nearest earlier kept checkpoint
//! (or from its start) up to `T` — the same computation, so the same state bit for bit with
//! the same binary and thread count. The child's `metrics.csv` starts with the parent's rows
//! of steps `0 … T−1`, so one table tells the whole story; its row `T` is its own (measured
//! with its own settings). Its config records the lineage in `[fork]` (parent, step, the
//! changed settings), and so does its `summary.json`.
//!
//! What may change: anything but the model, the data and the processes (a fork continues the
//! parent's weights, optimizer state and trackers); the optimizer's kind only where its state
//! has the same layout (the optimizer refuses otherwise); not the eigen-solver's options
//! (`top_k`, `max_k`, `tol`, …: they live in the tracker's state). Measurement frequencies
//! may change, but not which observers exist (their memories are part of the state): the
//! child records the same columns as its parent.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use gdscope_dynamics::{observers, Driver, DriverState, RunSpec, Schema, Status};

use crate::checkpoint::{retained_path, retained_steps, Checkpoint};
use crate::config::{ForkOrigin, TrainConfig};
use crate::metrics::METRICS_LOG;
use crate::network::NetworkProblem;

/// The configuration of a fork of the run in `parent` at step `at_step` (default: the step of
/// its last checkpoint): the parent's configuration with `overrides` (`path=value`, as
/// `--set`) applied and `[fork]` filled in, checked with [`verify`].
pub fn fork_config(
    parent: &Path,
    at_step: Option<u64>,
    overrides: &[String],
) -> Result<TrainConfig> {
    let base = fork_base(parent, at_step)?;
    let mut child = TrainConfig::from_toml(&base.to_toml()?, overrides)?;
    verify(&mut child)?;
    Ok(child)
}

/// The parent's configuration with `[fork]` pointing at the parent's state after `at_step`
/// steps (default: its last checkpoint), nothing changed yet: the base of a fork, or of a
/// sweep of forks (each member changes it and is checked with [`verify`]).
pub fn fork_base(parent: &Path, at_step: Option<u64>) -> Result<TrainConfig> {
    let latest = Checkpoint::load(parent).context("cannot fork: the parent run is unreadable")?;
    let mut base = latest.config;
    base.fork = Some(ForkOrigin {
        parent: std::path::absolute(parent)
            .with_context(|| format!("cannot resolve the path {}", parent.display()))?,
        step: at_step.unwrap_or(latest.driver.step),
        replayed_from: None,
        changes: toml::Table::new(),
    });
    Ok(base)
}

/// Checks the fork `config` against its parent without computing — the step exists, the
/// changes are allowed (module docs), the fork has steps to take — and records the changed
/// settings in `config.fork.changes`. Returns the parent's last checkpoint.
pub fn verify(config: &mut TrainConfig) -> Result<Checkpoint> {
    let dir = config.fork.as_ref().context("not a fork")?.parent.clone();
    let latest = Checkpoint::load(&dir)
        .with_context(|| format!("cannot read the fork's parent {}", dir.display()))?;
    let mut parent = latest.config.clone();
    parent.fork = None;
    check_fork(config, &parent, latest.driver.step)?;
    let changed = changes(&parent, config)?;
    config.fork.as_mut().expect("a fork").changes = changed;
    Ok(latest)
}

/// The settings of `child` that differ from `parent` (`[fork]` aside), by dotted path.
pub fn changes(parent: &TrainConfig, child: &TrainConfig) -> Result<toml::Table> {
    let flat = |c: &TrainConfig| -> Result<toml::Table> {
        let mut c = c.clone();
        c.fork = None;
        let mut out = toml::Table::new();
        flatten("", toml::Table::try_from(c)?, &mut out);
        Ok(out)
    };
    let (a, b) = (flat(parent)?, flat(child)?);
    Ok(b.into_iter().filter(|(k, v)| a.get(k) != Some(v)).collect())
}

fn flatten(prefix: &str, table: toml::Table, out: &mut toml::Table) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            v => {
                out.insert(key, v);
            }
        }
    }
}

/// The structural checks of a fork `child` of a run configured as `parent` whose last
/// checkpoint is at `parent_steps`.
fn check_fork(child: &TrainConfig, parent: &TrainConfig, parent_steps: u64) -> Result<()> {
    let origin = child.fork.as_ref().expect("a fork");
    let (t, dir) = (origin.step, origin.parent.display());
    ensure!(
        t <= parent_steps,
        "cannot fork {dir} at step {t}: its last checkpoint is at step {parent_steps}, so a fork \
         can start at any step from 0 to {parent_steps} (resume the parent first to go further)"
    );
    ensure!(
        child.steps > t,
        "the fork would take no steps: it starts at step {t} and steps = {}; give it more with \
         --set steps=N (N > {t})",
        child.steps
    );
    let same = |field: &str, equal: bool| -> Result<()> {
        ensure!(
            equal,
            "a fork continues its parent's weights, optimizer state and trackers, so `{field}` \
             cannot change (the parent {dir} has another); start a new run instead"
        );
        Ok(())
    };
    same("model.spec", child.model.spec == parent.model.spec)?;
    same("data", child.data == parent.data)?;
    same("processes", child.processes == parent.processes)?;
    let (ps, cs) = (parent.run_spec(), child.run_spec());
    for &name in &ps.processes {
        let (a, b) = (
            ps.process.tracking(name, &ps.tracking),
            cs.process.tracking(name, &cs.tracking),
        );
        let solver = |t: &gdscope_dynamics::TrackingConfig| {
            (
                t.top_k,
                t.adaptive_k,
                t.max_k,
                t.max_iters,
                t.tol,
                t.adaptive_fraction,
            )
        };
        ensure!(
            solver(&a) == solver(&b),
            "the fork changes the eigen-solver of process `{}` (top_k, adaptive_k,              adaptive_fraction, max_k, tol or max_iters); these live in the parent's eigen-tracker              (its k, its options, its warm-start vectors), which the fork continues, so they              cannot change — `every` and the other frequencies can",
            name.as_str()
        );
    }
    let (p, c) = (schema_of(&ps)?, schema_of(&cs)?);
    if p.names() != c.names() {
        let added: Vec<&String> = c
            .names()
            .iter()
            .filter(|n| !p.names().contains(n))
            .collect();
        let removed: Vec<&String> = p
            .names()
            .iter()
            .filter(|n| !c.names().contains(n))
            .collect();
        bail!(
            "the fork changes which quantities are measured (columns added: {added:?}, removed: \
             {removed:?}); the observers' memories are part of the parent's state, so keep \
             tracking.every, projection, trace_every and eval_every on (non-zero) or off as in \
             the parent — their frequencies may change"
        );
    }
    Ok(())
}

/// The record layout of a run of `spec` (what its driver will write; the columns do not
/// depend on the number of examples).
pub fn schema_of(spec: &RunSpec) -> anyhow::Result<Schema> {
    let resolved: Vec<_> = spec
        .processes
        .iter()
        .map(|&n| (n, spec.process.tracking(n, &spec.tracking)))
        .collect();
    let mut schema = Schema::default();
    observers::build(&resolved, &mut schema, None, spec.batch_size)?;
    Ok(schema)
}

/// Where a fork starts: the parent's state at the fork step and what the child copies.
pub(crate) struct ForkStart {
    /// The parent's driver state after `step` steps, ready for the child's driver.
    pub state: DriverState,
    /// The parent's initial weights (the child's `weights_init.npy`).
    pub w0: Vec<f64>,
    /// The parent's metrics log (rows before the fork step are copied).
    pub parent_log: PathBuf,
}

/// The parent's state at the fork step of `config` (see the module docs), after checking the
/// fork against the parent ([`verify`]); fills in `config.fork.changes` and `replayed_from`.
/// `net` is the child's problem (the parent's, unless the fork changed `dtype` or `loss`).
pub(crate) fn start_state(config: &mut TrainConfig, net: &NetworkProblem) -> Result<ForkStart> {
    let latest = verify(config)?;
    let origin = config.fork.clone().expect("a fork");
    let dir = &origin.parent;
    let mut parent = latest.config.clone();
    parent.fork = None;
    let t = origin.step;
    let own_problem;
    let parent_net = if same_problem(&parent, config) {
        net
    } else {
        own_problem = NetworkProblem::build(&parent)?;
        &own_problem
    };
    let w0 = match gdscope_io::npy::read_npy(&dir.join("weights_init.npy")) {
        Ok(a) => a.data,
        Err(_) => parent_net.init_weights(&parent)?,
    };
    let retained = retained_path(dir, t);
    let (mut state, replayed_from) = if latest.driver.step == t {
        (latest.driver, None)
    } else if retained.exists() {
        (Checkpoint::load_file(&retained)?.driver, None)
    } else {
        let from = retained_steps(dir).into_iter().filter(|&s| s < t).max();
        let state = match from {
            Some(s) => Checkpoint::load_file(&retained_path(dir, s))?.driver,
            None => Driver::new(parent.run_spec(), parent_net.problem(), w0.clone())?.save()?,
        };
        (
            replay(&parent, parent_net, state, t)?,
            Some(from.unwrap_or(0)),
        )
    };
    ensure!(
        state.step == t,
        "the parent's checkpoint {} holds step {}, not {t}; it was replaced by hand?",
        retained.display(),
        state.step
    );
    // The child's own stopping rules decide from its first step on.
    state.status = Status::Running;
    config.fork.as_mut().expect("a fork").replayed_from = replayed_from;
    Ok(ForkStart {
        state,
        w0,
        parent_log: dir.join(METRICS_LOG),
    })
}

/// Whether two configurations define the same loss function of the weights.
fn same_problem(a: &TrainConfig, b: &TrainConfig) -> bool {
    a.model.spec == b.model.spec && a.data == b.data && a.dtype == b.dtype && a.loss == b.loss
}

/// The parent's run from `state` up to step `t`, in memory.
fn replay(
    parent: &TrainConfig,
    net: &NetworkProblem,
    state: DriverState,
    t: u64,
) -> Result<DriverState> {
    let mut driver = Driver::resume(parent.run_spec(), net.problem(), state)?;
    while driver.step_index() < t {
        if driver.step(net.problem())?.is_none() {
            bail!(
                "the parent stopped at step {} ({:?}) before step {t}; fork at an earlier step",
                driver.step_index(),
                driver.status()
            );
        }
    }
    driver.save()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_the_differing_leaves() {
        let a = TrainConfig::default();
        let b = TrainConfig::from_toml(
            "steps = 10\n[optimizer]\nkind = \"gd\"\nlr = 0.04\n[tracking]\nevery = 5\n",
            &[],
        )
        .unwrap();
        let c = changes(&a, &b).unwrap();
        let keys: Vec<&str> = c.keys().map(String::as_str).collect();
        assert_eq!(keys, ["optimizer.lr", "steps", "tracking.every"]);
        assert_eq!(c["optimizer.lr"].as_float(), Some(0.04));
        assert!(changes(&a, &a).unwrap().is_empty());
    }
}

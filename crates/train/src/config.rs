//! The `gdscope train` configuration: a TOML file, overridden field by field with
//! `--set path.to.field=value`, resolved with every default and saved as `config.toml`
//! in the run directory (docs/training.md, "Configuration").
//!
//! Every section denies unknown fields, so a typo is an error that names the field.
//! The defaults reproduce the synthetic edge-of-stability demo (issue 4 item 8).

use anyhow::{bail, Context};
use gdscope_core::optimizer::OptimizerConfig;
use gdscope_data::DataSpec;
use serde::{Deserialize, Serialize};

use crate::schedule::LrSchedule;

/// A complete training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Seed of every random choice of the run (init, minibatches, probe vectors); the data
    /// set has its own `data.seed`.
    pub seed: u64,
    /// Compute precision of the network (`"f32"` or `"f64"`); metrics are always `f64`.
    pub dtype: DtypeName,
    /// Loss: `"mse"` (½‖f − y‖² averaged, one-hot targets) or `"ce"` (softmax cross-entropy).
    pub loss: LossName,
    /// The network.
    pub model: ModelConfig,
    /// The data set (`gdscope-data`'s `DataSpec`, `kind = "synthetic-linear"`, …).
    pub data: DataSpec,
    /// Number of optimizer steps.
    pub steps: u64,
    /// Minibatch size for SGD-style training; 0 means full batch.
    pub batch_size: usize,
    /// Optimizer and its hyper-parameters (`kind` is one of
    /// [`OptimizerConfig::KINDS`]; fields in each rule's file of `gdscope_core::rules`).
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule multiplying `optimizer.lr`.
    pub schedule: LrSchedule,
    /// Stopping rules.
    pub stop: StopConfig,
    /// What to measure and how often.
    pub tracking: TrackingConfig,
    /// Checkpoint cadence.
    pub checkpoint: CheckpointConfig,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 0,
            dtype: DtypeName::F32,
            loss: LossName::Mse,
            model: ModelConfig::default(),
            data: DataSpec::default(),
            steps: 3000,
            batch_size: 0,
            optimizer: OptimizerConfig::gd(0.08),
            schedule: LrSchedule::Constant,
            stop: StopConfig::default(),
            tracking: TrackingConfig::default(),
            checkpoint: CheckpointConfig::default(),
        }
    }
}

/// Network compute precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtypeName {
    /// Single precision (fast; the JAX reference runs in f32).
    F32,
    /// Double precision (reference accuracy).
    F64,
}

/// Training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossName {
    /// `½‖f(x) − y‖²` per example, averaged (docs/theory.md §6).
    Mse,
    /// Softmax cross-entropy, averaged.
    Ce,
}

/// Weight initialization (biases start at zero).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InitName {
    /// `N(0, 1/fan_in)`.
    Lecun,
    /// `N(0, 2/fan_in)`.
    He,
    /// `N(0, 2/(fan_in + fan_out))`.
    Xavier,
}

/// The network and its initialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Model spec string of `gdscope-nn`, e.g. `mlp:20-256-256-4:gelu-tanh`.
    pub spec: String,
    /// Initialization scheme, seeded by the top-level `seed`.
    pub init: InitName,
}

impl Default for ModelConfig {
    fn default() -> Self {
        Self {
            spec: "mlp:20-256-256-4:gelu-tanh".into(),
            init: InitName::Lecun,
        }
    }
}

/// When a run ends early.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StopConfig {
    /// Stop once the (full-batch) training loss is at or below this value.
    pub loss_below: Option<f64>,
    /// Stop once the training accuracy (measured every `tracking.eval_every` steps) is at or
    /// above this value, in [0, 1].
    pub accuracy_above: Option<f64>,
    /// Declare divergence when the loss exceeds `divergence_factor ×` the initial loss (a
    /// non-finite loss, gradient or weight always counts as divergence).
    pub divergence_factor: f64,
}

impl Default for StopConfig {
    fn default() -> Self {
        Self {
            loss_below: None,
            accuracy_above: None,
            divergence_factor: 1e4,
        }
    }
}

/// Curvature tracking, diagnostics and the flow baseline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrackingConfig {
    /// Measure the top eigenvalues every this many steps (0: never).
    pub every: u64,
    /// Number of top eigenvalues to track (the initial k when `adaptive_k`).
    pub top_k: usize,
    /// Grow k while the k-th eigenvalue is above `adaptive_fraction ×` the stability threshold.
    pub adaptive_k: bool,
    /// Fraction of the threshold used by `adaptive_k`.
    pub adaptive_fraction: f64,
    /// Upper bound on k.
    pub max_k: usize,
    /// Convergence tolerance on the relative residual `‖Hv − λv‖ / |λ|`.
    pub tol: f64,
    /// Iteration cap of one eigen-solve.
    pub max_iters: usize,
    /// For Adam/RMSProp/scalar RMSProp: track the preconditioned Hessian `P^{-1/2} H P^{-1/2}`
    /// (compared with the optimizer's threshold) instead of `H`.
    pub effective_hessian: bool,
    /// Hutchinson trace estimate every this many steps (0: never).
    pub trace_every: u64,
    /// Rademacher probes per trace estimate.
    pub trace_probes: usize,
    /// Record `⟨w_t − w_{t0}, u_{t0}⟩`.
    pub projection: bool,
    /// Step `t0` of the projection; absent: the first measurement where the sharpness reaches
    /// 0.95 × threshold.
    pub projection_step: Option<u64>,
    /// Full-batch train loss/accuracy and test metrics every this many steps (0: never).
    pub eval_every: u64,
    /// Integrate the gradient-flow baseline alongside the optimizer.
    pub flow: bool,
    /// RK4 substeps are sized so that `h·η·ρ ≤ flow_rate` (ρ the flow's spectral radius).
    pub flow_rate: f64,
    /// Power iterations per refresh of ρ (refreshed every `every` steps, or every 20 steps when
    /// eigen tracking is off).
    pub flow_power_iters: usize,
}

impl Default for TrackingConfig {
    fn default() -> Self {
        Self {
            every: 20,
            top_k: 2,
            adaptive_k: false,
            adaptive_fraction: 0.75,
            max_k: 10,
            tol: 1e-6,
            max_iters: 100,
            effective_hessian: true,
            trace_every: 0,
            trace_probes: 16,
            projection: true,
            projection_step: None,
            eval_every: 20,
            flow: false,
            flow_rate: 0.5,
            flow_power_iters: 20,
        }
    }
}

/// Checkpoint cadence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Write a checkpoint (and rewrite `metrics.parquet`) every this many steps (0: only at
    /// the end of the run).
    pub every: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self { every: 500 }
    }
}

impl TrainConfig {
    /// Parses a TOML document, applies `overrides` (`path.to.field=value`, value in TOML
    /// syntax, bare words taken as strings) and validates the result.
    pub fn from_toml(text: &str, overrides: &[String]) -> anyhow::Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).context("the config is not valid TOML")?;
        let defaults = toml::Table::try_from(Self::default())
            .context("cannot serialize the default config")?;
        for o in overrides {
            apply_override(&mut table, &defaults, o)?;
        }
        let config: Self = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("invalid config: {}", e.message()))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads [`from_toml`](Self::from_toml) from a file.
    pub fn load(path: &std::path::Path, overrides: &[String]) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        Self::from_toml(&text, overrides)
            .with_context(|| format!("in config file {}", path.display()))
    }

    /// The resolved configuration as TOML, every default written out.
    pub fn to_toml(&self) -> anyhow::Result<String> {
        toml::to_string_pretty(self).context("cannot serialize the config as TOML")
    }

    /// Checks cross-field constraints; messages name the field and the allowed range.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.optimizer.validate().context("in [optimizer]")?;
        self.schedule.validate()?;
        anyhow::ensure!(self.steps >= 1, "steps must be at least 1");
        let t = &self.tracking;
        if t.every > 0 {
            anyhow::ensure!(t.top_k >= 1, "tracking.top_k must be at least 1");
            anyhow::ensure!(
                t.max_k >= t.top_k,
                "tracking.max_k ({}) must be at least tracking.top_k ({})",
                t.max_k,
                t.top_k
            );
            anyhow::ensure!(
                t.tol > 0.0 && t.tol < 1.0,
                "tracking.tol must lie in (0, 1), got {}",
                t.tol
            );
            anyhow::ensure!(t.max_iters >= 1, "tracking.max_iters must be at least 1");
        }
        anyhow::ensure!(
            t.adaptive_fraction > 0.0 && t.adaptive_fraction <= 1.0,
            "tracking.adaptive_fraction must lie in (0, 1], got {}",
            t.adaptive_fraction
        );
        if let Some(s) = t.projection_step {
            anyhow::ensure!(
                t.every > 0 && s % t.every == 0,
                "tracking.projection_step = {s} must be a step where the eigenvectors are measured \
                 (a multiple of tracking.every = {})",
                t.every
            );
        }
        if t.trace_every > 0 {
            anyhow::ensure!(
                t.trace_probes >= 2,
                "tracking.trace_probes must be at least 2 (for a standard error)"
            );
        }
        anyhow::ensure!(
            self.stop.divergence_factor > 1.0,
            "stop.divergence_factor must be greater than 1, got {}",
            self.stop.divergence_factor
        );
        if let Some(a) = self.stop.accuracy_above {
            anyhow::ensure!(
                (0.0..=1.0).contains(&a),
                "stop.accuracy_above must lie in [0, 1], got {a}"
            );
        }
        Ok(())
    }
}

/// Applies one `a.b.c=value` override to a TOML table.
///
/// The value is parsed as TOML (`0.04`, `true`, `"text"`, `[1, 2]`); anything that does not
/// parse is taken as a bare string (so `--set optimizer.kind=adam` works unquoted).
/// A section the file does not have is first copied from `defaults` (so
/// `--set optimizer.lr=0.04` on a file without `[optimizer]` changes the default optimizer's
/// rate), except when the override sets the section's `kind`, which starts it afresh.
pub fn apply_override(
    table: &mut toml::Table,
    defaults: &toml::Table,
    assignment: &str,
) -> anyhow::Result<()> {
    let Some((path, raw)) = assignment.split_once('=') else {
        bail!("override `{assignment}` must have the form path.to.field=value (e.g. optimizer.lr=0.04)");
    };
    let keys: Vec<&str> = path.trim().split('.').map(str::trim).collect();
    if keys.iter().any(|k| k.is_empty()) {
        bail!("override `{assignment}`: empty field name in `{path}`");
    }
    let value = parse_value(raw.trim());
    let (last, parents) = keys.split_last().expect("split yields at least one key");
    let mut node = table;
    let mut default_node = Some(defaults);
    for (i, key) in parents.iter().enumerate() {
        default_node = default_node
            .and_then(|d| d.get(*key))
            .and_then(toml::Value::as_table);
        let fresh_variant = i + 1 == parents.len() && *last == "kind";
        let seed = match default_node {
            Some(d) if !fresh_variant => d.clone(),
            _ => toml::Table::new(),
        };
        let entry = node
            .entry(key.to_string())
            .or_insert_with(|| toml::Value::Table(seed));
        node = match entry {
            toml::Value::Table(t) => t,
            _ => bail!(
                "override `{assignment}`: `{}` is a value, not a section, so it has no field `{}`",
                keys[..=i].join("."),
                keys[i + 1]
            ),
        };
    }
    node.insert(last.to_string(), value);
    Ok(())
}

fn parse_value(raw: &str) -> toml::Value {
    let doc = format!("v = {raw}");
    match toml::from_str::<toml::Table>(&doc) {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(raw.to_string())),
        Err(_) => toml::Value::String(raw.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_resolves_to_the_eos_defaults_and_round_trips() {
        let c = TrainConfig::from_toml("", &[]).unwrap();
        assert_eq!(c, TrainConfig::default());
        assert_eq!(c.optimizer, OptimizerConfig::gd(0.08));
        let text = c.to_toml().unwrap();
        for needle in [
            "steps = 3000",
            "spec = \"mlp:20-256-256-4:gelu-tanh\"",
            "kind = \"synthetic-linear\"",
            "dtype = \"f32\"",
            "[tracking]",
            "every = 20",
            "divergence_factor",
            "[optimizer]",
            "kind = \"gd\"",
        ] {
            assert!(text.contains(needle), "missing {needle} in\n{text}");
        }
        assert_eq!(TrainConfig::from_toml(&text, &[]).unwrap(), c);
    }

    #[test]
    fn unknown_fields_are_named() {
        let e = TrainConfig::from_toml("stepz = 3", &[]).unwrap_err();
        assert!(format!("{e:#}").contains("stepz"), "{e:#}");
        let e = TrainConfig::from_toml("[tracking]\nevry = 3", &[]).unwrap_err();
        assert!(format!("{e:#}").contains("evry"), "{e:#}");
        let e = TrainConfig::from_toml("", &["optimizer.lrr=0.1".into()]).unwrap_err();
        assert!(format!("{e:#}").contains("lrr"), "{e:#}");
    }

    #[test]
    fn overrides_replace_and_switch_variants() {
        let base = "steps = 10\n[optimizer]\nkind = \"gd\"\nlr = 0.1\n";
        let c = TrainConfig::from_toml(
            base,
            &[
                "optimizer.lr=0.04".into(),
                "steps=500".into(),
                "tracking.flow=true".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            (c.optimizer.lr(), c.steps, c.tracking.flow),
            (0.04, 500, true)
        );
        let c = TrainConfig::from_toml(
            base,
            &[
                "optimizer.kind=polyak".into(),
                "schedule.kind=step".into(),
                "schedule.every=5".into(),
                "schedule.gamma=0.5".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            c.optimizer,
            OptimizerConfig::Polyak(gdscope_core::rules::Polyak { lr: 0.1, beta: 0.9 })
        );
        assert_eq!(
            c.schedule,
            LrSchedule::Step {
                every: 5,
                gamma: 0.5
            }
        );
        // Sections missing from the file start from the defaults…
        let c =
            TrainConfig::from_toml("", &["optimizer.lr=0.04".into(), "tracking.top_k=3".into()])
                .unwrap();
        assert_eq!(
            (c.optimizer.clone(), c.tracking.top_k, c.tracking.every),
            (OptimizerConfig::gd(0.04), 3, 20)
        );
        // …unless the override picks the variant.
        let c = TrainConfig::from_toml(
            "",
            &["optimizer.kind=adam".into(), "optimizer.lr=0.001".into()],
        )
        .unwrap();
        assert_eq!(
            c.optimizer,
            OptimizerConfig::Adam(gdscope_core::rules::Adam {
                lr: 0.001,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8
            })
        );
    }

    #[test]
    fn bad_values_and_overrides_are_errors() {
        assert!(TrainConfig::from_toml("", &["steps".into()]).is_err());
        assert!(TrainConfig::from_toml("", &["steps.x=1".into()]).is_err());
        assert!(TrainConfig::from_toml("", &["steps=0".into()]).is_err());
        let e = TrainConfig::from_toml("", &["optimizer.lr=-1".into()]).unwrap_err();
        assert!(format!("{e:#}").contains("lr"), "{e:#}");
        let e = TrainConfig::from_toml("", &["tracking.max_k=1".into()]).unwrap_err();
        assert!(format!("{e:#}").contains("max_k"), "{e:#}");
        assert!(TrainConfig::from_toml("steps = \"many\"", &[]).is_err());
        let e = TrainConfig::from_toml("", &["tracking.projection_step=7".into()]).unwrap_err();
        assert!(format!("{e:#}").contains("projection_step"), "{e:#}");
        assert!(TrainConfig::from_toml("steps = ", &[]).is_err());
    }
}

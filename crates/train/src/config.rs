//! The `gdscope train` configuration: a TOML file, overridden field by field with
//! `--set path.to.field=value`, resolved with every default and saved as `config.toml`
//! in the run directory (docs/training.md, "Configuration").
//!
//! Every section denies unknown fields, so a typo is an error that names the field; every
//! error names the field's path and, when it comes from the file, its line (an override is
//! named as given). The defaults reproduce the synthetic edge-of-stability demo.

use std::path::PathBuf;

use anyhow::{bail, Context};
use gdscope_core::optimizer::OptimizerConfig;
use gdscope_core::schedule::LrSchedule;
use gdscope_data::DataSpec;
use gdscope_dynamics::{GradientNoise, ProcessName, ProcessSettings, RunSpec};
use serde::{Deserialize, Serialize};

pub use gdscope_dynamics::{StopConfig, TrackingConfig};

/// A complete training configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    /// Seed of every random stream of the run (init, minibatches, probe vectors, eigen-solver
    /// starts; `gdscope_core::seeds`); the data set has its own `data.seed`.
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
    /// Trajectories advanced in lockstep from the same start: `"discrete"` (the optimizer),
    /// `"midpoint"` (its second-order midpoints), `"stable"` (its stable flow).
    pub processes: Vec<ProcessName>,
    /// Optimizer and its hyper-parameters (`kind` is one of
    /// [`OptimizerConfig::KINDS`]; fields in each rule's file of `gdscope_core::rules`).
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule multiplying `optimizer.lr`.
    pub schedule: LrSchedule,
    /// Stopping rules.
    pub stop: StopConfig,
    /// What to measure and how often (shared by every process).
    pub tracking: TrackingConfig,
    /// Per-process settings (`[process.<name>]`; `[process.<name>.tracking]` overrides
    /// `[tracking]` for that process).
    pub process: ProcessSettings,
    /// Checkpoint cadence and retention.
    pub checkpoint: CheckpointConfig,
    /// Gradient-noise control added to full-batch steps (`kind = "none"` by default).
    pub gradient_noise: GradientNoise,
    /// Set for a fork: the run starts from its parent's state at a step instead of from
    /// `model.init` (docs/training.md "Forks"). Absent (and not written) for other runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkOrigin>,
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
            processes: vec![ProcessName::Discrete],
            optimizer: OptimizerConfig::gd(0.08),
            schedule: LrSchedule::Constant,
            stop: StopConfig::default(),
            tracking: TrackingConfig::default(),
            process: ProcessSettings::default(),
            checkpoint: CheckpointConfig::default(),
            gradient_noise: GradientNoise::default(),
            fork: None,
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

impl DtypeName {
    /// The name as written in configs (`f32`, `f64`).
    pub fn as_str(self) -> &'static str {
        match self {
            DtypeName::F32 => "f32",
            DtypeName::F64 => "f64",
        }
    }
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

impl LossName {
    /// The name as written in configs (`mse`, `ce`).
    pub fn as_str(self) -> &'static str {
        match self {
            LossName::Mse => "mse",
            LossName::Ce => "ce",
        }
    }
}

/// Initial weights: a seeded scheme (biases start at zero) or the user's own weights.
/// Written in TOML as `"lecun"`, `"he"`, `"xavier"` or `"npy:PATH"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum InitName {
    /// `N(0, 1/fan_in)`.
    Lecun,
    /// `N(0, 2/fan_in)`.
    He,
    /// `N(0, 2/(fan_in + fan_out))`.
    Xavier,
    /// A flat `.npy` (float32 or float64) in gdscope's parameter layout (docs/training.md
    /// "Starting from your own weights"); a relative path is relative to the working
    /// directory.
    Npy(PathBuf),
}

impl TryFrom<String> for InitName {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "lecun" => Ok(Self::Lecun),
            "he" => Ok(Self::He),
            "xavier" => Ok(Self::Xavier),
            _ => match s.strip_prefix("npy:") {
                Some(path) if !path.is_empty() => Ok(Self::Npy(PathBuf::from(path))),
                _ => Err(format!(
                    "unknown init \"{s}\"; expected \"lecun\", \"he\", \"xavier\" or \"npy:PATH\""
                )),
            },
        }
    }
}

impl From<InitName> for String {
    fn from(i: InitName) -> String {
        match i {
            InitName::Lecun => "lecun".into(),
            InitName::He => "he".into(),
            InitName::Xavier => "xavier".into(),
            InitName::Npy(p) => format!("npy:{}", p.display()),
        }
    }
}

/// The network and its initialization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Model spec string of `gdscope-nn`, e.g. `mlp:20-256-256-4:gelu-tanh`.
    pub spec: String,
    /// Initialization: a scheme seeded by the top-level `seed`, or `"npy:PATH"`.
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

/// Checkpoint cadence and retention (docs/training.md "Checkpoint, interrupts and resume").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// Write a checkpoint (state only: its size does not grow with the steps) every this many
    /// steps; 0: only at the start, at the end and when interrupted.
    pub every: u64,
    /// Also keep the latest `keep` checkpoints as `checkpoints/step-<T>.bin` (forks start
    /// from them); 0 keeps none besides `checkpoint.bin`.
    pub keep: usize,
    /// Also checkpoint at every multiple of this many steps and keep those for good (0: none).
    pub keep_every: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every: 500,
            keep: 0,
            keep_every: 0,
        }
    }
}

impl CheckpointConfig {
    /// Whether a checkpoint is due after `done` steps (besides the start, the end and
    /// interrupts).
    pub fn due(&self, done: u64) -> bool {
        (self.every > 0 && done % self.every == 0)
            || (self.keep_every > 0 && done % self.keep_every == 0)
    }

    /// Whether the checkpoint at `step` is kept for good.
    pub fn kept_for_good(&self, step: u64) -> bool {
        self.keep_every > 0 && step % self.keep_every == 0
    }
}

/// Where a fork comes from: its parent run and the step of the parent's state it starts
/// from. `changes` and `replayed_from` are records, filled in when the fork starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkOrigin {
    /// The parent's run directory (absolute).
    pub parent: PathBuf,
    /// The parent's state after this many steps is the fork's start; the fork's metrics hold
    /// the parent's rows of the steps before it.
    pub step: u64,
    /// When no checkpoint of the parent was kept at `step`: the step of the checkpoint (or 0,
    /// the start) from which the parent was replayed up to `step`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_from: Option<u64>,
    /// The settings that differ from the parent's (dotted path → the fork's value).
    #[serde(default)]
    pub changes: toml::Table,
}

impl TrainConfig {
    /// Parses a TOML document, applies `overrides` (`path.to.field=value`, value in TOML
    /// syntax, bare words taken as strings) and validates the result. Errors name the
    /// field's path and its line in `text` (or the override that set it).
    pub fn from_toml(text: &str, overrides: &[String]) -> anyhow::Result<Self> {
        let mut table: toml::Table =
            toml::from_str(text).context("the config is not valid TOML")?;
        reject_replaced_fields(&table)?;
        let defaults = toml::Table::try_from(Self::default())
            .context("cannot serialize the default config")?;
        for o in overrides {
            apply_override(&mut table, &defaults, o)?;
        }
        let config: Self = crate::config_errors::deserialize(table, text, overrides)?;
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

    /// The dynamics of this run (what `gdscope_dynamics::Driver` runs).
    pub fn run_spec(&self) -> RunSpec {
        RunSpec {
            seed: self.seed,
            steps: self.steps,
            batch_size: self.batch_size,
            optimizer: self.optimizer.clone(),
            schedule: self.schedule,
            processes: self.processes.clone(),
            process: self.process.clone(),
            tracking: self.tracking.clone(),
            stop: self.stop.clone(),
            noise: self.gradient_noise,
        }
    }

    /// Checks cross-field constraints; messages name the field and the allowed range.
    pub fn validate(&self) -> anyhow::Result<()> {
        self.run_spec().validate()
    }
}

/// Fields that no longer exist, with what replaced them (a clearer message than "unknown
/// field").
fn reject_replaced_fields(table: &toml::Table) -> anyhow::Result<()> {
    let tracking = table.get("tracking").and_then(toml::Value::as_table);
    for field in ["flow", "flow_rate", "flow_power_iters"] {
        if tracking.is_some_and(|t| t.contains_key(field)) {
            bail!(
                "tracking.{field} was replaced by the `stable` process: write \
                 processes = [\"discrete\", \"stable\"] (its settings are in [process.stable]: \
                 rate, max_sharpness; see docs/training.md)"
            );
        }
    }
    Ok(())
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
                "processes=[\"discrete\", \"stable\"]".into(),
            ],
        )
        .unwrap();
        assert_eq!(
            (c.optimizer.lr(), c.steps, c.processes.len()),
            (0.04, 500, 2)
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

    /// `processes` and the per-process sections: overrides of `[tracking]` and the stable
    /// flow's settings, every default written out, errors naming the process's field.
    #[test]
    fn processes_and_per_process_overrides() {
        let text = "processes = [\"discrete\", \"stable\"]\n[tracking]\nevery = 10\n\
                    [process.stable]\nrate = 0.25\n[process.stable.tracking]\nevery = 5\ntol = 1e-9\n";
        let c = TrainConfig::from_toml(text, &[]).unwrap();
        let spec = c.run_spec();
        let stable = spec.process.tracking(ProcessName::Stable, &spec.tracking);
        let discrete = spec.process.tracking(ProcessName::Discrete, &spec.tracking);
        assert_eq!((stable.every, stable.tol, discrete.every), (5, 1e-9, 10));
        assert_eq!(c.process.stable.rate, 0.25);
        let saved = c.to_toml().unwrap();
        assert!(
            saved.contains("[process.stable]") && saved.contains("max_sharpness"),
            "{saved}"
        );
        assert_eq!(TrainConfig::from_toml(&saved, &[]).unwrap(), c);
        let e =
            TrainConfig::from_toml("[process.midpoint.tracking]\ntop_k = 20\n", &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("process.midpoint.tracking.max_k"),
            "{e:#}"
        );
        let e = TrainConfig::from_toml("processes = [\"stabel\"]\n", &[]).unwrap_err();
        assert!(
            format!("{e:#}").contains("stabel") && format!("{e:#}").contains("line 1"),
            "{e:#}"
        );
        let e = TrainConfig::from_toml(
            "processes = [\"stable\"]\n[optimizer]\nkind = \"adam\"\nlr = 0.1\n",
            &[],
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("`adam` has none"), "{e:#}");
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

//! The sweep directory and its manifest `sweep.toml` (docs/sweeps.md "The sweep directory"):
//! the base configuration, the axes, one stable id and run directory per member, the Slurm
//! options, and a record of every launch (backend, members, Slurm job id).
//!
//! ```text
//! runs/lr-sweep/
//! ├── sweep.toml          # this manifest
//! ├── runs/000-lr0.01/    # one gdscope train run directory per member, plus member.json
//! ├── slurm/              # sbatch scripts, and tasks/<index> links to the member directories
//! ├── sweep.parquet       # written by collect: one row per member
//! └── metrics.parquet     # written by collect: long form, one row per member and step
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use gdscope_train::config::TrainConfig;
use serde::{Deserialize, Serialize};

use crate::axes::Axis;
use crate::slurm::SlurmOptions;

/// File name of the manifest inside a sweep directory.
pub const MANIFEST_FILE: &str = "sweep.toml";

/// Version of the manifest layout.
pub const FORMAT: u32 = 1;

/// Contents of `sweep.toml`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Layout version ([`FORMAT`]).
    pub format: u32,
    /// Name of the sweep (Slurm job name, figure titles).
    pub name: String,
    /// When the sweep was created (UTC).
    pub created: String,
    /// Version of gdscope that created it.
    pub gdscope_version: String,
    /// The swept settings, zipped axes first.
    pub axes: Vec<AxisRecord>,
    /// One entry per member, by index.
    pub members: Vec<Member>,
    /// Slurm options of the latest Slurm launch (`[slurm]` of the config plus flags).
    #[serde(default)]
    pub slurm: SlurmOptions,
    /// Every launch of the sweep, oldest first.
    #[serde(default)]
    pub launches: Vec<Launch>,
    /// The base training configuration as given (file plus `--set`), before the axes are
    /// applied. Each member's resolved configuration is its run directory's `config.toml`.
    pub base: toml::Table,
}

/// A swept setting in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AxisRecord {
    /// Dotted setting path.
    pub key: String,
    /// The values in order.
    pub values: Vec<toml::Value>,
    /// True for a zipped axis, false for a grid axis.
    pub zip: bool,
}

impl AxisRecord {
    /// The record of `axis`.
    pub fn new(axis: &Axis, zip: bool) -> Self {
        Self {
            key: axis.key.clone(),
            values: axis.values.clone(),
            zip,
        }
    }
}

/// One member of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    /// Position in the sweep (the Slurm array task id).
    pub index: usize,
    /// Stable id: zero-padded index plus the settings (e.g. `003-lr0.04-seed1`).
    pub id: String,
    /// Run directory relative to the sweep directory (`runs/<id>`).
    pub dir: String,
    /// The member's settings: swept key → value.
    pub settings: toml::Table,
}

impl Member {
    /// `key=value` overrides that turn the base configuration into this member's.
    pub fn overrides(&self) -> Vec<String> {
        self.settings
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// Short label of the settings for legends, e.g. `lr=0.04, seed=1` (keys in alphabetical
    /// order).
    pub fn label(&self) -> String {
        let last = |k: &str| k.rsplit('.').next().unwrap_or(k).to_string();
        let shorts: Vec<String> = self.settings.keys().map(|k| last(k)).collect();
        let unique = shorts
            .iter()
            .collect::<std::collections::BTreeSet<_>>()
            .len()
            == shorts.len();
        self.settings
            .iter()
            .zip(&shorts)
            .map(|((k, v), short)| {
                let name = if unique { short.as_str() } else { k.as_str() };
                format!("{name}={}", display_value(v))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// A value as a person writes it: strings without quotes, numbers in shortest form.
pub fn display_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One launch of the sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Launch {
    /// `local` or `slurm`.
    pub backend: String,
    /// When (UTC).
    pub time: String,
    /// Indices of the members it ran or submitted.
    pub members: Vec<usize>,
    /// Slurm job id of the array (slurm backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// The sbatch script, relative to the sweep directory (slurm backend).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script: Option<String>,
    /// Host that launched it.
    pub host: String,
}

/// An open sweep directory.
#[derive(Debug, Clone)]
pub struct Sweep {
    /// Absolute path of the sweep directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
}

impl Sweep {
    /// Opens the sweep in `dir` (reads `dir/sweep.toml`).
    pub fn open(dir: &Path) -> Result<Self> {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot resolve the path {}", dir.display()))?;
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a gdscope sweep directory?)",
                path.display(),
                dir.display()
            )
        })?;
        let manifest: Manifest = toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "{} is not a valid sweep manifest: {}",
                path.display(),
                e.message()
            )
        })?;
        ensure!(
            manifest.format == FORMAT,
            "{} has format {}, but this gdscope reads format {FORMAT}",
            path.display(),
            manifest.format
        );
        for (i, m) in manifest.members.iter().enumerate() {
            ensure!(
                m.index == i,
                "{}: member {} is listed at position {i}; the manifest was edited by hand?",
                path.display(),
                m.index
            );
        }
        Ok(Self { dir, manifest })
    }

    /// Writes the manifest atomically.
    pub fn save(&self) -> Result<()> {
        let text = toml::to_string_pretty(&self.manifest).context("cannot encode sweep.toml")?;
        let path = self.dir.join(MANIFEST_FILE);
        gdscope_io::write_atomic(&path, text.as_bytes())
            .with_context(|| format!("cannot write {}", path.display()))
    }

    /// The member with index `index`.
    pub fn member(&self, index: usize) -> Result<&Member> {
        match self.manifest.members.get(index) {
            Some(m) => Ok(m),
            None => bail!(
                "the sweep in {} has {} members (indices 0 to {}); there is no member {index}",
                self.dir.display(),
                self.manifest.members.len(),
                self.manifest.members.len().saturating_sub(1)
            ),
        }
    }

    /// Absolute run directory of `member`.
    pub fn member_dir(&self, member: &Member) -> PathBuf {
        self.dir.join(&member.dir)
    }

    /// The member's resolved training configuration: the base with its settings applied
    /// (what `gdscope train --config BASE --set key=value …` would run). A fork (a base with
    /// `[fork]`) is checked against its parent, and its changed settings recorded.
    pub fn member_config(&self, member: &Member) -> Result<TrainConfig> {
        let base = toml::to_string(&self.manifest.base).context("cannot encode the base config")?;
        let mut config = TrainConfig::from_toml(&base, &member.overrides())
            .with_context(|| format!("member {} ({})", member.index, member.label()))?;
        if config.fork.is_some() {
            gdscope_train::fork::verify(&mut config)
                .with_context(|| format!("member {} ({})", member.index, member.label()))?;
        }
        Ok(config)
    }

    /// Appends a launch record and saves the manifest.
    pub fn record_launch(&mut self, launch: Launch) -> Result<()> {
        self.manifest.launches.push(launch);
        self.save()
    }

    /// The latest Slurm launch that included member `index`.
    pub fn latest_slurm_launch(&self, index: usize) -> Option<&Launch> {
        self.manifest
            .launches
            .iter()
            .rev()
            .find(|l| l.backend == "slurm" && l.job_id.is_some() && l.members.contains(&index))
    }
}

/// The stable id of a member: its zero-padded index, then each setting as a short name and
/// value (characters outside `[A-Za-z0-9._+-]` dropped), at most 80 characters.
pub fn member_id(index: usize, width: usize, settings: &[(String, toml::Value)]) -> String {
    let mut id = format!("{index:0width$}");
    for (key, value) in settings {
        let short = key.rsplit('.').next().unwrap_or(key);
        let text = match value {
            toml::Value::Float(f) => compact_float(*f),
            other => display_value(other),
        };
        let slug: String = format!("{short}{text}")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || "._+-".contains(*c))
            .collect();
        id.push('-');
        id.push_str(&slug);
    }
    id.chars().take(80).collect()
}

/// A float in at most 4 significant digits, shortest form (`0.001`, `2.154e-3`).
fn compact_float(v: f64) -> String {
    let short = format!("{v}");
    if short.len() <= 7 {
        return short;
    }
    let rounded: f64 = format!("{v:.3e}").parse().unwrap_or(v);
    let plain = format!("{rounded}");
    if plain.len() <= 8 {
        plain
    } else {
        format!("{rounded:e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toml::Value::{Float, Integer, String as Str};

    #[test]
    fn ids_are_readable_and_padded() {
        let s = vec![
            ("optimizer.lr".to_string(), Float(0.0021544346900318843)),
            ("seed".to_string(), Integer(1)),
        ];
        assert_eq!(member_id(3, 3, &s), "003-lr0.002154-seed1");
        let s = vec![
            ("optimizer.kind".to_string(), Str("adam w/x".into())),
            ("optimizer.lr".to_string(), Float(0.04)),
        ];
        assert_eq!(member_id(12, 2, &s), "12-kindadamwx-lr0.04");
        assert_eq!(compact_float(1e-5), "0.00001");
        assert_eq!(compact_float(123456.789), "123500");
        assert_eq!(compact_float(1.23456789e-9), "1.235e-9");
    }

    #[test]
    fn labels_use_short_names_unless_ambiguous() {
        let mut settings = toml::Table::new();
        settings.insert("optimizer.lr".into(), Float(0.04));
        settings.insert("seed".into(), Integer(1));
        let m = Member {
            index: 0,
            id: "x".into(),
            dir: "runs/x".into(),
            settings: settings.clone(),
        };
        assert_eq!(m.label(), "lr=0.04, seed=1");
        assert_eq!(m.overrides(), ["optimizer.lr=0.04", "seed=1"]);
        settings.insert("schedule.lr".into(), Str("cosine".into()));
        let m = Member { settings, ..m };
        assert_eq!(m.label(), "optimizer.lr=0.04, schedule.lr=cosine, seed=1");
    }
}

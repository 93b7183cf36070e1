//! What a sweep is before it exists on disk: the base training configuration, the axes, a
//! name, and launch preferences — read from a config file with optional `[sweep]` and
//! `[slurm]` sections plus command-line flags — and [`SweepSpec::create`], which writes the
//! sweep directory (manifest, one run directory and resolved `config.toml` per member).
//!
//! ```toml
//! steps = 500                      # any training setting: the base of every member
//! [optimizer]
//! lr = 0.04
//!
//! [sweep]
//! name = "lr-seed"                 # optional
//! backend = "local"                # or "slurm"
//! workers = 2                      # local backend
//! [sweep.grid]                     # every combination
//! "optimizer.lr" = "logspace(1e-3,1e-1,7)"
//! seed = [0, 1]
//! [sweep.zip]                      # advance together
//!
//! [slurm]                          # see slurm::SlurmOptions
//! partition = "cpu"
//! time = "01:00:00"
//! ```

use std::path::Path;

use anyhow::{bail, ensure, Context, Result};
use gdscope_train::config::{apply_override, TrainConfig};
use serde::{Deserialize, Serialize};

use crate::axes::{Axis, Design};
use crate::manifest::{self, AxisRecord, Manifest, Member, Sweep, MANIFEST_FILE};
use crate::slurm::SlurmOptions;

/// Where members run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// Worker threads on this machine.
    #[default]
    Local,
    /// An `sbatch --array` job.
    Slurm,
}

impl std::str::FromStr for Backend {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "local" => Ok(Self::Local),
            "slurm" => Ok(Self::Slurm),
            _ => bail!("unknown backend `{s}`; use local or slurm"),
        }
    }
}

/// The `[sweep]` section of a config file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepSection {
    name: Option<String>,
    backend: Option<Backend>,
    workers: Option<usize>,
    threads_per_worker: Option<usize>,
    #[serde(default)]
    grid: toml::Table,
    #[serde(default)]
    zip: toml::Table,
}

/// A sweep to create.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepSpec {
    /// Base training configuration (a config file's table with `--set` applied).
    pub base: toml::Table,
    /// The axes.
    pub design: Design,
    /// Name (default: the output directory's name).
    pub name: Option<String>,
    /// Backend from `[sweep] backend`, if given.
    pub backend: Option<Backend>,
    /// Local workers from `[sweep] workers`, if given.
    pub workers: Option<usize>,
    /// Threads per local worker from `[sweep] threads_per_worker`, if given.
    pub threads_per_worker: Option<usize>,
    /// `[slurm]` options.
    pub slurm: SlurmOptions,
}

impl SweepSpec {
    /// Reads a config file (or none: the training defaults), applies the `--set` overrides to
    /// the base, and adds the `--grid` / `--zip` axes to those of its `[sweep]` section.
    pub fn load(
        config: Option<&Path>,
        sets: &[String],
        grid: &[String],
        zip: &[String],
    ) -> Result<Self> {
        let text = match config {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?,
            None => String::new(),
        };
        let mut spec = Self::from_toml(&text, sets).with_context(|| match config {
            Some(p) => format!("in config file {}", p.display()),
            None => "in the sweep settings".to_string(),
        })?;
        spec.add_axes(grid, zip)?;
        Ok(spec)
    }

    /// A sweep of forks (docs/sweeps.md "Sweeps of forks"): every member is a fork of the run
    /// in `parent` at step `at_step` (default: its last checkpoint) — the base is the parent's
    /// configuration with `[fork]` pointing at that state, `sets` change it for every member,
    /// and the `--grid` / `--zip` axes are the interventions.
    pub fn load_fork(
        parent: &Path,
        at_step: Option<u64>,
        sets: &[String],
        grid: &[String],
        zip: &[String],
    ) -> Result<Self> {
        let base = gdscope_train::fork::fork_base(parent, at_step)?;
        let mut spec = Self::from_toml(&base.to_toml()?, sets)?;
        spec.add_axes(grid, zip)?;
        Ok(spec)
    }

    /// Adds `--grid` / `--zip` axes (`KEY=VALUES`) to those of the file.
    pub fn add_axes(&mut self, grid: &[String], zip: &[String]) -> Result<()> {
        for a in grid {
            self.design.grid.push(Axis::parse(a)?);
        }
        for a in zip {
            self.design.zip.push(Axis::parse(a)?);
        }
        self.design.validate()
    }

    /// [`load`](Self::load) from TOML text, without command-line axes.
    pub fn from_toml(text: &str, sets: &[String]) -> Result<Self> {
        let mut base: toml::Table =
            toml::from_str(text).map_err(|e| anyhow::anyhow!("not valid TOML: {}", e.message()))?;
        let section: SweepSection = match base.remove("sweep") {
            Some(v) => v
                .try_into()
                .map_err(|e: toml::de::Error| anyhow::anyhow!("[sweep]: {}", e.message()))?,
            None => SweepSection::default(),
        };
        let slurm: SlurmOptions = match base.remove("slurm") {
            Some(v) => v
                .try_into()
                .map_err(|e: toml::de::Error| anyhow::anyhow!("[slurm]: {}", e.message()))?,
            None => SlurmOptions::default(),
        };
        let defaults = toml::Table::try_from(TrainConfig::default())
            .context("cannot encode the default training config")?;
        for s in sets {
            apply_override(&mut base, &defaults, s)?;
        }
        let axes = |table: &toml::Table| -> Result<Vec<Axis>> {
            table.iter().map(|(k, v)| Axis::from_toml(k, v)).collect()
        };
        Ok(Self {
            base,
            design: Design {
                grid: axes(&section.grid).context("in [sweep.grid]")?,
                zip: axes(&section.zip).context("in [sweep.zip]")?,
            },
            name: section.name,
            backend: section.backend,
            workers: section.workers,
            threads_per_worker: section.threads_per_worker,
            slurm,
        })
    }

    /// The manifest of this sweep (members resolved and validated; nothing written).
    pub fn manifest(&self, name: &str) -> Result<Manifest> {
        self.design.validate()?;
        let points = self.design.points();
        let width = points.len().saturating_sub(1).to_string().len().max(3);
        let members: Vec<Member> = points
            .iter()
            .enumerate()
            .map(|(index, settings)| {
                let id = manifest::member_id(index, width, settings);
                Member {
                    index,
                    dir: format!("runs/{id}"),
                    id,
                    settings: settings.iter().cloned().collect(),
                }
            })
            .collect();
        let mut axes: Vec<AxisRecord> = self
            .design
            .zip
            .iter()
            .map(|a| AxisRecord::new(a, true))
            .collect();
        axes.extend(self.design.grid.iter().map(|a| AxisRecord::new(a, false)));
        Ok(Manifest {
            format: manifest::FORMAT,
            name: self.name.clone().unwrap_or_else(|| name.to_string()),
            created: crate::process::utc_now(),
            gdscope_version: env!("CARGO_PKG_VERSION").to_string(),
            axes,
            members,
            slurm: self.slurm.clone(),
            launches: Vec::new(),
            base: self.base.clone(),
        })
    }

    /// Writes the sweep into `dir`: `sweep.toml` and, per member, its run directory with the
    /// resolved `config.toml`. Every member's configuration is checked first, so a typo in a
    /// key or an invalid value stops here, naming the member.
    ///
    /// When `dir` already holds the same sweep (same base, axes and members), it is opened
    /// as is, to be continued; a different sweep there is an error.
    pub fn create(&self, dir: &Path) -> Result<Sweep> {
        let dir = std::path::absolute(dir)
            .with_context(|| format!("cannot resolve the path {}", dir.display()))?;
        let name = dir
            .file_name()
            .map_or("sweep".into(), |n| n.to_string_lossy().into_owned());
        let fresh = self.manifest(&name)?;
        if dir.join(MANIFEST_FILE).exists() {
            let mut existing = Sweep::open(&dir)?;
            let m = &existing.manifest;
            ensure!(
                m.base == fresh.base && m.axes == fresh.axes && m.members == fresh.members,
                "{} already holds a different sweep; continue it with `gdscope sweep --resume {}` or choose another --out",
                dir.display(),
                dir.display()
            );
            if self.slurm != SlurmOptions::default() {
                existing.manifest.slurm = self.slurm.clone();
                existing.save()?;
            }
            return Ok(existing);
        }
        if dir.exists() && std::fs::read_dir(&dir)?.next().is_some() {
            bail!(
                "{} exists, is not empty and holds no sweep.toml; choose another --out",
                dir.display()
            );
        }
        let sweep = Sweep {
            dir,
            manifest: fresh,
        };
        let configs: Vec<TrainConfig> = sweep
            .manifest
            .members
            .iter()
            .map(|m| sweep.member_config(m))
            .collect::<Result<_>>()?;
        for (member, config) in sweep.manifest.members.iter().zip(&configs) {
            let run = gdscope_io::RunDir::create(&sweep.member_dir(member), false)?;
            run.write_bytes("config.toml", config.to_toml()?.as_bytes())?;
        }
        sweep.save()?;
        Ok(sweep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"
steps = 7
[model]
spec = "mlp:5-8-3:tanh"
[sweep]
name = "tiny"
workers = 2
[sweep.grid]
"optimizer.lr" = [0.1, 0.2]
seed = "range(0,2)"
[slurm]
partition = "short"
max_concurrent = 3
"#;

    #[test]
    fn file_sections_and_flags() {
        let spec = SweepSpec::from_toml(FILE, &["data.n=40".into()]).unwrap();
        assert_eq!(spec.name.as_deref(), Some("tiny"));
        assert_eq!(spec.workers, Some(2));
        assert_eq!(spec.slurm.partition.as_deref(), Some("short"));
        assert_eq!(spec.design.grid.len(), 2);
        assert!(spec.base.get("sweep").is_none() && spec.base.get("slurm").is_none());
        assert_eq!(spec.base["data"]["n"].as_integer(), Some(40));
        let m = spec.manifest("x").unwrap();
        assert_eq!(m.members.len(), 4);
        assert_eq!(m.members[1].id, "001-lr0.1-seed1");
        assert_eq!(m.name, "tiny");
    }

    #[test]
    fn unknown_sections_fields_and_bad_members_are_named() {
        let e = SweepSpec::from_toml("[sweep]\ngird = 1", &[]).unwrap_err();
        assert!(format!("{e:#}").contains("gird"), "{e:#}");
        let e = SweepSpec::from_toml("[slurm]\npartion = \"a\"", &[]).unwrap_err();
        assert!(format!("{e:#}").contains("partion"), "{e:#}");
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SweepSpec::from_toml("", &[]).unwrap();
        spec.design
            .grid
            .push(Axis::parse("optimizer.lrr=0.1,0.2").unwrap());
        let e = spec.create(&dir.path().join("s")).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("member 0 (lrr=0.1)") && e.contains("lrr"), "{e}");
        assert!(
            !dir.path().join("s").exists(),
            "nothing written for an invalid sweep"
        );
    }

    #[test]
    fn create_writes_members_and_reopens_the_same_sweep() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("sw");
        let spec = SweepSpec::from_toml(FILE, &[]).unwrap();
        let sweep = spec.create(&out).unwrap();
        assert_eq!(sweep.manifest.members.len(), 4);
        let cfg = std::fs::read_to_string(out.join("runs/002-lr0.2-seed0/config.toml")).unwrap();
        assert!(
            cfg.contains("lr = 0.2") && cfg.contains("steps = 7"),
            "{cfg}"
        );
        let again = spec.create(&out).unwrap();
        assert_eq!(again.manifest, sweep.manifest);
        let reopened = Sweep::open(&out).unwrap();
        assert_eq!(reopened.manifest, sweep.manifest);
        let other = SweepSpec::from_toml(FILE, &["steps=8".into()]).unwrap();
        let e = other.create(&out).unwrap_err().to_string();
        assert!(
            e.contains("different sweep") && e.contains("--resume"),
            "{e}"
        );
        std::fs::create_dir_all(dir.path().join("busy")).unwrap();
        std::fs::write(dir.path().join("busy/x"), "x").unwrap();
        let e = spec
            .create(&dir.path().join("busy"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("not empty"), "{e}");
    }
}

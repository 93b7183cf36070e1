//! Checkpoints: the resolved configuration and the driver's state — weights, optimizer
//! states, eigenvector caches and k of every process, observers' memories (previous update,
//! projection reference), step, status, initial loss — plus the length of the metrics log at
//! that step. No metrics: the size does not grow with the number of steps.
//!
//! Format (`checkpoint.bin`): the magic bytes `GDSCKPT3`, a [postcard](https://docs.rs/postcard)
//! body `(config TOML text, driver state, metrics log length)`, and the CRC-32 (IEEE) of the
//! body, little-endian. Every `f64` is stored as its 8 IEEE bytes, so a resumed run continues
//! from bit-identical numbers; a damaged file fails the checksum and is refused. The config
//! travels as TOML text (shortest round-trip floats) because its tagged enums need a
//! self-describing format.
//!
//! Kept checkpoints (`checkpoint.keep`, `checkpoint.keep_every`; forks start from them) are
//! `checkpoints/step-<T>.bin`: the same bytes as `checkpoint.bin` was at step `T` (a hard
//! link to it, or a copy where the file system has no links), so they too are state only and
//! checksummed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gdscope_dynamics::DriverState;

use crate::config::{CheckpointConfig, TrainConfig};

/// File name of the checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

/// Directory of the retained (kept) checkpoints inside a run directory.
pub const RETAINED_DIR: &str = "checkpoints";

const MAGIC: &[u8; 8] = b"GDSCKPT3";
/// Earlier formats, refused with what changed: 1 stored every metrics row; 2 had no run
/// precision (the `discrete` process's `f32` vectors, docs/ARCHITECTURE.md "Run precision").
const OLD_MAGICS: [(&[u8; 8], &str); 2] = [
    (b"GDSCKPT1", "format 1, which stored every metrics row"),
    (
        b"GDSCKPT2",
        "format 2, before runs kept their vectors in their own precision",
    ),
];

/// A resumable snapshot of a run.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    /// The run's resolved configuration.
    pub config: TrainConfig,
    /// Everything the driver carries between steps.
    pub driver: DriverState,
    /// Bytes of `metrics.csv` that belong to the steps before this checkpoint.
    pub metrics_len: u64,
}

impl Checkpoint {
    /// Encodes the checkpoint (see the module docs).
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let body = postcard::to_stdvec(&(self.config.to_toml()?, &self.driver, self.metrics_len))
            .context("cannot encode the checkpoint")?;
        let crc = crc32fast::hash(&body);
        Ok([MAGIC.as_slice(), &body, &crc.to_le_bytes()].concat())
    }

    /// Decodes bytes written by [`to_bytes`](Self::to_bytes), verifying the checksum.
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        if let Some((_, what)) = OLD_MAGICS.iter().find(|(m, _)| bytes.starts_with(*m)) {
            anyhow::bail!(
                "this checkpoint was written by an older gdscope ({what}); it cannot be resumed \
                 by this version — start the run again"
            );
        }
        let rest = bytes.strip_prefix(MAGIC.as_slice()).context(
            "not a gdscope checkpoint (wrong magic bytes; written by another program or version?)",
        )?;
        anyhow::ensure!(rest.len() >= 4, "the checkpoint is truncated");
        let (body, tail) = rest.split_at(rest.len() - 4);
        let stored = u32::from_le_bytes(tail.try_into().expect("4 bytes"));
        let computed = crc32fast::hash(body);
        anyhow::ensure!(
            stored == computed,
            "the checkpoint is corrupted (CRC-32 {computed:08x} does not match the stored \
             {stored:08x}): the file was damaged after it was written; resume from a copy or \
             start the run again"
        );
        let (config_text, driver, metrics_len): (String, DriverState, u64) =
            postcard::from_bytes(body).context("the checkpoint is truncated or corrupt")?;
        let config = TrainConfig::from_toml(&config_text, &[])
            .context("the checkpoint's config is invalid")?;
        Ok(Self {
            config,
            driver,
            metrics_len,
        })
    }

    /// Writes `dir/checkpoint.bin` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(CHECKPOINT_FILE);
        gdscope_io::write_atomic(&path, &self.to_bytes()?)
            .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }

    /// Reads and verifies `dir/checkpoint.bin`.
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let path = dir.join(CHECKPOINT_FILE);
        anyhow::ensure!(
            path.exists(),
            "cannot read {} (is {} a gdscope train run directory?)",
            path.display(),
            dir.display()
        );
        Self::load_file(&path)
    }

    /// Reads and verifies the checkpoint file `path`.
    pub fn load_file(path: &Path) -> anyhow::Result<Self> {
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        Self::from_bytes(&bytes).with_context(|| format!("in {}", path.display()))
    }
}

/// Path of the kept checkpoint of step `step` in the run directory `dir`.
pub fn retained_path(dir: &Path, step: u64) -> PathBuf {
    dir.join(RETAINED_DIR).join(format!("step-{step:08}.bin"))
}

/// Steps of the kept checkpoints in `dir`, ascending.
pub fn retained_steps(dir: &Path) -> Vec<u64> {
    let mut steps: Vec<u64> = std::fs::read_dir(dir.join(RETAINED_DIR))
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_prefix("step-")?
                .strip_suffix(".bin")?
                .parse()
                .ok()
        })
        .collect();
    steps.sort_unstable();
    steps
}

/// Keeps the checkpoint just written (`dir/checkpoint.bin`, of step `step`) as
/// `checkpoints/step-<step>.bin` when `policy` asks for it, then removes the oldest kept
/// checkpoints beyond the latest `policy.keep` (those at multiples of `policy.keep_every`
/// stay).
pub fn retain(dir: &Path, step: u64, policy: &CheckpointConfig) -> anyhow::Result<()> {
    if policy.keep == 0 && !policy.kept_for_good(step) {
        return Ok(());
    }
    let kept = retained_path(dir, step);
    let parent = kept.parent().expect("inside checkpoints/");
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    if kept.exists() {
        std::fs::remove_file(&kept)
            .with_context(|| format!("cannot replace {}", kept.display()))?;
    }
    let current = dir.join(CHECKPOINT_FILE);
    // checkpoint.bin is replaced by a rename at the next checkpoint, so the link keeps this one.
    if std::fs::hard_link(&current, &kept).is_err() {
        let bytes = std::fs::read(&current)
            .with_context(|| format!("cannot read {}", current.display()))?;
        gdscope_io::write_atomic(&kept, &bytes)
            .with_context(|| format!("cannot write {}", kept.display()))?;
    }
    let rolling: Vec<u64> = retained_steps(dir)
        .into_iter()
        .filter(|&s| !policy.kept_for_good(s))
        .collect();
    for &old in rolling.iter().rev().skip(policy.keep) {
        let path = retained_path(dir, old);
        std::fs::remove_file(&path)
            .with_context(|| format!("cannot remove the old checkpoint {}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_formats_are_refused_with_a_reason() {
        for (magic, what) in OLD_MAGICS {
            let e = Checkpoint::from_bytes(&[magic.as_slice(), &[0u8; 16]].concat()).unwrap_err();
            assert!(e.to_string().contains(what), "{e}");
        }
    }
}

//! Checkpoints: the resolved configuration and the driver's state — weights, optimizer
//! states, eigenvector caches and k of every process, observers' memories (previous update,
//! projection reference), step, status, initial loss — plus the length of the metrics log at
//! that step. No metrics: the size does not grow with the number of steps.
//!
//! Format (`checkpoint.bin`): the magic bytes `GDSCKPT2`, a [postcard](https://docs.rs/postcard)
//! body `(config TOML text, driver state, metrics log length)`, and the CRC-32 (IEEE) of the
//! body, little-endian. Every `f64` is stored as its 8 IEEE bytes, so a resumed run continues
//! from bit-identical numbers; a damaged file fails the checksum and is refused. The config
//! travels as TOML text (shortest round-trip floats) because its tagged enums need a
//! self-describing format.

use std::path::Path;

use anyhow::Context;
use gdscope_dynamics::DriverState;

use crate::config::TrainConfig;

/// File name of the checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

const MAGIC: &[u8; 8] = b"GDSCKPT2";
const OLD_MAGIC: &[u8; 8] = b"GDSCKPT1";

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
        if bytes.starts_with(OLD_MAGIC) {
            anyhow::bail!(
                "this checkpoint was written by an older gdscope (format 1, which stored every \
                 metrics row); it cannot be resumed by this version — start the run again"
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
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "cannot read {} (is {} a gdscope train run directory?)",
                path.display(),
                dir.display()
            )
        })?;
        Self::from_bytes(&bytes).with_context(|| format!("in {}", path.display()))
    }
}

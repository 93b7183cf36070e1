//! Checkpoints: the resolved configuration plus the complete [`TrainState`] (weights,
//! optimizer buffers, eigenvector cache, minibatch RNG, update-cosine and projection
//! references, flow state, metrics so far), in one file written atomically.
//!
//! Format (`checkpoint.bin`): the magic bytes `GDSCKPT1`, then a
//! [postcard](https://docs.rs/postcard) encoding of `(config TOML text, state)`. Every `f64`
//! is stored as its 8 IEEE bytes, so a resumed run continues from bit-identical numbers.
//! The config travels as TOML text (shortest round-trip float formatting) because its
//! tagged enums need a self-describing format.

use std::path::Path;

use anyhow::Context;

use crate::config::TrainConfig;
use crate::trainer::TrainState;

/// File name of the checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";

const MAGIC: &[u8; 8] = b"GDSCKPT1";

/// A resumable snapshot of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Checkpoint {
    /// The run's resolved configuration.
    pub config: TrainConfig,
    /// Everything carried between steps.
    pub state: TrainState,
}

impl Checkpoint {
    /// Encodes the checkpoint (see the module docs).
    pub fn to_bytes(&self) -> anyhow::Result<Vec<u8>> {
        let body = postcard::to_stdvec(&(self.config.to_toml()?, &self.state))
            .context("cannot encode the checkpoint")?;
        Ok([MAGIC.as_slice(), &body].concat())
    }

    /// Decodes bytes written by [`to_bytes`](Self::to_bytes).
    pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<Self> {
        let body = bytes.strip_prefix(MAGIC.as_slice()).context(
            "not a gdscope checkpoint (wrong magic bytes; written by another program or version?)",
        )?;
        let (config_text, state): (String, TrainState) =
            postcard::from_bytes(body).context("the checkpoint is truncated or corrupt")?;
        let config = TrainConfig::from_toml(&config_text, &[])
            .context("the checkpoint's config is invalid")?;
        Ok(Self { config, state })
    }

    /// Writes `dir/checkpoint.bin` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        let path = dir.join(CHECKPOINT_FILE);
        gdscope_io::write_atomic(&path, &self.to_bytes()?)
            .with_context(|| format!("cannot write checkpoint {}", path.display()))
    }

    /// Reads `dir/checkpoint.bin`.
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

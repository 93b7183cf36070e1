//! Seeded random blocks (reproducible across platforms: ChaCha8).

use gdscope_core::Block;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// A reproducible generator for `seed`.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// `n × k` block of independent standard normal entries.
pub(crate) fn gaussian_block(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Block {
    Block::from_fn(n, k, |_, _| rng.sample::<f64, _>(StandardNormal))
}

/// `n × k` block of independent Rademacher (±1) entries.
pub(crate) fn rademacher_block(n: usize, k: usize, rng: &mut ChaCha8Rng) -> Block {
    Block::from_fn(n, k, |_, _| if rng.random_bool(0.5) { 1.0 } else { -1.0 })
}

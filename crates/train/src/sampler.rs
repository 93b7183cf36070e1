//! Minibatch sampling without replacement: each epoch is a fresh random permutation of the
//! examples, cut into consecutive batches of `batch_size`; the incomplete tail batch of an
//! epoch is dropped (so every step averages over exactly `batch_size` examples, never an
//! unweighted mix of uneven batches — docs/theory.md §7).
//!
//! The whole state (generator, current permutation, cursor) is serializable, so a resumed
//! run draws exactly the batches an uninterrupted run would have drawn.

use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

/// Draws minibatches of example indices; see the module docs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MinibatchSampler {
    rng: Xoshiro256PlusPlus,
    perm: Vec<usize>,
    cursor: usize,
    batch_size: usize,
    epoch: u64,
}

impl MinibatchSampler {
    /// A sampler over `n` examples. Errors when `batch_size` is 0 or exceeds `n`.
    pub fn new(n: usize, batch_size: usize, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            batch_size >= 1 && batch_size <= n,
            "optimizer.batch_size = {batch_size} must lie between 1 and the number of training examples ({n}); \
             use 0 for full-batch training"
        );
        let mut s = Self {
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            perm: (0..n).collect(),
            cursor: 0,
            batch_size,
            epoch: 0,
        };
        s.perm.shuffle(&mut s.rng);
        Ok(s)
    }

    /// The next batch (sorted indices, so that the loss is summed in a fixed order).
    pub fn next_batch(&mut self) -> Vec<usize> {
        if self.cursor + self.batch_size > self.perm.len() {
            self.perm.shuffle(&mut self.rng);
            self.cursor = 0;
            self.epoch += 1;
        }
        let mut batch = self.perm[self.cursor..self.cursor + self.batch_size].to_vec();
        batch.sort_unstable();
        self.cursor += self.batch_size;
        batch
    }

    /// Completed passes over the data.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_batch_size_is_an_error() {
        assert!(MinibatchSampler::new(10, 0, 0).is_err());
        let e = MinibatchSampler::new(10, 11, 0).unwrap_err().to_string();
        assert!(e.contains("batch_size"), "{e}");
    }

    proptest! {
        /// Within an epoch the batches are disjoint and cover ⌊n/b⌋·b distinct examples;
        /// a serialized-then-restored sampler continues with identical batches.
        #[test]
        fn epochs_partition_and_state_round_trips(n in 1usize..60, b in 1usize..60, seed in any::<u64>()) {
            prop_assume!(b <= n);
            let mut s = MinibatchSampler::new(n, b, seed).unwrap();
            let per_epoch = n / b;
            let mut seen = std::collections::BTreeSet::new();
            for _ in 0..per_epoch {
                let batch = s.next_batch();
                prop_assert_eq!(batch.len(), b);
                for i in batch {
                    prop_assert!(i < n && seen.insert(i));
                }
            }
            prop_assert_eq!(s.epoch(), 0);
            let bytes = postcard::to_stdvec(&s).unwrap();
            let mut restored: MinibatchSampler = postcard::from_bytes(&bytes).unwrap();
            for _ in 0..3 {
                prop_assert_eq!(s.next_batch(), restored.next_batch());
            }
            prop_assert!(s.epoch() >= 1);
        }
    }
}

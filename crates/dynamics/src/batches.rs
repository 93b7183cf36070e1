//! Minibatches as a function of the step: step `t` of a run with `n` examples and batch size
//! `b` uses batch `j = t mod ⌊n/b⌋` of epoch `e = ⌊t / ⌊n/b⌋⌋`, where epoch `e` is a random
//! permutation of the examples seeded by `seeds::derive(seed, Batches, e)`, cut into
//! consecutive batches; the incomplete tail of an epoch is dropped (every step averages
//! exactly `b` examples, never an unweighted mix of uneven batches — docs/theory.md §7).
//!
//! Nothing here is state: a resumed or forked run at step `t` sees the batches the original
//! run would have seen. The current epoch's permutation is cached (no allocation in steady
//! state); indices within a batch are sorted so that the loss is summed in a fixed order.

use gdscope_core::seeds::{derive, Stream};
use rand::rngs::Xoshiro256PlusPlus;
use rand::seq::SliceRandom;
use rand::SeedableRng;

/// The minibatch schedule of a run; see the module docs.
#[derive(Debug, Clone)]
pub struct Batches {
    seed: u64,
    batch_size: usize,
    perm: Vec<usize>,
    epoch: Option<u64>,
    batch: Vec<usize>,
}

impl Batches {
    /// Batches of `batch_size` out of `n` examples. Errors when `batch_size` is 0 or above `n`.
    pub fn new(n: usize, batch_size: usize, seed: u64) -> anyhow::Result<Self> {
        anyhow::ensure!(
            batch_size >= 1 && batch_size <= n,
            "batch_size = {batch_size} must lie between 1 and the number of training examples \
             ({n}); use batch_size = 0 for full-batch training"
        );
        Ok(Self {
            seed,
            batch_size,
            perm: (0..n).collect(),
            epoch: None,
            batch: Vec::with_capacity(batch_size),
        })
    }

    /// Batches per epoch, `⌊n/b⌋`.
    pub fn per_epoch(&self) -> u64 {
        (self.perm.len() / self.batch_size) as u64
    }

    /// The epoch of step `t`.
    pub fn epoch_of(&self, t: u64) -> u64 {
        t / self.per_epoch()
    }

    /// The sorted example indices of step `t`.
    pub fn batch(&mut self, t: u64) -> &[usize] {
        let epoch = self.epoch_of(t);
        if self.epoch != Some(epoch) {
            self.perm.sort_unstable();
            let mut rng =
                Xoshiro256PlusPlus::seed_from_u64(derive(self.seed, Stream::Batches, epoch));
            self.perm.shuffle(&mut rng);
            self.epoch = Some(epoch);
        }
        let j = (t % self.per_epoch()) as usize * self.batch_size;
        self.batch.clear();
        self.batch
            .extend_from_slice(&self.perm[j..j + self.batch_size]);
        self.batch.sort_unstable();
        &self.batch
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bad_batch_size_is_an_error_naming_the_field() {
        assert!(Batches::new(10, 0, 0).is_err());
        let e = Batches::new(10, 11, 0).unwrap_err().to_string();
        assert!(
            e.contains("batch_size = 11") && !e.contains("optimizer."),
            "{e}"
        );
    }

    proptest! {
        /// Within an epoch the batches are disjoint and cover ⌊n/b⌋·b distinct examples; the
        /// batch of step t does not depend on which steps were drawn before (resume, fork).
        #[test]
        fn epochs_partition_and_steps_are_independent(n in 1usize..60, b in 1usize..60, seed in any::<u64>()) {
            prop_assume!(b <= n);
            let mut s = Batches::new(n, b, seed).unwrap();
            let per_epoch = s.per_epoch();
            let mut seen = std::collections::BTreeSet::new();
            for t in 0..per_epoch {
                let batch = s.batch(t).to_vec();
                prop_assert_eq!(batch.len(), b);
                for i in batch {
                    prop_assert!(i < n && seen.insert(i));
                }
            }
            let later: Vec<Vec<usize>> = (0..3 * per_epoch).map(|t| s.batch(t).to_vec()).collect();
            let mut fresh = Batches::new(n, b, seed).unwrap();
            for t in (0..3 * per_epoch).rev() {
                prop_assert_eq!(fresh.batch(t), &later[t as usize][..]);
            }
        }
    }
}

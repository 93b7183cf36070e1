//! Independent random minibatches for measurements and noise controls: each draw is a
//! uniformly random set of `b` distinct examples out of `n` (without replacement inside the
//! batch, as training batches are), independent of every other draw, so Monte Carlo samples
//! over batches are i.i.d. A stream of draws is a function of its seed alone (partial
//! Fisher–Yates from the identity permutation), so a resumed run draws the same batches.
//! Indices within a batch are sorted, so losses are summed in a fixed order.

use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};

/// A stream of independent random batches; see the module docs.
#[derive(Debug, Clone)]
pub struct RandomBatches {
    batch_size: usize,
    perm: Vec<usize>,
    batch: Vec<usize>,
    rng: Xoshiro256PlusPlus,
}

impl RandomBatches {
    /// Batches of `batch_size` out of `n` examples; errors unless `1 ≤ batch_size ≤ n`.
    /// `field` names the setting in the message.
    pub fn new(n: usize, batch_size: usize, field: &str) -> anyhow::Result<Self> {
        anyhow::ensure!(
            batch_size >= 1 && batch_size <= n,
            "{field} = {batch_size} must lie between 1 and the number of training examples ({n})"
        );
        Ok(Self {
            batch_size,
            perm: (0..n).collect(),
            batch: Vec::with_capacity(batch_size),
            rng: Xoshiro256PlusPlus::seed_from_u64(0),
        })
    }

    /// Whether a batch is the whole training set (every "random" batch is the same).
    pub fn is_whole_set(&self) -> bool {
        self.batch_size == self.perm.len()
    }

    /// Starts the stream of draws seeded by `seed`.
    pub fn start(&mut self, seed: u64) {
        self.rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        for (i, p) in self.perm.iter_mut().enumerate() {
            *p = i;
        }
    }

    /// The next batch (sorted indices).
    pub fn next_batch(&mut self) -> &[usize] {
        let n = self.perm.len();
        for i in 0..self.batch_size {
            let j = self.rng.random_range(i..n);
            self.perm.swap(i, j);
        }
        self.batch.clear();
        self.batch.extend_from_slice(&self.perm[..self.batch_size]);
        self.batch.sort_unstable();
        &self.batch
    }

    /// The generator (for other random draws of the same stream).
    pub fn rng(&mut self) -> &mut Xoshiro256PlusPlus {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_distinct_uniform_and_reproducible() {
        let (n, b) = (6, 2);
        let mut s = RandomBatches::new(n, b, "x").unwrap();
        s.start(11);
        let mut counts = vec![0usize; n];
        let mut first = Vec::new();
        for k in 0..30_000 {
            let batch = s.next_batch().to_vec();
            assert!(batch.len() == b && batch[0] < batch[1]);
            batch.iter().for_each(|&i| counts[i] += 1);
            if k < 5 {
                first.push(batch);
            }
        }
        // Each example is in a batch with probability b/n = 1/3.
        for c in counts {
            assert!((c as f64 / 30_000.0 - 1.0 / 3.0).abs() < 0.01, "{c}");
        }
        s.start(11);
        for f in first {
            assert_eq!(s.next_batch(), &f[..]);
        }
        assert!(RandomBatches::new(3, 4, "tracking.x")
            .unwrap_err()
            .to_string()
            .contains("tracking.x = 4"));
        assert!(RandomBatches::new(3, 3, "x").unwrap().is_whole_set());
    }
}

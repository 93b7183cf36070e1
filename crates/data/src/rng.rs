//! Seeded random streams. Every generator draws from ChaCha8 (`rand::rngs::ChaCha8Rng`) keyed
//! by the spec's `seed`, on one of three independent streams (the ChaCha nonce):
//!
//! | stream | what it draws |
//! |---|---|
//! | [`Stream::Problem`] (0) | the task itself: teacher weights, mixture means, image class patterns |
//! | [`Stream::Train`] (1) | training examples (inputs, classes, noise), example by example |
//! | [`Stream::Test`] (2) | test examples, drawn exactly like training examples |
//!
//! So the training set does not change when `test_n` changes, and train and test share one
//! teacher. Same spec, same numbers, on every machine (ChaCha is portable and specified).

use rand::rngs::ChaCha8Rng;
use rand::SeedableRng;

/// Which independent stream of a seed to draw from (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Teacher / class structure.
    Problem = 0,
    /// Training examples.
    Train = 1,
    /// Test examples.
    Test = 2,
}

/// The generator for `seed` positioned at the start of `stream`.
pub fn stream_rng(seed: u64, stream: Stream) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream as u64);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::RngExt;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let draw = |seed, s| -> Vec<u64> {
            let mut r = stream_rng(seed, s);
            (0..4).map(|_| r.random::<u64>()).collect()
        };
        assert_eq!(draw(7, Stream::Train), draw(7, Stream::Train));
        assert_ne!(draw(7, Stream::Train), draw(7, Stream::Test));
        assert_ne!(draw(7, Stream::Train), draw(7, Stream::Problem));
        assert_ne!(draw(7, Stream::Train), draw(8, Stream::Train));
    }
}

//! Seeded synthetic data sets (see `docs/data.md` and the RNG streams in [`crate::rng`]).
//! Each generator draws its task from [`Stream::Problem`] and its examples from
//! [`Stream::Train`] / [`Stream::Test`], so train and test share one task.

mod images;
mod shapes;
mod teacher;

pub use images::synthetic_images;
pub use shapes::{chebyshev, circles, moons};
pub use teacher::{gaussian_mixture, regression, synthetic_linear, synthetic_mlp};

use anyhow::{ensure, Result};
use rand::rngs::ChaCha8Rng;
use rand::RngExt;
use rand_distr::StandardNormal;

use crate::rng::{stream_rng, Stream};
use crate::{Dataset, Split};

/// Largest number of stored values (per array) a generator will allocate: 2³¹ f64 = 16 GiB.
const MAX_VALUES: usize = 1 << 31;

/// Checks `count ≥ 1` and that `count × width` values fit in memory.
fn check_size(kind: &str, what: &str, count: usize, width: usize) -> Result<()> {
    ensure!(count > 0, "{kind}: {what} must be at least 1");
    ensure!(
        count.checked_mul(width).is_some_and(|v| v <= MAX_VALUES),
        "{kind}: {what} = {count} with {width} values per example is too large (limit {MAX_VALUES} values)"
    );
    Ok(())
}

/// Builds the train set (`n` examples from [`Stream::Train`]) and, when `test_n > 0`, a test
/// set (`test_n` examples from [`Stream::Test`]) with the same example generator.
fn draw_split(
    n: usize,
    test_n: usize,
    seed: u64,
    mut make: impl FnMut(&mut ChaCha8Rng, usize, &str) -> Result<Dataset>,
) -> Result<Split> {
    let train = make(&mut stream_rng(seed, Stream::Train), n, "train")?;
    let test = if test_n > 0 {
        Some(make(&mut stream_rng(seed, Stream::Test), test_n, "test")?)
    } else {
        None
    };
    Ok(Split { train, test })
}

/// `len` independent standard normal draws.
fn normals(rng: &mut ChaCha8Rng, len: usize) -> Vec<f64> {
    (0..len)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// Index of the largest entry (the first one on ties).
fn argmax(row: &[f64]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f64::NEG_INFINITY), |best, (j, &v)| {
            if v > best.1 {
                (j, v)
            } else {
                best
            }
        })
        .0
}

/// `a (m × p) · b (p × q)`, all row-major.
fn matmul(a: &[f64], b: &[f64], m: usize, p: usize, q: usize) -> Vec<f64> {
    let mut out = vec![0.0; m * q];
    for i in 0..m {
        let row = &mut out[i * q..(i + 1) * q];
        for (l, &a_il) in a[i * p..(i + 1) * p].iter().enumerate() {
            for (o, &b_lj) in row.iter_mut().zip(&b[l * q..(l + 1) * q]) {
                *o += a_il * b_lj;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        assert_eq!(argmax(&[1.0, 3.0, 3.0, -1.0]), 1);
        assert_eq!(
            matmul(&[1.0, 2.0, 3.0, 4.0], &[1.0, 0.0, 1.0, 1.0], 2, 2, 2),
            vec![3.0, 2.0, 7.0, 4.0]
        );
        assert!(check_size("k", "n", 0, 3).is_err());
        assert!(check_size("k", "n", usize::MAX / 2, 3)
            .unwrap_err()
            .to_string()
            .contains("too large"));
        assert!(check_size("k", "n", 10, 3).is_ok());
    }
}

//! Per-channel standardization of images: `x ← (x − μ_c)/σ_c`, with `μ_c, σ_c` the mean and
//! (population, ddof = 0) standard deviation of channel `c` over all pixels of all *training*
//! images, applied unchanged to the test images.

use anyhow::{bail, ensure, Result};
use serde::Serialize;

use crate::Dataset;

/// Per-channel statistics of a training set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ChannelStats {
    /// `μ_c` per channel.
    pub mean: Vec<f64>,
    /// `σ_c` per channel (population standard deviation).
    pub std: Vec<f64>,
}

/// Number of channels of an input: `C` for a `[C, H, W]` shape, 1 otherwise.
pub fn channels(ds: &Dataset) -> usize {
    match ds.input_shape[..] {
        [c, _, _] => c,
        _ => 1,
    }
}

/// `μ_c, σ_c` of every channel over all examples (two passes, f64).
pub fn channel_stats(ds: &Dataset) -> ChannelStats {
    let c = channels(ds);
    let plane = ds.d() / c;
    let count = (ds.n * plane) as f64;
    let mut mean = vec![0.0; c];
    for row in ds.x.chunks_exact(ds.d()) {
        for (m, p) in mean.iter_mut().zip(row.chunks_exact(plane)) {
            *m += p.iter().sum::<f64>();
        }
    }
    mean.iter_mut().for_each(|m| *m /= count);
    let mut var = vec![0.0; c];
    for row in ds.x.chunks_exact(ds.d()) {
        for ((v, p), m) in var.iter_mut().zip(row.chunks_exact(plane)).zip(&mean) {
            *v += p.iter().map(|x| (x - m).powi(2)).sum::<f64>();
        }
    }
    let std = var.iter().map(|v| (v / count).sqrt()).collect();
    ChannelStats { mean, std }
}

/// Standardizes `train` per channel with its own statistics and `test` with the same ones;
/// returns the statistics. Errors if a training channel is constant (σ = 0).
pub fn standardize_channels(
    train: &mut Dataset,
    test: Option<&mut Dataset>,
) -> Result<ChannelStats> {
    let stats = channel_stats(train);
    if let Some(c) = stats.std.iter().position(|&s| s == 0.0) {
        bail!(
            "data set `{}`: channel {c} is constant over the training subset, so it cannot be standardized",
            train.name
        );
    }
    apply(train, &stats);
    if let Some(test) = test {
        ensure!(
            channels(test) == stats.mean.len() && test.d() == train.d(),
            "data set `{}`: test inputs have shape {:?} but training inputs {:?}",
            test.name,
            test.input_shape,
            train.input_shape
        );
        apply(test, &stats);
    }
    Ok(stats)
}

fn apply(ds: &mut Dataset, stats: &ChannelStats) {
    let plane = ds.d() / stats.mean.len();
    let d = ds.d();
    for row in ds.x.chunks_exact_mut(d) {
        for ((p, m), s) in row.chunks_exact_mut(plane).zip(&stats.mean).zip(&stats.std) {
            p.iter_mut().for_each(|x| *x = (*x - m) / s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn images(x: Vec<f64>, c: usize, h: usize) -> Dataset {
        let n = x.len() / (c * h * h);
        Dataset::classification("img", x, vec![c, h, h], vec![0; n], 1).unwrap()
    }

    #[test]
    fn known_statistics() {
        // 2 images, 2 channels of 1×1: channel 0 = {1, 3}, channel 1 = {10, 10}
        let ds = images(vec![1.0, 10.0, 3.0, 10.0], 2, 1);
        let s = channel_stats(&ds);
        assert_eq!(s.mean, vec![2.0, 10.0]);
        assert_eq!(s.std, vec![1.0, 0.0]);
        let mut train = ds.clone();
        let e = standardize_channels(&mut train, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("channel 1 is constant"), "{e}");
    }

    #[test]
    fn test_set_uses_train_statistics() {
        let mut train = images(vec![0.0, 2.0], 1, 1);
        let mut test = images(vec![4.0], 1, 1);
        standardize_channels(&mut train, Some(&mut test)).unwrap();
        assert_eq!(train.x, vec![-1.0, 1.0]);
        assert_eq!(test.x, vec![3.0]);
        let mut other = images(vec![0.0; 4], 4, 1);
        assert!(standardize_channels(&mut train, Some(&mut other)).is_err());
    }

    proptest! {
        /// After standardization every channel has mean 0 and std 1 on the training set,
        /// and the map is affine per channel (test values transform consistently).
        #[test]
        fn standardized_channels_have_zero_mean_unit_std(
            raw in prop::collection::vec(0u8..=255, 2 * 3 * 4 * 4..=6 * 3 * 4 * 4),
        ) {
            let n = raw.len() / 48;
            let x: Vec<f64> = raw[..n * 48].iter().map(|&b| b as f64 / 255.0).collect();
            let mut train = images(x.clone(), 3, 4);
            let before = channel_stats(&train);
            prop_assume!(before.std.iter().all(|&s| s > 1e-6));
            let mut test = images(x[..48].to_vec(), 3, 4);
            standardize_channels(&mut train, Some(&mut test)).unwrap();
            let after = channel_stats(&train);
            for c in 0..3 {
                prop_assert!(after.mean[c].abs() < 1e-12);
                prop_assert!((after.std[c] - 1.0).abs() < 1e-12);
            }
            prop_assert_eq!(&test.x[..], &train.x[..48]);
        }
    }
}

//! Summary statistics of a data set (what `gdscope data describe` prints).

use serde::Serialize;

use crate::standardize::{channel_stats, ChannelStats};
use crate::{Dataset, Split};

/// Sizes, class counts and input statistics of one data set.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Summary {
    /// Data set name.
    pub name: String,
    /// Number of examples.
    pub n: usize,
    /// Input dimension.
    pub d: usize,
    /// Number of outputs / classes.
    pub k: usize,
    /// Shape of one input.
    pub input_shape: Vec<usize>,
    /// `"classification"` or `"regression"`.
    pub task: &'static str,
    /// Examples per class (classification only).
    pub class_counts: Option<Vec<usize>>,
    /// Mean of all input values.
    pub x_mean: f64,
    /// Population standard deviation of all input values.
    pub x_std: f64,
    /// Smallest input value.
    pub x_min: f64,
    /// Largest input value.
    pub x_max: f64,
    /// Per-channel mean and std (image inputs `[C, H, W]` only).
    pub channels: Option<ChannelStats>,
    /// Mean of each target column.
    pub y_mean: Vec<f64>,
}

/// Summaries of the train and (when present) test sets.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SplitSummary {
    /// Training set summary.
    pub train: Summary,
    /// Test set summary.
    pub test: Option<Summary>,
}

/// Summarizes one data set.
pub fn summarize(ds: &Dataset) -> Summary {
    let len = ds.x.len() as f64;
    let x_mean = ds.x.iter().sum::<f64>() / len;
    let x_std = (ds.x.iter().map(|v| (v - x_mean).powi(2)).sum::<f64>() / len).sqrt();
    let x_min = ds.x.iter().copied().fold(f64::INFINITY, f64::min);
    let x_max = ds.x.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let mut y_mean = vec![0.0; ds.k];
    for row in ds.y.chunks_exact(ds.k) {
        y_mean
            .iter_mut()
            .zip(row)
            .for_each(|(m, v)| *m += v / ds.n as f64);
    }
    Summary {
        name: ds.name.clone(),
        n: ds.n,
        d: ds.d(),
        k: ds.k,
        input_shape: ds.input_shape.clone(),
        task: if ds.is_classification() {
            "classification"
        } else {
            "regression"
        },
        class_counts: ds.class_counts(),
        x_mean,
        x_std,
        x_min,
        x_max,
        channels: (ds.input_shape.len() == 3).then(|| channel_stats(ds)),
        y_mean,
    }
}

/// Summarizes both splits.
pub fn describe(split: &Split) -> SplitSummary {
    SplitSummary {
        train: summarize(&split.train),
        test: split.test.as_ref().map(summarize),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_of_a_small_set() {
        let ds =
            Dataset::classification("s", vec![1.0, 3.0, 5.0, 7.0], vec![1], vec![0, 1, 1, 1], 2)
                .unwrap();
        let s = summarize(&ds);
        assert_eq!((s.n, s.d, s.k, s.task), (4, 1, 2, "classification"));
        assert_eq!(s.class_counts, Some(vec![1, 3]));
        assert_eq!(
            (s.x_mean, s.x_std, s.x_min, s.x_max),
            (4.0, 5.0f64.sqrt(), 1.0, 7.0)
        );
        assert_eq!(s.y_mean, vec![0.25, 0.75]);
        assert!(s.channels.is_none());
    }
}

//! The run summary (`summary.json`), including the edge-of-stability verdict of issue 4:
//! the first step where the sharpness reached `0.95 ×` the stability threshold and the
//! distribution of `sharpness / threshold` from that step on.

use serde::Serialize;

use crate::metrics::Metrics;
use crate::trainer::{Status, CROSSING_FRACTION};

/// Sharpness relative to the threshold after the first crossing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeSummary {
    /// The crossing level as a fraction of the threshold (0.95).
    pub crossing_fraction: f64,
    /// First measured step with `sharpness ≥ 0.95 · threshold`; `None` if never.
    pub first_crossing_step: Option<u64>,
    /// Measurements from the crossing on (inclusive).
    pub measurements_after: usize,
    /// Median of `sharpness / threshold` over those measurements.
    pub median_ratio: Option<f64>,
    /// Smallest ratio over those measurements.
    pub min_ratio: Option<f64>,
    /// Largest ratio over those measurements.
    pub max_ratio: Option<f64>,
}

impl EdgeSummary {
    /// Computes the summary from the rows with a measured sharpness.
    pub fn from_metrics(metrics: &Metrics) -> Self {
        let measured: Vec<(u64, f64)> = metrics
            .rows
            .iter()
            .filter(|r| r.sharpness().is_finite() && r.threshold.is_finite() && r.threshold > 0.0)
            .map(|r| (r.step, r.sharpness() / r.threshold))
            .collect();
        let first = measured
            .iter()
            .find(|(_, ratio)| *ratio >= CROSSING_FRACTION)
            .map(|(s, _)| *s);
        let mut after: Vec<f64> = match first {
            Some(s0) => measured
                .iter()
                .filter(|(s, _)| *s >= s0)
                .map(|(_, r)| *r)
                .collect(),
            None => Vec::new(),
        };
        after.sort_by(f64::total_cmp);
        Self {
            crossing_fraction: CROSSING_FRACTION,
            first_crossing_step: first,
            measurements_after: after.len(),
            median_ratio: median(&after),
            min_ratio: after.first().copied(),
            max_ratio: after.last().copied(),
        }
    }
}

/// Median of sorted values; `None` when empty.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2])),
    }
}

/// Wall-clock accounting of a run (not part of the resumable state).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Whole run (this process; a resumed run counts only its own part).
    pub wall_s: f64,
    /// Time inside eigen-solves.
    pub eigen_s: f64,
    /// Time integrating the gradient-flow baseline.
    pub flow_s: f64,
}

/// Contents of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How the run ended.
    pub status: Status,
    /// Steps executed (rows of `metrics.parquet`).
    pub steps_run: u64,
    /// Loss at the last executed step.
    pub final_loss: Option<f64>,
    /// Last measured training accuracy.
    pub final_train_accuracy: Option<f64>,
    /// Last measured test accuracy.
    pub final_test_accuracy: Option<f64>,
    /// First measured sharpness.
    pub sharpness_initial: Option<f64>,
    /// Largest measured sharpness.
    pub sharpness_max: Option<f64>,
    /// Last measured sharpness.
    pub sharpness_final: Option<f64>,
    /// Stability threshold at the last step.
    pub threshold_final: Option<f64>,
    /// Edge-of-stability statistics.
    pub edge: EdgeSummary,
    /// Hessian-vector products spent by eigen-solves.
    pub eigen_hvps: u64,
    /// Timings of this process.
    pub timings: Timings,
}

impl Summary {
    /// Builds the summary of a run's metrics.
    pub fn new(metrics: &Metrics, status: Status, eigen_hvps: u64, timings: Timings) -> Self {
        let last = |f: fn(&crate::metrics::Row) -> f64| {
            metrics.rows.iter().rev().map(f).find(|v| v.is_finite())
        };
        let sharp: Vec<f64> = metrics
            .rows
            .iter()
            .map(|r| r.sharpness())
            .filter(|v| v.is_finite())
            .collect();
        Self {
            status,
            steps_run: metrics.rows.len() as u64,
            final_loss: metrics.rows.last().map(|r| r.loss),
            final_train_accuracy: last(|r| r.train_accuracy),
            final_test_accuracy: last(|r| r.test_accuracy),
            sharpness_initial: sharp.first().copied(),
            sharpness_max: sharp.iter().copied().reduce(f64::max),
            sharpness_final: sharp.last().copied(),
            threshold_final: metrics.rows.last().map(|r| r.threshold),
            edge: EdgeSummary::from_metrics(metrics),
            eigen_hvps,
            timings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Row;

    #[test]
    fn edge_summary_closed_form() {
        let mut m = Metrics::default();
        for (step, s) in [
            (0, 10.0),
            (1, f64::NAN),
            (2, 18.0),
            (4, 19.2),
            (6, 21.0),
            (8, 19.8),
            (10, 20.4),
        ] {
            let mut r = Row::new(step, 0.1, 20.0);
            if s.is_finite() {
                r.eigenvalues = vec![s, 1.0];
            }
            m.rows.push(r);
        }
        let e = EdgeSummary::from_metrics(&m);
        assert_eq!((e.first_crossing_step, e.measurements_after), (Some(4), 4));
        assert!((e.median_ratio.unwrap() - 1.005).abs() < 1e-12);
        assert_eq!((e.min_ratio, e.max_ratio), (Some(0.96), Some(1.05)));
        let s = Summary::new(&m, Status::Completed, 7, Timings::default());
        assert_eq!(
            (s.sharpness_initial, s.sharpness_max, s.steps_run),
            (Some(10.0), Some(21.0), 7)
        );
        assert_eq!(
            EdgeSummary::from_metrics(&Metrics::default()).median_ratio,
            None
        );
    }
}

//! The run summary (`summary.json`), computed from the metrics table, with the
//! edge-of-stability statistics and an honest verdict ([`EdgeSummary`]): it tells the edge
//! of stability (the sharpness reaches the threshold and then *stays* in a band around it
//! while the loss keeps decreasing) from a catapult (the sharpness overshoots far above the
//! threshold, the loss spikes, and the sharpness collapses).
//!
//! The verdict, from the first crossing `t_c` (sharpness ≥ 0.95·threshold) to the end `T`:
//! no overshoot above [`OVERSHOOT_LIMIT`]·threshold and no loss above [`LOSS_SPIKE`]× its
//! value at `t_c` (else: catapult); in the **window** — the second half, `[t_c + (T − t_c)/2,
//! T]` — every measurement within [`HOVER_BAND`]·threshold (else: left the edge) and the
//! mean loss of the window's last fifth below that of its first fifth, with the median ratio
//! over `[t_c, T]` in [`EOS_BAND`] (else: not settled). Transient damped oscillations right
//! after the onset, as in Cohen et al.'s runs, are allowed; they must have died out by the
//! window.

use gdscope_dynamics::record::column_name;
use gdscope_dynamics::{Status, Timings, CROSSING_FRACTION};
use gdscope_io::Table;
use serde::Serialize;

use crate::config::ForkOrigin;

/// Band of the median `sharpness/threshold` after the crossing.
pub const EOS_BAND: (f64, f64) = (0.95, 1.10);
/// Band every measurement of the window (second half after the crossing) must stay in.
pub const HOVER_BAND: (f64, f64) = (0.90, 1.10);
/// Largest `sharpness/threshold` after the crossing that is not a catapult.
pub const OVERSHOOT_LIMIT: f64 = 1.20;
/// Largest loss after the crossing, as a multiple of the loss at the crossing, that is not a
/// catapult.
pub const LOSS_SPIKE: f64 = 5.0;
/// Fewest measurements after the crossing that make a verdict (the window then has at
/// least 3).
pub const MIN_MEASUREMENTS: usize = 6;

/// What the sharpness did relative to the stability threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EdgeVerdict {
    /// Reached the threshold, hovered in the band with its median near 1, loss decreasing.
    EdgeOfStability,
    /// Reached the threshold, then overshot far above it or the loss spiked (and usually the
    /// sharpness collapsed): not the edge of stability.
    Catapult,
    /// Reached the threshold, but in the window the sharpness was outside the band.
    LeftTheEdge,
    /// Hovered, but the median is off the band or the loss did not decrease.
    NotSettled,
    /// Too few measurements after the crossing to say.
    TooShort,
    /// Never reached `0.95 ×` the threshold.
    NotReached,
}

/// Sharpness relative to the threshold from the first crossing on, and the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EdgeSummary {
    /// The crossing level as a fraction of the threshold (0.95).
    pub crossing_fraction: f64,
    /// First measured step with `sharpness ≥ 0.95 · threshold`; `None` if never.
    pub first_crossing_step: Option<u64>,
    /// Measurements from the crossing on (inclusive): the window of the verdict.
    pub measurements_after: usize,
    /// Median of `sharpness / threshold` over those measurements.
    pub median_ratio: Option<f64>,
    /// Smallest ratio over those measurements.
    pub min_ratio: Option<f64>,
    /// Largest ratio over those measurements.
    pub max_ratio: Option<f64>,
    /// Loss at the crossing step.
    pub loss_at_crossing: Option<f64>,
    /// Largest loss after the crossing divided by the loss at the crossing.
    pub max_loss_ratio: Option<f64>,
    /// The window: the second half of the steps after the crossing, `(first, last)` step.
    pub window: Option<(u64, u64)>,
    /// Smallest and largest `sharpness/threshold` in the window.
    pub window_ratio: Option<(f64, f64)>,
    /// Mean loss over the first and the last fifth of the steps of the window.
    pub loss_window: Option<(f64, f64)>,
    /// The verdict.
    pub verdict: EdgeVerdict,
    /// Why, in words (with the numbers).
    pub reason: String,
}

fn column<'a>(t: &'a Table, name: &str) -> &'a [f64] {
    t.f64_column(name).unwrap_or(&[])
}

fn steps(t: &Table) -> Vec<u64> {
    t.column("step")
        .and_then(|c| c.as_i64())
        .map(|s| s.iter().map(|&x| x.max(0) as u64).collect())
        .unwrap_or_default()
}

impl EdgeSummary {
    /// The statistics of the `prefix`-process columns (`""` for `discrete`).
    pub fn from_table(t: &Table, process: &str) -> Self {
        let name = |m: &str| column_name(process, m);
        let (sharp, thr, loss) = (
            column(t, &name("sharpness")),
            column(t, &name("threshold")),
            column(t, &name("loss")),
        );
        let step = steps(t);
        let measured: Vec<(usize, f64)> = (0..sharp.len().min(thr.len()))
            .filter(|&i| sharp[i].is_finite() && thr[i].is_finite() && thr[i] > 0.0)
            .map(|i| (i, sharp[i] / thr[i]))
            .collect();
        let first = measured
            .iter()
            .find(|(_, r)| *r >= CROSSING_FRACTION)
            .map(|(i, _)| *i);
        let mut after: Vec<f64> = match first {
            Some(i0) => measured
                .iter()
                .filter(|(i, _)| *i >= i0)
                .map(|(_, r)| *r)
                .collect(),
            None => Vec::new(),
        };
        after.sort_by(f64::total_cmp);
        let loss_at_crossing = first.and_then(|i| loss.get(i).copied());
        let after_crossing: &[f64] = first.map_or(&[], |i| loss.get(i..).unwrap_or(&[]));
        let max_loss_ratio = loss_at_crossing.map(|l0| {
            after_crossing
                .iter()
                .copied()
                .fold(f64::NEG_INFINITY, f64::max)
                / l0
        });
        let end = sharp.len().min(thr.len()).min(loss.len());
        let start = first.map(|i| i + (end.saturating_sub(i)) / 2);
        let window_ratio = start.and_then(|w0| {
            let r: Vec<f64> = measured
                .iter()
                .filter(|(i, _)| *i >= w0)
                .map(|(_, r)| *r)
                .collect();
            (!r.is_empty()).then(|| {
                let lo = r.iter().copied().fold(f64::INFINITY, f64::min);
                (lo, r.iter().copied().fold(f64::NEG_INFINITY, f64::max))
            })
        });
        let window_loss: &[f64] = start.map_or(&[], |w0| loss.get(w0..end).unwrap_or(&[]));
        let fifth = window_loss.len() / 5;
        let mean = |s: &[f64]| s.iter().sum::<f64>() / s.len() as f64;
        let loss_window = (fifth >= 1).then(|| {
            (
                mean(&window_loss[..fifth]),
                mean(&window_loss[window_loss.len() - fifth..]),
            )
        });
        let at = |i: usize| step.get(i).copied().unwrap_or(i as u64);
        let window = start.filter(|&w0| w0 < end).map(|w0| (at(w0), at(end - 1)));
        let mut e = Self {
            crossing_fraction: CROSSING_FRACTION,
            first_crossing_step: first.map(|i| step.get(i).copied().unwrap_or(i as u64)),
            measurements_after: after.len(),
            median_ratio: median(&after),
            min_ratio: after.first().copied(),
            max_ratio: after.last().copied(),
            loss_at_crossing,
            max_loss_ratio,
            window,
            window_ratio,
            loss_window,
            verdict: EdgeVerdict::NotReached,
            reason: String::new(),
        };
        (e.verdict, e.reason) = e.judge();
        e
    }

    /// The verdict and its reason (see [`EdgeVerdict`] and the constants of this module).
    fn judge(&self) -> (EdgeVerdict, String) {
        use EdgeVerdict::*;
        let Some(step) = self.first_crossing_step else {
            return (
                NotReached,
                format!("the sharpness never reached {CROSSING_FRACTION}·threshold"),
            );
        };
        if self.measurements_after < MIN_MEASUREMENTS {
            return (
                TooShort,
                format!(
                    "only {} measurements after the crossing at step {step} (at least {MIN_MEASUREMENTS} needed)",
                    self.measurements_after
                ),
            );
        }
        let (lo, hi, med) = (
            self.min_ratio.unwrap_or(f64::NAN),
            self.max_ratio.unwrap_or(f64::NAN),
            self.median_ratio.unwrap_or(f64::NAN),
        );
        let spike = self.max_loss_ratio.unwrap_or(f64::NAN);
        if hi > OVERSHOOT_LIMIT || spike > LOSS_SPIKE {
            return (
                Catapult,
                format!(
                    "after reaching the threshold at step {step} the sharpness overshot to \
                     {hi:.3}·threshold (limit {OVERSHOOT_LIMIT}) and the loss rose to {spike:.2}× \
                     its value at the crossing (limit {LOSS_SPIKE}×); the sharpness then fell to \
                     {lo:.3}·threshold"
                ),
            );
        }
        let (wlo, whi) = self.window_ratio.unwrap_or((f64::NAN, f64::NAN));
        let (w0, w1) = self.window.unwrap_or((step, step));
        if !(wlo >= HOVER_BAND.0 && whi <= HOVER_BAND.1) {
            return (
                LeftTheEdge,
                format!(
                    "in the window of steps {w0}–{w1} the sharpness ranged over \
                     [{wlo:.3}, {whi:.3}]·threshold (band [{}, {}])",
                    HOVER_BAND.0, HOVER_BAND.1
                ),
            );
        }
        let decreasing = self.loss_window.is_some_and(|(a, b)| b < a);
        if !(EOS_BAND.0..=EOS_BAND.1).contains(&med) || !decreasing {
            return (
                NotSettled,
                format!(
                    "median sharpness/threshold {med:.3} after the crossing (band [{}, {}]); mean \
                     loss in the first and last fifth of the window {:?} (must decrease)",
                    EOS_BAND.0, EOS_BAND.1, self.loss_window
                ),
            );
        }
        let (l0, l1) = self.loss_window.unwrap_or((f64::NAN, f64::NAN));
        (
            EdgeOfStability,
            format!(
                "the sharpness reached the threshold at step {step} (overshoot {hi:.3}, loss at \
                 most {spike:.2}× its value there); over steps {w0}–{w1} it stayed in \
                 [{wlo:.3}, {whi:.3}]·threshold (median after the crossing {med:.3}) while the \
                 mean loss fell from {l0:.3e} to {l1:.3e}"
            ),
        )
    }

    /// The criterion the verdict applies, in words.
    pub fn criterion() -> String {
        format!(
            "the sharpness reaches {CROSSING_FRACTION}·threshold; after that (≥ {MIN_MEASUREMENTS} \
             measurements) it never exceeds {OVERSHOOT_LIMIT}·threshold and the loss never exceeds \
             {LOSS_SPIKE}× its value at the crossing; in the second half of the steps after the \
             crossing every measurement lies in [{}, {}]·threshold and the mean loss of the last \
             fifth is below that of the first fifth; the median ratio after the crossing lies in \
             [{}, {}]",
            HOVER_BAND.0, HOVER_BAND.1, EOS_BAND.0, EOS_BAND.1
        )
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

/// A process that stopped advancing, and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Halted {
    /// The process.
    pub process: String,
    /// Why.
    pub reason: String,
}

/// Contents of `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How the run ended.
    pub status: Status,
    /// The step at which SIGINT/SIGTERM interrupted the run (resumable); `None` otherwise.
    pub interrupted_at: Option<u64>,
    /// The processes of the run.
    pub processes: Vec<String>,
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
    /// Edge-of-stability statistics and verdict.
    pub edge: EdgeSummary,
    /// Processes that stopped advancing (a stable flow past its cost cap, …).
    pub halted: Vec<Halted>,
    /// Hessian-vector products spent by eigen-solves (this invocation).
    pub eigen_hvps: u64,
    /// Timings of this invocation.
    pub timings: Timings,
    /// For a fork: its parent, the step it started from and the changed settings (the rows of
    /// the steps before it are the parent's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fork: Option<ForkOrigin>,
}

impl Summary {
    /// Builds the summary from the metrics table; the statistics are those of `primary`.
    pub fn new(metrics: &Table, primary: &str, status: Status, timings: Timings) -> Self {
        let name = |m: &str| column_name(primary, m);
        let last = |c: &str| {
            column(metrics, &name(c))
                .iter()
                .rev()
                .copied()
                .find(|v| v.is_finite())
        };
        let sharp: Vec<f64> = column(metrics, &name("sharpness"))
            .iter()
            .copied()
            .filter(|v| v.is_finite())
            .collect();
        Self {
            status,
            interrupted_at: None,
            processes: Vec::new(),
            steps_run: metrics.nrows() as u64,
            final_loss: column(metrics, &name("loss")).last().copied(),
            final_train_accuracy: last("train_accuracy"),
            final_test_accuracy: last("test_accuracy"),
            sharpness_initial: sharp.first().copied(),
            sharpness_max: sharp.iter().copied().reduce(f64::max),
            sharpness_final: sharp.last().copied(),
            threshold_final: column(metrics, &name("threshold")).last().copied(),
            edge: EdgeSummary::from_table(metrics, primary),
            halted: Vec::new(),
            eigen_hvps: 0,
            timings,
            fork: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(sharpness: &[f64], loss: &[f64]) -> Table {
        let n = sharpness.len();
        let mut t = Table::new();
        t.push_i64("step", (0..n as i64).collect()).unwrap();
        t.push_f64("loss", loss.to_vec()).unwrap();
        t.push_f64("sharpness", sharpness.to_vec()).unwrap();
        t.push_f64("threshold", vec![20.0; n]).unwrap();
        t
    }

    #[test]
    fn edge_summary_closed_form() {
        let nan = f64::NAN;
        let sharp = [10.0, nan, 18.0, nan, 19.2, nan, 21.0, nan, 19.8, nan, 20.4];
        let loss: Vec<f64> = (0..11).map(|i| 1.0 - 0.05 * i as f64).collect();
        let e = EdgeSummary::from_table(&table(&sharp, &loss), "discrete");
        assert_eq!((e.first_crossing_step, e.measurements_after), (Some(4), 4));
        assert!((e.median_ratio.unwrap() - 1.005).abs() < 1e-12);
        assert_eq!((e.min_ratio, e.max_ratio), (Some(0.96), Some(1.05)));
        assert_eq!(e.verdict, EdgeVerdict::TooShort);
        let s = Summary::new(
            &table(&sharp, &loss),
            "discrete",
            Status::Completed,
            Timings::default(),
        );
        assert_eq!(
            (s.sharpness_initial, s.sharpness_max, s.steps_run),
            (Some(10.0), Some(21.0), 11)
        );
        assert_eq!(
            EdgeSummary::from_table(&Table::new(), "discrete").verdict,
            EdgeVerdict::NotReached
        );
    }

    /// A hover in the band with a falling loss is the edge of stability; the catapult
    /// (overshoot to 1.35·threshold, loss ×10, collapse, end barely above the line) is not,
    /// although its median is within the old band.
    #[test]
    fn verdict_tells_a_catapult_from_the_edge() {
        let hover = [19.0, 20.4, 20.1, 20.6, 19.9, 20.3, 20.2, 20.5, 20.0, 20.3];
        let falling: Vec<f64> = (0..10).map(|i| 1.0 / (1.0 + i as f64)).collect();
        let e = EdgeSummary::from_table(&table(&hover, &falling), "discrete");
        assert_eq!(e.verdict, EdgeVerdict::EdgeOfStability, "{}", e.reason);
        let catapult = [19.0, 27.0, 24.0, 16.0, 19.5, 20.2, 20.3, 20.4, 20.5, 20.6];
        let mut spike = falling.clone();
        spike[2] = 10.0;
        let e = EdgeSummary::from_table(&table(&catapult, &spike), "discrete");
        assert!((EOS_BAND.0..=EOS_BAND.1).contains(&e.median_ratio.unwrap()));
        assert_eq!(e.verdict, EdgeVerdict::Catapult, "{}", e.reason);
        assert!(e.reason.contains("overshot"), "{}", e.reason);
        let rising: Vec<f64> = (0..10).map(|i| 1.0 + i as f64 * 0.01).collect();
        let e = EdgeSummary::from_table(&table(&hover, &rising), "discrete");
        assert_eq!(e.verdict, EdgeVerdict::NotSettled, "{}", e.reason);
        // A damped transient after the onset is allowed; a wide swing late is not.
        let late = [19.0, 23.0, 18.5, 21.0, 20.0, 20.2, 23.5, 17.0, 20.0, 20.1];
        let e = EdgeSummary::from_table(&table(&late, &falling), "discrete");
        assert_eq!(e.verdict, EdgeVerdict::LeftTheEdge, "{}", e.reason);
        let settling = [19.0, 23.0, 18.5, 21.0, 20.0, 20.2, 20.5, 19.8, 20.0, 20.1];
        let e = EdgeSummary::from_table(&table(&settling, &falling), "discrete");
        assert_eq!(e.verdict, EdgeVerdict::EdgeOfStability, "{}", e.reason);
    }
}

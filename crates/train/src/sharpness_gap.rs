//! `gdscope reproduce sharpness-gap` (docs/curvature.md "The sharpness gap"): SGD at one
//! learning rate over a ladder of batch sizes (and full batch), each a training run of
//! `examples/sharpness-gap.toml` in `DIR/b<size>` (`DIR/full`), run one after the other
//! through the train library. Per batch size, over the **window** (the second half of the
//! steps, after equilibration): the mean of `λmax` and of the batch sharpness with 95%
//! batch-means intervals (the window's measurements in 10 consecutive blocks, Student-t on
//! the block means, since consecutive measurements are correlated), and the gap
//! `2/η − λmax`. A line `log gap = a + slope·log b` is fitted by least squares over the
//! minibatch sizes whose gap is positive. Writes `summary.json` (the table, the fit, the
//! window, the runtimes) and the figures `sharpness.{png,svg}` (λmax and batch sharpness
//! against the step per batch size, with `2/η`) and `gap.{png,svg}` (the gap against the
//! batch size on log-log axes with the fit).

use std::path::{Path, PathBuf};
use std::time::Instant;

use gdscope_dynamics::montecarlo::t_975;
use gdscope_io::{RunDir, Table};
use gdscope_plot::{Figure, Format, LinePlot, RefLine, Series, SeriesKind};
use serde::Serialize;

use crate::config::TrainConfig;
use crate::figures::finite_points;
use crate::run::{self, RunReport};

/// The batch-size ladder of the full reproduction (0 = full batch).
pub const LADDER: &[usize] = &[8, 16, 32, 64, 128, 256, 0];
/// The ladder of `--quick`.
pub const QUICK_LADDER: &[usize] = &[8, 32, 0];
/// Blocks of the batch-means interval.
const BLOCKS: usize = 10;

/// The base config; `quick` shrinks it to a CI-speed run (256 examples, 1500 steps,
/// measurements every 50 steps).
pub fn base_config(quick: bool) -> anyhow::Result<TrainConfig> {
    let text = include_str!("../../../examples/sharpness-gap.toml");
    let overrides: Vec<String> = if quick {
        [
            "steps=1500",
            "data.n=256",
            "tracking.every=50",
            "tracking.eval_every=50",
            "tracking.step_curvature.batch_sharpness_every=50",
        ]
        .map(String::from)
        .to_vec()
    } else {
        Vec::new()
    };
    TrainConfig::from_toml(text, &overrides)
}

/// A mean over the window with its 95% interval.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct WindowMean {
    /// The mean of the measurements in the window.
    pub mean: f64,
    /// Lower end of the batch-means interval.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Measurements in the window.
    pub measurements: usize,
}

/// The mean of the finite `values` at `steps ≥ from`, with a batch-means interval over
/// [`BLOCKS`] consecutive blocks (`None` with fewer than `BLOCKS` measurements).
pub fn window_mean(steps: &[f64], values: &[f64], from: f64) -> Option<WindowMean> {
    let xs: Vec<f64> = steps
        .iter()
        .zip(values)
        .filter(|(s, v)| **s >= from && v.is_finite())
        .map(|(_, v)| *v)
        .collect();
    if xs.len() < BLOCKS {
        return None;
    }
    let mean = xs.iter().sum::<f64>() / xs.len() as f64;
    let per = xs.len() / BLOCKS;
    let blocks: Vec<f64> = (0..BLOCKS)
        .map(|k| {
            let end = if k + 1 == BLOCKS {
                xs.len()
            } else {
                (k + 1) * per
            };
            let b = &xs[k * per..end];
            b.iter().sum::<f64>() / b.len() as f64
        })
        .collect();
    let bm = blocks.iter().sum::<f64>() / BLOCKS as f64;
    let var = blocks.iter().map(|b| (b - bm) * (b - bm)).sum::<f64>() / (BLOCKS - 1) as f64;
    let half = t_975(BLOCKS - 1) * (var / BLOCKS as f64).sqrt();
    Some(WindowMean {
        mean,
        lo: mean - half,
        hi: mean + half,
        measurements: xs.len(),
    })
}

/// A least-squares line `y = intercept + slope·x` and its coefficient of determination.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct LineFit {
    /// Slope.
    pub slope: f64,
    /// Intercept.
    pub intercept: f64,
    /// `R² = 1 − SS_res/SS_tot`.
    pub r2: f64,
    /// Points fitted.
    pub points: usize,
}

/// Least squares through `(x, y)` (at least 2 points with distinct `x`).
pub fn fit_line(points: &[(f64, f64)]) -> Option<LineFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let (mx, my) = (
        points.iter().map(|p| p.0).sum::<f64>() / n,
        points.iter().map(|p| p.1).sum::<f64>() / n,
    );
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    let intercept = my - slope * mx;
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    Some(LineFit {
        slope,
        intercept,
        r2: if syy > 0.0 { 1.0 - ss_res / syy } else { 1.0 },
        points: points.len(),
    })
}

/// One batch size's row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct GapRow {
    /// Batch size (the number of examples for full batch).
    pub batch_size: usize,
    /// Whether this is the full-batch (GD) run.
    pub full_batch: bool,
    /// The run directory.
    pub dir: PathBuf,
    /// `λmax` over the window.
    pub lambda_max: Option<WindowMean>,
    /// Batch sharpness (mean of ratios) over the window.
    pub batch_sharpness: Option<WindowMean>,
    /// `2/η − λmax` (mean and interval).
    pub gap: Option<WindowMean>,
    /// The run's final status.
    pub status: String,
    /// Wall-clock seconds of the run.
    pub wall_s: f64,
}

/// What [`reproduce_sharpness_gap`] writes into `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct GapSummary {
    /// Learning rate.
    pub lr: f64,
    /// `2/η`.
    pub threshold: f64,
    /// Training examples.
    pub examples: usize,
    /// Steps per run.
    pub steps: u64,
    /// The window: steps `[window_start, steps)`.
    pub window_start: u64,
    /// How the window and the intervals are defined.
    pub method: String,
    /// One row per batch size, in ladder order.
    pub rows: Vec<GapRow>,
    /// `log gap` against `log b` over the minibatch rows with a positive gap.
    pub fit: Option<LineFit>,
    /// The runs were executed one after the other through the train library.
    pub execution: String,
    /// Total wall-clock seconds.
    pub wall_s: f64,
}

/// What [`reproduce_sharpness_gap`] returns.
#[derive(Debug)]
pub struct GapOutcome {
    /// The summary (also in `summary.json`).
    pub summary: GapSummary,
    /// The member runs, in ladder order.
    pub runs: Vec<RunReport>,
    /// The figure files.
    pub figures: Vec<PathBuf>,
}

fn steps_of(metrics: &Table) -> Vec<f64> {
    metrics
        .column("step")
        .and_then(|c| c.as_i64())
        .map(|s| s.iter().map(|&x| x as f64).collect())
        .unwrap_or_default()
}

/// Runs the ladder into `out` (module docs).
pub fn reproduce_sharpness_gap(
    out: &Path,
    quick: bool,
    overwrite: bool,
    progress: bool,
) -> anyhow::Result<GapOutcome> {
    let clock = Instant::now();
    let base = base_config(quick)?;
    let run_dir = RunDir::create(out, overwrite)?;
    let ladder = if quick { QUICK_LADDER } else { LADDER };
    let lr = base.optimizer.lr();
    let threshold = base.optimizer.stability_threshold();
    let window_start = base.steps / 2;
    let mut rows = Vec::new();
    let mut runs = Vec::new();
    for &b in ladder {
        let mut config = base.clone();
        config.batch_size = b;
        let name = if b == 0 {
            "full".to_string()
        } else {
            format!("b{b}")
        };
        let started = Instant::now();
        let report = run::start(config, &out.join(&name), overwrite, progress)?;
        let wall_s = started.elapsed().as_secs_f64();
        let steps = steps_of(&report.metrics);
        let column = |c: &str| report.metrics.f64_column(c).unwrap_or(&[]).to_vec();
        let lambda = window_mean(&steps, &column("sharpness"), window_start as f64);
        let gap = lambda.map(|l| WindowMean {
            mean: threshold - l.mean,
            lo: threshold - l.hi,
            hi: threshold - l.lo,
            measurements: l.measurements,
        });
        rows.push(GapRow {
            batch_size: if b == 0 { examples_of(&base)? } else { b },
            full_batch: b == 0,
            dir: report.dir.clone(),
            lambda_max: lambda,
            batch_sharpness: window_mean(&steps, &column("batch_sharpness"), window_start as f64),
            gap,
            status: serde_json::to_value(&report.summary.status)?
                .as_str()
                .map_or_else(|| format!("{:?}", report.summary.status), String::from),
            wall_s,
        });
        runs.push(report);
    }
    let points: Vec<(f64, f64)> = rows
        .iter()
        .filter(|r| !r.full_batch)
        .filter_map(|r| Some(((r.batch_size as f64).ln(), r.gap?.mean)))
        .filter(|(_, g)| *g > 0.0)
        .map(|(x, g)| (x, g.ln()))
        .collect();
    let fit = fit_line(&points);
    let summary = GapSummary {
        lr,
        threshold,
        examples: examples_of(&base)?,
        steps: base.steps,
        window_start,
        method: format!(
            "window = steps [{window_start}, {}); means of the measurements in the window with \
             95% intervals from {BLOCKS} batch means (Student-t, {} degrees of freedom); gap = \
             2/eta - lambda_max; fit: least squares of ln(gap) on ln(batch size) over the \
             minibatch sizes with a positive gap",
            base.steps,
            BLOCKS - 1
        ),
        rows,
        fit,
        execution: "sequential through the gdscope-train library (no sweep backend)".into(),
        wall_s: clock.elapsed().as_secs_f64(),
    };
    run_dir.write_json("summary.json", &summary)?;
    let mut figures = gdscope_plot::save(
        &sharpness_figure(&summary, &runs),
        &out.join("sharpness"),
        &[Format::Png, Format::Svg],
    )?;
    figures.extend(gdscope_plot::save(
        &gap_figure(&summary),
        &out.join("gap"),
        &[Format::Png, Format::Svg],
    )?);
    Ok(GapOutcome {
        summary,
        runs,
        figures,
    })
}

fn examples_of(config: &TrainConfig) -> anyhow::Result<usize> {
    let value = toml::Value::try_from(&config.data)?;
    value
        .get("n")
        .and_then(toml::Value::as_integer)
        .map(|n| n as usize)
        .ok_or_else(|| anyhow::anyhow!("the sharpness-gap data set has no example count n"))
}

fn label(row: &GapRow) -> String {
    if row.full_batch {
        format!("full batch ({})", row.batch_size)
    } else {
        format!("batch {}", row.batch_size)
    }
}

/// λmax and batch sharpness against the step, one panel per batch size, with `2/η` and the
/// window's start.
fn sharpness_figure(summary: &GapSummary, runs: &[RunReport]) -> Figure {
    let panels = summary
        .rows
        .iter()
        .zip(runs)
        .map(|(row, run)| {
            let steps = steps_of(&run.metrics);
            let measured =
                |c: &str| finite_points(&steps, run.metrics.f64_column(c).unwrap_or(&[]));
            let (xl, yl) = measured("sharpness");
            let (xb, yb) = measured("batch_sharpness");
            Figure::Line(LinePlot {
                title: label(row),
                x_label: "step".into(),
                y_label: "curvature".into(),
                series: vec![
                    Series {
                        label: "λmax (full batch)".into(),
                        x: xl,
                        y: yl,
                        kind: SeriesKind::LinePoints,
                        color: Some(0),
                    },
                    Series {
                        label: "batch sharpness".into(),
                        x: xb,
                        y: yb,
                        kind: SeriesKind::Points,
                        color: Some(1),
                    },
                ],
                hlines: vec![RefLine {
                    value: summary.threshold,
                    label: format!("2/η = {:.3}", summary.threshold),
                }],
                vlines: vec![RefLine {
                    value: summary.window_start as f64,
                    label: "window start".into(),
                }],
                ..LinePlot::default()
            })
        })
        .collect();
    Figure::Grid { cols: 2, panels }
}

/// The gap against the batch size on log-log axes: means, 95% intervals (vertical bars) and
/// the fitted line.
fn gap_figure(summary: &GapSummary) -> Figure {
    let minibatch: Vec<&GapRow> = summary.rows.iter().filter(|r| !r.full_batch).collect();
    let (x, y): (Vec<f64>, Vec<f64>) = minibatch
        .iter()
        .filter_map(|r| Some((r.batch_size as f64, r.gap?.mean)))
        .unzip();
    let mut series = vec![Series {
        label: "measured gap 2/η − λmax".into(),
        x: x.clone(),
        y,
        kind: SeriesKind::Points,
        color: Some(0),
    }];
    for r in &minibatch {
        if let Some(g) = r.gap {
            let b = r.batch_size as f64;
            series.push(Series {
                label: String::new(),
                x: vec![b, b],
                y: vec![g.lo, g.hi],
                kind: SeriesKind::Line,
                color: Some(0),
            });
        }
    }
    let mut title = "Sharpness gap against batch size".to_string();
    if let Some(f) = summary.fit {
        // Over the fitted points only (positive gaps).
        let (lo, hi) = minibatch
            .iter()
            .filter(|r| r.gap.is_some_and(|g| g.mean > 0.0))
            .map(|r| r.batch_size as f64)
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        let xs = [lo, hi];
        series.push(Series {
            label: format!("fit: slope {:.2}, R² {:.3}", f.slope, f.r2),
            x: xs.to_vec(),
            y: xs
                .iter()
                .map(|b| (f.intercept + f.slope * b.ln()).exp())
                .collect(),
            kind: SeriesKind::Line,
            color: Some(3),
        });
        title = format!("{title} (slope {:.2}, R² {:.3})", f.slope, f.r2);
    }
    Figure::Line(LinePlot {
        title,
        x_label: "batch size".into(),
        y_label: "gap 2/η − λmax (window mean; gaps ≤ 0 not shown)".into(),
        log_x: true,
        log_y: true,
        series,
        ..LinePlot::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_fit_and_window_mean() {
        let pts: Vec<(f64, f64)> = [1.0, 2.0, 3.0, 4.0]
            .iter()
            .map(|&x| (x, 2.0 - 1.5 * x))
            .collect();
        let f = fit_line(&pts).unwrap();
        assert!((f.slope + 1.5).abs() < 1e-14 && (f.intercept - 2.0).abs() < 1e-14);
        assert!((f.r2 - 1.0).abs() < 1e-14);
        assert!(fit_line(&pts[..1]).is_none());
        let steps: Vec<f64> = (0..40).map(f64::from).collect();
        let values: Vec<f64> = (0..40)
            .map(|i| if i < 20 { 100.0 } else { (i % 2) as f64 })
            .collect();
        let w = window_mean(&steps, &values, 20.0).unwrap();
        assert_eq!((w.mean, w.measurements), (0.5, 20));
        // Each block of two holds one 0 and one 1: the block means agree, the interval is a point.
        assert_eq!((w.lo, w.hi), (0.5, 0.5));
        assert!(window_mean(&steps, &values, 35.0).is_none());
    }
}

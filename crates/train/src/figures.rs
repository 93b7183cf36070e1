//! Figures of a training run (docs/training.md "Figures"), from the metrics table: loss (log
//! scale, with every process's loss), sharpness and top-k eigenvalues with the stability
//! threshold (and the other processes' sharpness), cosine of consecutive updates, the
//! oscillation projection, the distances between processes, and the curvature along the
//! step (batch sharpness and its relatives, with their edges). A figure is only drawn when
//! its quantity was measured.

use std::path::{Path, PathBuf};

use gdscope_core::optimizer::OptimizerConfig;
use gdscope_io::Table;
use gdscope_plot::{Figure, Format, LinePlot, RefLine, Series, SeriesKind};

/// `(file stem, figure)` for every figure the metrics support; `preconditioned` says the
/// tracked eigenvalues are those of the preconditioned Hessian `P^(−1/2) H P^(−1/2)`
/// (Adam/RMSProp with `tracking.effective_hessian`), which the labels then name; `optimizer`
/// gives the momentum reference lines of the step-curvature figure.
pub fn training_plots(
    metrics: &Table,
    optimizer: &OptimizerConfig,
    preconditioned: bool,
) -> Vec<(&'static str, Figure)> {
    let steps: Vec<f64> = metrics
        .column("step")
        .and_then(|c| c.as_i64())
        .map(|s| s.iter().map(|&x| x as f64).collect())
        .unwrap_or_default();
    let has = |name: &str| {
        metrics
            .f64_column(name)
            .is_some_and(|v| v.iter().any(|x| x.is_finite()))
    };
    let line = |label: &str, name: &str, kind: SeriesKind| Series {
        label: label.into(),
        x: steps.clone(),
        y: metrics.f64_column(name).unwrap_or(&[]).to_vec(),
        kind,
        color: None,
    };
    let prefixed = |metric: &str| -> Vec<String> {
        metrics
            .names()
            .filter(|n| {
                n.split_once('.')
                    .is_some_and(|(p, m)| m == metric && p != "distance")
            })
            .map(str::to_string)
            .collect()
    };
    let mut out = Vec::new();

    let mut loss = LinePlot {
        title: "Training loss".into(),
        x_label: "step".into(),
        y_label: "loss".into(),
        log_y: true,
        series: vec![line("loss (step batch)", "loss", SeriesKind::Line)],
        ..LinePlot::default()
    };
    for (label, name) in [
        ("train loss (full batch)", "train_loss"),
        ("test loss", "test_loss"),
    ] {
        if has(name) && metrics.f64_column(name) != metrics.f64_column("loss") {
            loss.series.push(line(label, name, SeriesKind::LinePoints));
        }
    }
    for name in prefixed("loss") {
        if has(&name) {
            loss.series.push(line(&name, &name, SeriesKind::Line));
        }
    }
    out.push(("loss", loss.into()));

    let eigs: Vec<String> = (1..)
        .map(|i| format!("eig_{i}"))
        .take_while(|n| metrics.column(n).is_some())
        .collect();
    let others: Vec<String> = prefixed("sharpness")
        .into_iter()
        .filter(|n| has(n))
        .collect();
    if !eigs.is_empty() || !others.is_empty() {
        let (title, y_label) = if preconditioned {
            (
                "Top preconditioned-Hessian eigenvalues and the stability threshold",
                "eigenvalue of P^(−1/2) H P^(−1/2)",
            )
        } else {
            (
                "Top Hessian eigenvalues and the stability threshold",
                "eigenvalue",
            )
        };
        let mut sharp = LinePlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: y_label.into(),
            ..LinePlot::default()
        };
        for (i, name) in eigs.iter().enumerate() {
            sharp
                .series
                .push(line(&format!("λ{}", i + 1), name, SeriesKind::Points));
        }
        for name in &others {
            // Measured every few steps: join the measurements (NaN in between would break
            // the line into nothing).
            let mut l = line(name, name, SeriesKind::LinePoints);
            let (x, y): (Vec<f64>, Vec<f64>) =
                l.x.iter()
                    .zip(&l.y)
                    .filter(|(_, y)| y.is_finite())
                    .map(|(x, y)| (*x, *y))
                    .unzip();
            (l.x, l.y) = (x, y);
            sharp.series.push(l);
        }
        add_threshold(&mut sharp, metrics, &steps);
        out.push(("sharpness", sharp.into()));
    }

    let single = |stem: &'static str, title: &str, y_label: &str, name: &str, kind, zero| {
        let mut p = LinePlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: y_label.into(),
            series: vec![line("", name, kind)],
            ..LinePlot::default()
        };
        if zero {
            p.hlines.push(RefLine {
                value: 0.0,
                label: String::new(),
            });
        }
        (stem, Figure::from(p))
    };
    if has("update_cosine") {
        out.push(single(
            "update_cosine",
            "Cosine of consecutive updates",
            "cos(Δw_t, Δw_{t-1})",
            "update_cosine",
            SeriesKind::Line,
            true,
        ));
    }
    if has("projection") {
        out.push(single(
            "projection",
            "Projection of w_t − w_t0 on the top eigenvector at t0",
            "⟨w_t − w_t0, u_t0⟩",
            "projection",
            SeriesKind::LinePoints,
            false,
        ));
    }
    let distances: Vec<String> = metrics
        .names()
        .filter(|n| n.starts_with("distance.") && has(n))
        .map(str::to_string)
        .collect();
    if !distances.is_empty() {
        out.push((
            "distance",
            LinePlot {
                title: "Distances between processes".into(),
                x_label: "step".into(),
                y_label: "‖w_a − w_b‖".into(),
                series: distances
                    .iter()
                    .map(|n| line(n.trim_start_matches("distance."), n, SeriesKind::Line))
                    .collect(),
                ..LinePlot::default()
            }
            .into(),
        ));
    }
    if let Some(fig) = step_curvature_plot(metrics, &steps, optimizer) {
        out.push(("step_curvature", fig));
    }
    out
}

/// Curvature along the step (docs/curvature.md), when measured: the curvature panel
/// (sharpness, batch sharpness, GNI, directional and critical sharpness) with the threshold
/// and, for heavy-ball momentum β, `2(1−β)/η` and `2(1+β)/η` (shifted by the weight decay
/// as the rule's threshold is); the generalized batch sharpness with its edge 2; the
/// realized edge ζ and the mean-square stability with their edge 1.
fn step_curvature_plot(
    metrics: &Table,
    steps: &[f64],
    optimizer: &OptimizerConfig,
) -> Option<Figure> {
    let measured = |name: &str, label: &str, kind: SeriesKind| -> Option<Series> {
        let (x, y) = finite_points(steps, metrics.f64_column(name)?);
        (!y.is_empty()).then(|| Series {
            label: label.into(),
            x,
            y,
            kind,
            color: None,
        })
    };
    let panel = |title: &str, y_label: &str, names: &[(&str, &str)]| -> Option<LinePlot> {
        let series: Vec<Series> = names
            .iter()
            .filter_map(|(n, l)| measured(n, l, SeriesKind::LinePoints))
            .collect();
        (!series.is_empty()).then(|| LinePlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: y_label.into(),
            series,
            ..LinePlot::default()
        })
    };
    let mut panels = Vec::new();
    if let Some(mut p) = panel(
        "Curvature along the step",
        "curvature",
        &[
            ("batch_sharpness", "batch sharpness"),
            ("batch_sharpness_rom", "batch sharpness (ratio of means)"),
            ("gni", "gradient–noise interaction"),
            ("directional_sharpness", "directional sharpness"),
            ("critical_sharpness", "critical sharpness"),
        ],
    ) {
        if let Some(s) = measured("sharpness", "λmax", SeriesKind::Points) {
            p.series.insert(0, s);
        }
        add_threshold(&mut p, metrics, steps);
        p.hlines.extend(momentum_lines(metrics, optimizer));
        panels.push(p);
    }
    if let Some(mut p) = panel(
        "Generalized batch sharpness (edge 2 for every optimizer)",
        "E[sᵀH_B s] / (−E[sᵀg_B])",
        &[("generalized_sharpness", "generalized batch sharpness")],
    ) {
        p.hlines.push(RefLine {
            value: 2.0,
            label: "edge 2".into(),
        });
        panels.push(p);
    }
    if let Some(mut p) = panel(
        "Realized edge and mean-square stability (edge 1)",
        "ζ, λmax(E[(I − ηH_B)²])",
        &[
            ("realized_edge", "realized edge ζ"),
            ("mean_square", "mean-square stability"),
        ],
    ) {
        p.hlines.push(RefLine {
            value: 1.0,
            label: "edge 1".into(),
        });
        panels.push(p);
    }
    match panels.len() {
        0 => None,
        1 => panels.pop().map(Figure::from),
        _ => Some(Figure::Grid {
            cols: 1,
            panels: panels.into_iter().map(Figure::from).collect(),
        }),
    }
}

/// Heavy ball's batch-sharpness plateaus `2(1−β)/η` (small batches) and `2(1+β)/η` (large
/// batches; the stability threshold), shifted by the rule's weight-decay shift, at a
/// constant learning rate; none otherwise.
fn momentum_lines(metrics: &Table, optimizer: &OptimizerConfig) -> Vec<RefLine> {
    let beta = match optimizer {
        OptimizerConfig::Polyak(p) => p.beta,
        OptimizerConfig::Sgd(s) => s.momentum,
        _ => 0.0,
    };
    let lr = metrics.f64_column("lr").unwrap_or(&[]);
    let Some(&eta) = lr.first() else {
        return Vec::new();
    };
    if beta == 0.0 || lr.iter().any(|&l| l != eta) {
        return Vec::new();
    }
    let shift = (2.0 + 2.0 * beta) / eta - optimizer.rule().stability_threshold(eta);
    let low = 2.0 * (1.0 - beta) / eta - shift;
    vec![RefLine {
        value: low,
        label: format!(
            "2(1−β)/η{} = {low:.4}",
            if shift != 0.0 { " − decay" } else { "" }
        ),
    }]
}

/// `v` rounded to four significant digits (a legend entry such as `2/η` for η = 0.67 reads
/// 2.985, not 2.98507…).
fn four_significant(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(3 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// A dashed line when the threshold is constant, else a curve (a learning-rate schedule).
pub(crate) fn add_threshold(plot: &mut LinePlot, metrics: &Table, steps: &[f64]) {
    let thr = metrics.f64_column("threshold").unwrap_or(&[]);
    match thr.first() {
        Some(&t0) if thr.iter().all(|&t| t == t0) => {
            plot.hlines.push(RefLine {
                value: t0,
                label: format!(
                    "threshold = {}",
                    gdscope_plot::short_number(four_significant(t0))
                ),
            });
        }
        Some(_) => plot.series.push(Series {
            label: "threshold".into(),
            x: steps.to_vec(),
            y: thr.to_vec(),
            kind: SeriesKind::Line,
            color: None,
        }),
        None => {}
    }
}

/// Renders [`training_plots`] and, for a run with a central flow,
/// [`central_plots`](crate::central_figures::central_plots) (its optimizer curves smoothed with
/// σ = `smoothing` steps) as PNG and SVG into `dir`, with a dashed vertical line at `fork_step`
/// for a fork (the rows before it are its parent's); returns the files written.
pub fn training_figures(
    metrics: &Table,
    dir: &Path,
    optimizer: &OptimizerConfig,
    preconditioned: bool,
    fork_step: Option<u64>,
    smoothing: f64,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let plots = training_plots(metrics, optimizer, preconditioned)
        .into_iter()
        .chain(crate::central_figures::central_plots(metrics, smoothing));
    for (stem, mut figure) in plots {
        if let (Some(t), Figure::Line(plot)) = (fork_step, &mut figure) {
            plot.vlines.push(RefLine {
                value: t as f64,
                label: format!("fork at step {t}"),
            });
        }
        files.extend(gdscope_plot::save(
            &figure,
            &dir.join(stem),
            &[Format::Png, Format::Svg],
        )?);
    }
    Ok(files)
}

/// The points `(step, value)` whose value is finite (measurements are `NaN` between their
/// steps).
pub(crate) fn finite_points(steps: &[f64], values: &[f64]) -> (Vec<f64>, Vec<f64>) {
    steps
        .iter()
        .zip(values)
        .filter(|(_, y)| y.is_finite())
        .map(|(x, y)| (*x, *y))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sharpness figure names the matrix whose eigenvalues it shows and the threshold.
    #[test]
    fn sharpness_labels_name_the_tracked_matrix() {
        let mut metrics = Table::new();
        metrics.push_i64("step", vec![0, 1]).unwrap();
        metrics.push_f64("eig_1", vec![30.0, 31.0]).unwrap();
        metrics.push_f64("threshold", vec![40.0, 40.0]).unwrap();
        let labels = |preconditioned| {
            training_plots(&metrics, &OptimizerConfig::gd(0.05), preconditioned)
                .into_iter()
                .find_map(|(stem, f)| match (stem, f) {
                    ("sharpness", Figure::Line(p)) => Some((p.title, p.y_label, p.hlines)),
                    _ => None,
                })
                .unwrap()
        };
        let (t, y, _) = labels(true);
        assert!(t.contains("preconditioned-Hessian") && y.contains("P^(−1/2) H P^(−1/2)"));
        let (t, _, thresholds) = labels(false);
        assert!(t.starts_with("Top Hessian"), "{t}");
        // The threshold as logged, without trailing zeros or rounding residue.
        assert_eq!(thresholds[0].label, "threshold = 40");
    }

    #[test]
    fn threshold_labels_keep_four_significant_digits() {
        let label = |v: f64| gdscope_plot::short_number(four_significant(v));
        assert_eq!(label(2.0 / 0.67), "2.985");
        assert_eq!(label(40.0), "40");
        assert_eq!(label(2.0 / 3e-5), "66670");
        assert_eq!(label(0.0012345678), "0.001235");
    }
}

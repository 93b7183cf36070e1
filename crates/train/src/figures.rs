//! Figures of a training run (docs/training.md "Figures"): loss (log scale), sharpness and
//! top-k eigenvalues with the stability threshold, cosine of consecutive updates, the
//! oscillation projection, and the distance to the gradient-flow baseline. A figure is only
//! drawn when its quantity was measured.

use std::path::{Path, PathBuf};

use gdscope_plot::{Figure, Format, LinePlot, RefLine, Series, SeriesKind};

use crate::metrics::{Metrics, Row};

/// `(file stem, figure)` for every figure the metrics support; `preconditioned` says the
/// tracked eigenvalues are those of the preconditioned Hessian `P^{-1/2} H P^{-1/2}`
/// (Adam/RMSProp with `tracking.effective_hessian`), which the labels then name.
pub fn training_plots(metrics: &Metrics, preconditioned: bool) -> Vec<(&'static str, Figure)> {
    let steps: Vec<f64> = metrics.rows.iter().map(|r| r.step as f64).collect();
    let column = |f: fn(&Row) -> f64| -> Vec<f64> { metrics.rows.iter().map(f).collect() };
    let has = |v: &[f64]| v.iter().any(|x| x.is_finite());
    let line = |label: &str, y: Vec<f64>, kind: SeriesKind| Series {
        label: label.into(),
        x: steps.clone(),
        y,
        kind,
        color: None,
    };
    let mut out = Vec::new();

    let mut loss = LinePlot {
        title: "Training loss".into(),
        x_label: "step".into(),
        y_label: "loss".into(),
        log_y: true,
        series: vec![line(
            "loss (step batch)",
            column(|r| r.loss),
            SeriesKind::Line,
        )],
        ..LinePlot::default()
    };
    for (label, f) in [
        (
            "train loss (full batch)",
            (|r: &Row| r.train_loss) as fn(&Row) -> f64,
        ),
        ("test loss", |r| r.test_loss),
        ("gradient flow", |r| r.flow_loss),
    ] {
        let y = column(f);
        if has(&y) && y != column(|r| r.loss) {
            loss.series.push(line(label, y, SeriesKind::LinePoints));
        }
    }
    out.push(("loss", loss.into()));

    let k = metrics.max_k();
    if k > 0 {
        let (title, y_label) = if preconditioned {
            (
                "Top preconditioned-Hessian eigenvalues and the stability threshold",
                "eigenvalue of P^{-1/2} H P^{-1/2}",
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
        for i in 0..k {
            let y = metrics
                .rows
                .iter()
                .map(|r| r.eigenvalues.get(i).copied().unwrap_or(f64::NAN))
                .collect();
            sharp
                .series
                .push(line(&format!("λ{}", i + 1), y, SeriesKind::Points));
        }
        add_threshold(&mut sharp, metrics, &steps);
        out.push(("sharpness", sharp.into()));
    }

    let cos = column(|r| r.update_cosine);
    if has(&cos) {
        out.push((
            "update_cosine",
            LinePlot {
                title: "Cosine of consecutive updates".into(),
                x_label: "step".into(),
                y_label: "cos(Δw_t, Δw_{t-1})".into(),
                series: vec![line("", cos, SeriesKind::Line)],
                hlines: vec![RefLine {
                    value: 0.0,
                    label: String::new(),
                }],
                ..LinePlot::default()
            }
            .into(),
        ));
    }
    let proj = column(|r| r.projection);
    if has(&proj) {
        out.push((
            "projection",
            LinePlot {
                title: "Projection of w_t − w_t0 on the top eigenvector at t0".into(),
                x_label: "step".into(),
                y_label: "⟨w_t − w_t0, u_t0⟩".into(),
                series: vec![line("", proj, SeriesKind::LinePoints)],
                ..LinePlot::default()
            }
            .into(),
        ));
    }
    let dist = column(|r| r.flow_distance);
    if has(&dist) {
        out.push((
            "flow_distance",
            LinePlot {
                title: "Distance between the optimizer and gradient flow".into(),
                x_label: "step".into(),
                y_label: "‖w_t − w_flow(t)‖".into(),
                series: vec![line("", dist, SeriesKind::Line)],
                ..LinePlot::default()
            }
            .into(),
        ));
    }
    out
}

/// A dashed line when the threshold is constant, else a curve.
fn add_threshold(plot: &mut LinePlot, metrics: &Metrics, steps: &[f64]) {
    let thr: Vec<f64> = metrics.rows.iter().map(|r| r.threshold).collect();
    match thr.first() {
        Some(&t0) if thr.iter().all(|&t| t == t0) => {
            plot.hlines.push(RefLine {
                value: t0,
                label: format!("threshold {t0:.4}"),
            });
        }
        Some(_) => plot.series.push(Series {
            label: "threshold".into(),
            x: steps.to_vec(),
            y: thr,
            kind: SeriesKind::Line,
            color: None,
        }),
        None => {}
    }
}

/// Renders [`training_plots`] as PNG and SVG into `dir`; returns the files written.
pub fn training_figures(
    metrics: &Metrics,
    dir: &Path,
    preconditioned: bool,
) -> anyhow::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for (stem, figure) in training_plots(metrics, preconditioned) {
        files.extend(gdscope_plot::save(
            &figure,
            &dir.join(stem),
            &[Format::Png, Format::Svg],
        )?);
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The sharpness figure names the matrix whose eigenvalues it shows.
    #[test]
    fn sharpness_labels_name_the_tracked_matrix() {
        let mut row = Row::new(0, 0.01, 40.0);
        row.eigenvalues = vec![30.0];
        let metrics = Metrics { rows: vec![row] };
        let title = |preconditioned| {
            training_plots(&metrics, preconditioned)
                .into_iter()
                .find_map(|(stem, f)| match (stem, f) {
                    ("sharpness", Figure::Line(p)) => Some((p.title, p.y_label)),
                    _ => None,
                })
                .unwrap()
        };
        let (t, y) = title(true);
        assert!(t.contains("preconditioned-Hessian") && y.contains("P^{-1/2} H P^{-1/2}"));
        let (t, _) = title(false);
        assert!(t.starts_with("Top Hessian"), "{t}");
    }
}

//! The `direction` run: Theorem 1 for one `(f, η, x0)` — minimum, thresholds, predicted
//! regime and eigenvector, GD trajectory, observed direction, verdict (docs/direction.md,
//! docs/theory.md §Theorem 1). [`DirectionSpec`] says what to run; [`run`] runs it and writes
//! `config.toml`, `metrics.parquet` (one row per step), `summary.json` and the figure
//! `direction.png`/`.svg`.

use anyhow::{bail, Result};
use gdscope_core::Objective;
use gdscope_direction::{report::analyze, DirectionReport, Tolerances};
use gdscope_io::Table;
use gdscope_plot::{ContourPlot, Figure, Format, LinePlot, RefLine, Series, SeriesKind};
use serde::{Deserialize, Serialize};

use crate::{write_config, ObjectiveSpec, Output, ResolvedObjective};

/// What `gdscope direction` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionSpec {
    /// The function f.
    pub objective: ObjectiveSpec,
    /// Learning rate η of gradient descent.
    pub lr: f64,
    /// Start point x0 (default: the built-in's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x0: Option<Vec<f64>>,
    /// The minimum x* (default: damped Newton from the known minimum or from x0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Vec<f64>>,
    /// Maximum number of GD steps (the run stops earlier once ‖x_k − x*‖ reaches rounding).
    #[serde(default = "default_steps")]
    pub steps: usize,
}

fn default_steps() -> usize {
    100_000
}

impl DirectionSpec {
    /// The spec of GD with rate `lr` on `objective`, every other setting at its default.
    pub fn new(objective: ObjectiveSpec, lr: f64) -> DirectionSpec {
        DirectionSpec {
            objective,
            lr,
            x0: None,
            minimum: None,
            steps: default_steps(),
        }
    }
}

/// What a direction run found.
#[derive(Debug, Clone)]
pub struct DirectionRun {
    /// The objective the spec resolved to.
    pub objective: ResolvedObjective,
    /// Thresholds, prediction, trajectory, observation and verdict.
    pub report: DirectionReport,
}

/// The resolved part of a direction run's `config.toml`.
#[derive(Serialize)]
struct Resolved<'a> {
    objective: &'a ResolvedObjective,
    lr: f64,
    x0: &'a [f64],
    steps: usize,
    minimum: Option<&'a [f64]>,
    tolerances: Tolerances,
}

/// Runs the analysis and, with `output`, writes its run directory (created only once the
/// analysis succeeded).
pub fn run(spec: &DirectionSpec, output: Option<&Output>) -> Result<DirectionRun> {
    let resolved = spec.objective.resolve()?;
    let x0 = start_point(spec.x0.as_deref(), &resolved)?;
    let tol = Tolerances::default();
    let newton_start = resolved.known_minimum.clone().unwrap_or_else(|| x0.clone());
    let report = analyze(
        &resolved.objective,
        &x0,
        spec.lr,
        spec.steps,
        spec.minimum.as_deref(),
        &newton_start,
        &tol,
    )?;
    if let Some(output) = output {
        let run = output.create()?;
        let config = Resolved {
            objective: &resolved,
            lr: spec.lr,
            x0: &x0,
            steps: spec.steps,
            minimum: spec.minimum.as_deref(),
            tolerances: tol,
        };
        write_config(&run, "direction", spec, config)?;
        run.write_metrics("metrics", &metrics_table(&report)?, output.csv)?;
        run.write_json("summary.json", &summary_with_details(&report)?)?;
        let fig = Figure::Grid {
            cols: 2,
            panels: panels(&resolved.objective, &report, &resolved.name, &resolved.expr),
        };
        gdscope_plot::save(&fig, &run.file("direction"), &[Format::Png, Format::Svg])?;
    }
    Ok(DirectionRun {
        objective: resolved,
        report,
    })
}

/// `--x0`, else the built-in's start, with a clear error when neither exists or the
/// length is wrong.
pub fn start_point(x0: Option<&[f64]>, resolved: &ResolvedObjective) -> Result<Vec<f64>> {
    let x0 = match (x0, &resolved.default_x0) {
        (Some(x), _) => x.to_vec(),
        (None, Some(x)) => x.clone(),
        (None, None) => bail!(
            "no start point: give --x0 a,b,.. ({} values, one per variable {})",
            resolved.vars.len(),
            resolved.vars.join(",")
        ),
    };
    if x0.len() != resolved.vars.len() {
        bail!(
            "--x0 has {} values but the objective has {} variables ({}); give one value per variable",
            x0.len(),
            resolved.vars.len(),
            resolved.vars.join(",")
        );
    }
    Ok(x0)
}

/// The JSON object of `--json` plus a `details` object (sharpness pattern, modes, notes).
pub fn summary_with_details(r: &DirectionReport) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(r.summary())?;
    let o = &r.observation;
    v["details"] = serde_json::json!({
        "lr": r.lr,
        "x0": r.x0,
        "minimum_status": r.minimum.status,
        "newton_iterations": r.minimum.newton_iterations,
        "gradient_norm_at_minimum": r.minimum.grad_norm,
        "observed_mode": o.mode,
        "sign_agrees": r.sign_agrees,
        "sharpness_pattern": o.sharpness_pattern,
        "sharpness_max_step": o.sharpness_max_step,
        "steps_with_sharpness_above_2_over_lr": o.steps_above_two_over_lr,
        "two_over_lr": 2.0 / r.lr,
        "divergence": o.divergence,
        "verdict_reason": r.verdict_reason,
    });
    Ok(v)
}

/// Per-step metrics: step, f, ‖x_k − x*‖, sharpness, cos of consecutive updates, angle,
/// and one column per coordinate (`x0`, `x1`, …).
pub fn metrics_table(r: &DirectionReport) -> Result<Table> {
    trajectories_table(&[(None, r)])
}

/// The per-step metrics of several runs of the same dimension in one table, each row
/// labelled with its run's name in a first column `panel` when one is given.
pub fn trajectories_table(runs: &[(Option<&str>, &DirectionReport)]) -> Result<Table> {
    let col = |f: &dyn Fn(&DirectionReport) -> Vec<f64>| -> Vec<f64> {
        runs.iter().flat_map(|(_, r)| f(r)).collect()
    };
    let opt = |v: &[Option<f64>]| -> Vec<f64> { v.iter().map(|c| c.unwrap_or(f64::NAN)).collect() };
    let mut t = Table::new();
    if runs.iter().any(|(name, _)| name.is_some()) {
        t.push_str(
            "panel",
            runs.iter()
                .flat_map(|(name, r)| {
                    std::iter::repeat_n(
                        name.unwrap_or("").to_string(),
                        r.observation.series.value.len(),
                    )
                })
                .collect(),
        )?;
    }
    t.push_i64(
        "step",
        runs.iter()
            .flat_map(|(_, r)| 0..r.observation.series.value.len() as i64)
            .collect(),
    )?;
    t.push_f64("value", col(&|r| r.observation.series.value.clone()))?;
    t.push_f64("distance", col(&|r| r.observation.series.distance.clone()))?;
    t.push_f64(
        "sharpness",
        col(&|r| r.observation.series.sharpness.clone()),
    )?;
    t.push_f64(
        "cos_updates",
        col(&|r| opt(&r.observation.series.cos_updates)),
    )?;
    t.push_f64("angle_deg", col(&|r| opt(&r.observation.series.angle_deg)))?;
    let dim = runs.first().map_or(0, |(_, r)| r.x0.len());
    for i in 0..dim {
        t.push_f64(
            &format!("x{i}"),
            col(&|r| r.observation.series.x.iter().map(|x| x[i]).collect()),
        )?;
    }
    Ok(t)
}

/// Figure panels: contour with the trajectory (2-D only), sharpness with 2/η, angle to
/// the prediction (log scale), cosine of consecutive updates.
pub fn panels(obj: &dyn Objective, r: &DirectionReport, name: &str, expr: &str) -> Vec<Figure> {
    let s = &r.observation.series;
    let steps: Vec<f64> = (0..s.value.len()).map(|k| k as f64).collect();
    let title = format!("{name}, η = {} ({})", r.lr, r.prediction.regime.as_str());
    let mut out = Vec::new();
    if r.x0.len() == 2 {
        out.push(contour(obj, r, expr, &title).into());
    }
    out.push(
        LinePlot {
            title: format!("sharpness λn(x_k), {title}"),
            x_label: "step k".into(),
            y_label: "λn(x_k)".into(),
            series: vec![line("λn(x_k)", &steps, &s.sharpness)],
            hlines: vec![
                RefLine {
                    value: 2.0 / r.lr,
                    label: "2/η".into(),
                },
                RefLine {
                    value: r.minimum.eigenvalues.last().copied().unwrap_or(f64::NAN),
                    label: "λn(x*)".into(),
                },
            ],
            ..LinePlot::default()
        }
        .into(),
    );
    let angle: Vec<f64> = s.angle_deg.iter().map(|a| a.unwrap_or(f64::NAN)).collect();
    out.push(
        LinePlot {
            title: format!("angle to the predicted eigenvector, {title}"),
            x_label: "step k".into(),
            y_label: "angle (degrees)".into(),
            log_y: true,
            series: vec![line("angle(x_k − x*, q)", &steps, &angle)],
            ..LinePlot::default()
        }
        .into(),
    );
    let cos: Vec<f64> = s
        .cos_updates
        .iter()
        .map(|c| c.unwrap_or(f64::NAN))
        .collect();
    out.push(
        LinePlot {
            title: format!("cos of consecutive updates, {title}"),
            x_label: "step k".into(),
            y_label: "cos⟨Δx_k, Δx_{k−1}⟩".into(),
            series: vec![line("cos", &steps, &cos)],
            hlines: vec![RefLine {
                value: 0.0,
                label: String::new(),
            }],
            ..LinePlot::default()
        }
        .into(),
    );
    out
}

fn line(label: &str, x: &[f64], y: &[f64]) -> Series {
    Series {
        label: label.into(),
        x: x.to_vec(),
        y: y.to_vec(),
        kind: SeriesKind::Line,
        color: None,
    }
}

/// Contour of f (formula `expr`) over the trajectory's bounding box (with margin, widened
/// to the panel's shape), trajectory on top, equal scales on both axes.
fn contour(obj: &dyn Objective, r: &DirectionReport, expr: &str, title: &str) -> ContourPlot {
    let s = &r.observation.series;
    let finite: Vec<&Vec<f64>> =
        s.x.iter()
            .filter(|x| x.iter().all(|v| v.is_finite() && v.abs() < 1e3))
            .collect();
    let bound = |i: usize| {
        let (lo, hi) = finite
            .iter()
            .fold((r.minimum.x[i], r.minimum.x[i]), |(lo, hi), x| {
                (lo.min(x[i]), hi.max(x[i]))
            });
        let pad = 0.15 * (hi - lo).max(1e-3);
        (lo - pad, hi + pad)
    };
    let (xr, yr) = widen_to_aspect(bound(0), bound(1), CONTOUR_ASPECT);
    let n = 120;
    let mut values = vec![0.0; n * n];
    for j in 0..n {
        for i in 0..n {
            let x = xr.0 + (xr.1 - xr.0) * i as f64 / (n - 1) as f64;
            let y = yr.0 + (yr.1 - yr.0) * j as f64 / (n - 1) as f64;
            values[j * n + i] = obj.value(&[x, y]);
        }
    }
    let path = Series {
        label: "GD".into(),
        x: finite.iter().map(|x| x[0]).collect(),
        y: finite.iter().map(|x| x[1]).collect(),
        kind: SeriesKind::LinePoints,
        color: Some(3),
    };
    ContourPlot {
        title: format!("f = {expr}, {title}"),
        x_label: "x".into(),
        y_label: "y".into(),
        x_range: xr,
        y_range: yr,
        nx: n,
        ny: n,
        values,
        levels: 20,
        log_levels: false,
        paths: vec![path],
        markers: vec![(r.minimum.x[0], r.minimum.x[1], "x*".into())],
        value_label: "f(x, y)".into(),
        equal_aspect: true,
    }
}

/// Width / height of the contour's plot box in a panel (so that equal scales fill it).
const CONTOUR_ASPECT: f64 = 1.4;

/// Widens the shorter of the two ranges (about its centre) so that their spans have the
/// ratio `aspect`: the contour then fills its panel at equal scales on both axes.
fn widen_to_aspect(x: (f64, f64), y: (f64, f64), aspect: f64) -> ((f64, f64), (f64, f64)) {
    let (dx, dy) = (x.1 - x.0, y.1 - y.0);
    let widen = |(lo, hi): (f64, f64), span: f64| {
        let c = 0.5 * (lo + hi);
        (c - 0.5 * span, c + 0.5 * span)
    };
    if dx < aspect * dy {
        (widen(x, aspect * dy), y)
    } else {
        (x, widen(y, dx / aspect))
    }
}

//! Sweep figures (docs/sweeps.md "Figures"):
//!
//! * `sweep-<metric>.png`: one line per member of a metric against step. For the sharpness
//!   (or any `eig_*` column) each member's stability threshold is drawn dashed in the
//!   member's colour — the classic edge-of-stability learning-rate figure, where each run's
//!   sharpness rises to its own `2/η` and hovers there. For a sweep of forks, a dashed
//!   vertical line marks the step they were forked at.
//! * `sweep-<field>-vs-<setting>.png`: a summary field against a swept setting, one line per
//!   combination of the other settings (log x axis when the values span a factor 20 or more).

use std::path::PathBuf;

use anyhow::{bail, Result};
use gdscope_io::{Column, Table};
use gdscope_plot::{Figure, LinePlot, RefLine, Series, SeriesKind};

use crate::collect::CollectOptions;
use crate::manifest::Sweep;
use crate::status::MemberStatus;

/// Draws both figures; each entry is the files written or why the figure was not drawn.
pub fn sweep_figures(
    sweep: &Sweep,
    statuses: &[MemberStatus],
    metrics: &[Option<Table>],
    runs: &Table,
    opts: &CollectOptions,
) -> Vec<Result<Vec<PathBuf>>> {
    let save = |stem: String, fig: Result<Figure>| -> Result<Vec<PathBuf>> {
        gdscope_plot::save(&fig?, &sweep.dir.join(stem), &opts.formats)
    };
    let metric = opts.metric.clone().unwrap_or_else(|| {
        let has = |name: &str| {
            metrics.iter().flatten().any(|t| {
                t.f64_column(name)
                    .is_some_and(|v| v.iter().any(|x| x.is_finite()))
            })
        };
        if has("sharpness") {
            "sharpness"
        } else {
            "loss"
        }
        .to_string()
    });
    let field = opts.summary_field.clone().unwrap_or_else(|| {
        let finite = runs
            .f64_column("sharpness_final")
            .is_some_and(|v| v.iter().any(|x| x.is_finite()));
        if finite {
            "sharpness_final"
        } else {
            "final_loss"
        }
        .to_string()
    });
    let mut out = vec![save(
        format!("sweep-{}", file_part(&metric)),
        metric_figure(sweep, statuses, metrics, &metric).map(Figure::from),
    )];
    match opts.vs.clone().or_else(|| first_numeric_axis(sweep, runs)) {
        Some(vs) => out.push(save(
            format!("sweep-{}-vs-{}", file_part(&field), file_part(&vs)),
            summary_figure(sweep, runs, &field, &vs).map(Figure::from),
        )),
        None => out.push(Err(anyhow::anyhow!(
            "no summary figure: no swept setting has several numeric values (choose one with --vs)"
        ))),
    }
    out
}

/// A name safe in a file name.
fn file_part(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `metric` against step, a line per member with data; thresholds dashed for eigenvalues.
pub fn metric_figure(
    sweep: &Sweep,
    statuses: &[MemberStatus],
    metrics: &[Option<Table>],
    metric: &str,
) -> Result<LinePlot> {
    let with_threshold = metric == "sharpness" || metric.starts_with("eig_");
    let mut series = Vec::new();
    for (status, table) in statuses.iter().zip(metrics) {
        let Some(table) = table else { continue };
        let Some(values) = numeric(table, metric) else {
            continue;
        };
        let steps =
            numeric(table, "step").unwrap_or_else(|| (0..values.len()).map(|i| i as f64).collect());
        let (x, y) = finite_pairs(&steps, &values);
        if x.is_empty() {
            continue;
        }
        let color = Some(
            series
                .iter()
                .filter(|s: &&Series| s.kind == SeriesKind::Line)
                .count(),
        );
        let label = sweep.manifest.members[status.index].label();
        let label = if status.state == crate::status::State::Completed {
            label
        } else {
            format!("{label} ({})", status.state)
        };
        series.push(Series {
            label,
            x,
            y,
            kind: SeriesKind::Line,
            color,
        });
        if with_threshold {
            if let Some(thr) = numeric(table, "threshold") {
                let (x, y) = finite_pairs(&steps, &thr);
                series.push(Series {
                    label: String::new(),
                    x,
                    y,
                    kind: SeriesKind::Dashed,
                    color,
                });
            }
        }
    }
    if series.is_empty() {
        bail!("no member has values of the metric `{metric}` yet; choose one with --metric");
    }
    let positive = series.iter().all(|s| s.y.iter().all(|&v| v > 0.0));
    let title = if with_threshold {
        format!("{metric} per run (dashed: that run's stability threshold)")
    } else {
        format!("{metric} per run")
    };
    Ok(LinePlot {
        title: format!("{} — {title}", sweep.manifest.name),
        x_label: "step".into(),
        y_label: metric.into(),
        log_y: metric.contains("loss") && positive,
        series,
        vlines: fork_step(sweep)
            .map(|t| RefLine {
                value: t as f64,
                label: format!("fork at step {t}"),
            })
            .into_iter()
            .collect(),
        ..LinePlot::default()
    })
}

/// The step every member was forked at, for a sweep of forks (`--fork-from`) that does not
/// sweep the step itself.
fn fork_step(sweep: &Sweep) -> Option<u64> {
    let m = &sweep.manifest;
    if m.axes.iter().any(|a| a.key == "fork.step") {
        return None;
    }
    let step = m.base.get("fork")?.get("step")?.as_integer()?;
    u64::try_from(step).ok()
}

/// A summary `field` against the swept setting `vs`, one line per combination of the other
/// settings.
pub fn summary_figure(sweep: &Sweep, runs: &Table, field: &str, vs: &str) -> Result<LinePlot> {
    let Some(x_all) = numeric(runs, vs) else {
        bail!(
            "`{vs}` is not a numeric swept setting; swept: {}",
            sweep
                .manifest
                .axes
                .iter()
                .map(|a| a.key.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let Some(y_all) = numeric(runs, field) else {
        bail!(
            "`{field}` is not a numeric column of sweep.parquet; columns: {}",
            runs.names().collect::<Vec<_>>().join(", ")
        );
    };
    let others: Vec<&str> = sweep
        .manifest
        .axes
        .iter()
        .map(|a| a.key.as_str())
        .filter(|k| *k != vs)
        .collect();
    let mut groups: Vec<(String, Vec<(f64, f64)>)> = Vec::new();
    for (row, member) in sweep.manifest.members.iter().enumerate() {
        let key: Vec<String> = others
            .iter()
            .filter_map(|k| {
                member
                    .settings
                    .get(*k)
                    .map(|v| format!("{}={}", short(k), crate::manifest::display_value(v)))
            })
            .collect();
        let key = key.join(", ");
        let point = (x_all[row], y_all[row]);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, pts)) => pts.push(point),
            None => groups.push((key, vec![point])),
        }
    }
    let mut series = Vec::new();
    for (k, (label, mut pts)) in groups.into_iter().enumerate() {
        pts.retain(|(x, y)| x.is_finite() && y.is_finite());
        if pts.is_empty() {
            continue;
        }
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        series.push(Series {
            label,
            x: pts.iter().map(|p| p.0).collect(),
            y: pts.iter().map(|p| p.1).collect(),
            kind: SeriesKind::LinePoints,
            color: Some(k),
        });
    }
    if series.is_empty() {
        bail!("no member has a finite `{field}` yet");
    }
    // Sharpness against the threshold it is measured by: add the final thresholds.
    if field.starts_with("sharpness") {
        if let Some(thr) = numeric(runs, "threshold_final") {
            let mut pts: Vec<(f64, f64)> = x_all
                .iter()
                .zip(&thr)
                .map(|(&x, &t)| (x, t))
                .filter(|(x, t)| x.is_finite() && t.is_finite())
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            pts.dedup_by(|a, b| a.0 == b.0);
            series.push(Series {
                label: "stability threshold".into(),
                x: pts.iter().map(|p| p.0).collect(),
                y: pts.iter().map(|p| p.1).collect(),
                kind: SeriesKind::Dashed,
                color: Some(7),
            });
        }
    }
    let xs: Vec<f64> = x_all.iter().copied().filter(|x| x.is_finite()).collect();
    let (lo, hi) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    Ok(LinePlot {
        title: format!("{} — {field} against {vs}", sweep.manifest.name),
        x_label: vs.into(),
        y_label: field.into(),
        log_x: lo > 0.0 && hi / lo >= 20.0,
        series,
        ..LinePlot::default()
    })
}

/// The first swept setting with at least two distinct numeric values.
fn first_numeric_axis(sweep: &Sweep, runs: &Table) -> Option<String> {
    sweep
        .manifest
        .axes
        .iter()
        .find(|a| {
            numeric(runs, &a.key).is_some_and(|v| {
                let mut v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
                v.sort_by(f64::total_cmp);
                v.dedup();
                v.len() >= 2
            })
        })
        .map(|a| a.key.clone())
}

/// A column as floats (integers converted).
fn numeric(table: &Table, name: &str) -> Option<Vec<f64>> {
    match table.column(name)? {
        Column::F64(v) => Some(v.clone()),
        Column::I64(v) => Some(v.iter().map(|&x| x as f64).collect()),
        _ => None,
    }
}

/// The `(x, y)` pairs where `y` is finite (so measurements every k steps form one line).
fn finite_pairs(x: &[f64], y: &[f64]) -> (Vec<f64>, Vec<f64>) {
    x.iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .map(|(a, b)| (*a, *b))
        .unzip()
}

fn short(key: &str) -> &str {
    key.rsplit('.').next().unwrap_or(key)
}

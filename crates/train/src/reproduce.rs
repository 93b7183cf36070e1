//! `gdscope reproduce eos` and `gdscope reproduce paper-fig3` (docs/training.md "Reproducing").
//!
//! - **eos**: the synthetic edge-of-stability demo (`examples/eos.toml`, equal to the default
//!   config): reproduced when the run's edge verdict is "edge of stability"
//!   ([`crate::summary::EdgeSummary`]: the sharpness reaches `0.95·2/η`, then stays in a band
//!   around `2/η` while the loss decreases — a catapult does not count).
//! - **paper-fig3**: GD, SGD with momentum and Adam on a small CNN (`examples/paper-fig3-*.toml`;
//!   CIFAR-10 when a path is given, else the synthetic image set): loss and cosine of
//!   consecutive updates per optimizer, one row per optimizer as in the paper.

use std::path::{Path, PathBuf};

use gdscope_data::DataSpec;
use gdscope_io::RunDir;
use gdscope_plot::{Figure, Format, LinePlot, RefLine, Series, SeriesKind};
use serde::Serialize;

use crate::config::TrainConfig;
use crate::run::{self, RunReport};
use crate::summary::{EdgeSummary, EdgeVerdict};

/// The EoS demo config; `quick` shrinks it to a CI-speed run that shows progressive
/// sharpening, the crossing and a long hover at the edge: 50 examples in 5 dimensions, 3
/// classes, MLP 5-16-16-3 gelu-tanh (in f32, like the default), η = 0.35 (2/η ≈ 5.7 against
/// an initial sharpness ≈ 4.2, i.e. 0.73·2/η), 1000 steps, sharpness every 10 steps. It runs
/// in about a second and reaches the edge near step 220.
///
/// Not in f64: there GD damps its own oscillation while ηλ₁ passes near 1 during
/// sharpening, nothing (no rounding) re-seeds it, so the sharpness overshoots to ≈1.2·2/η and
/// catapults before settling — the verdict then says "catapult" (docs/training.md).
pub fn eos_config(quick: bool) -> anyhow::Result<TrainConfig> {
    let base = include_str!("../../../examples/eos.toml");
    if !quick {
        return TrainConfig::from_toml(base, &[]);
    }
    TrainConfig::from_toml(base, &quick_overrides())
}

/// The overrides of the quick EoS demo (see [`eos_config`]).
pub fn quick_overrides() -> Vec<String> {
    [
        "steps=1000",
        "model.spec=\"mlp:5-16-16-3:gelu-tanh\"",
        "data.n=50",
        "data.d=5",
        "data.k=3",
        "optimizer.lr=0.35",
        "tracking.every=10",
        "tracking.eval_every=10",
        "checkpoint.every=0",
    ]
    .map(String::from)
    .to_vec()
}

/// The verdict written into `summary.json` by [`reproduce_eos`].
#[derive(Debug, Clone, Serialize)]
pub struct EosVerdict {
    /// The run's edge verdict is [`EdgeVerdict::EdgeOfStability`].
    pub reproduced: bool,
    /// The verdict.
    pub verdict: EdgeVerdict,
    /// Why, with the numbers.
    pub reason: String,
    /// The criterion in words.
    pub criterion: String,
}

/// Runs the EoS demo into `out`; rewrites `summary.json` with the verdict added.
pub fn reproduce_eos(
    out: &Path,
    quick: bool,
    overwrite: bool,
    progress: bool,
) -> anyhow::Result<(RunReport, EosVerdict)> {
    let report = run::start(eos_config(quick)?, out, overwrite, progress)?;
    let e = &report.summary.edge;
    let verdict = EosVerdict {
        reproduced: e.verdict == EdgeVerdict::EdgeOfStability,
        verdict: e.verdict,
        reason: e.reason.clone(),
        criterion: EdgeSummary::criterion(),
    };
    let mut json = serde_json::to_value(&report.summary)?;
    json["eos"] = serde_json::to_value(&verdict)?;
    RunDir::create(out, true)?.write_json("summary.json", &json)?;
    Ok((report, verdict))
}

/// The three optimizers of paper Figure 3: (name, config).
pub fn fig3_configs(
    cifar10: Option<&Path>,
    quick: bool,
) -> anyhow::Result<Vec<(&'static str, TrainConfig)>> {
    let files = [
        ("gd", include_str!("../../../examples/paper-fig3-gd.toml")),
        (
            "sgd-momentum",
            include_str!("../../../examples/paper-fig3-momentum.toml"),
        ),
        (
            "adam",
            include_str!("../../../examples/paper-fig3-adam.toml"),
        ),
    ];
    let mut overrides: Vec<String> = Vec::new();
    if quick {
        overrides.extend(
            [
                "steps=60",
                "data.n=128",
                "data.test_n=64",
                "tracking.eval_every=20",
            ]
            .map(String::from),
        );
    }
    files
        .into_iter()
        .map(|(name, text)| {
            let mut c = TrainConfig::from_toml(text, &overrides)?;
            if let Some(path) = cifar10 {
                c.data = DataSpec::Cifar10 {
                    path: path.to_path_buf(),
                    n: 1000,
                    classes: 4,
                    test: true,
                };
                c.model.spec = "cnn:3x32x32-4:relu:width=8".into();
            }
            Ok((name, c))
        })
        .collect()
}

/// What [`reproduce_fig3`] returns.
#[derive(Debug)]
pub struct Fig3Outcome {
    /// `(optimizer name, run)` in the order GD, SGD with momentum, Adam.
    pub runs: Vec<(&'static str, RunReport)>,
    /// The figure files written (`fig3.png`, `fig3.svg`).
    pub figures: Vec<PathBuf>,
}

/// Gives every cosine panel (the odd ones) one y range, from the lowest cosine of any
/// optimizer to 1, so the rows compare at a glance.
fn share_cosine_range(panels: &mut [Figure]) {
    let lowest = panels
        .iter()
        .skip(1)
        .step_by(2)
        .filter_map(|f| match f {
            Figure::Line(p) => Some(p.series.iter().flat_map(|s| s.y.iter().copied())),
            _ => None,
        })
        .flatten()
        .filter(|c| c.is_finite())
        .fold(1.0_f64, f64::min)
        .max(-1.0);
    let pad = 0.05 * (1.0 - lowest).max(0.02);
    for f in panels.iter_mut().skip(1).step_by(2) {
        if let Figure::Line(p) = f {
            p.y_range = Some((lowest - pad, 1.0 + pad));
        }
    }
}

/// Runs the three Figure 3 optimizers into `out/<name>` and draws `out/fig3.{png,svg}`
/// (a row per optimizer: loss, cosine of consecutive updates). Returns the reports and the
/// figure files.
pub fn reproduce_fig3(
    out: &Path,
    cifar10: Option<&Path>,
    quick: bool,
    overwrite: bool,
    progress: bool,
) -> anyhow::Result<Fig3Outcome> {
    let run_dir = RunDir::create(out, overwrite)?;
    let mut reports = Vec::new();
    let mut panels = Vec::new();
    for (name, config) in fig3_configs(cifar10, quick)? {
        let report = run::start(config, &out.join(name), overwrite, progress)?;
        let metrics = &report.metrics;
        let column = |name: &str| metrics.f64_column(name).unwrap_or(&[]).to_vec();
        let steps: Vec<f64> = metrics
            .column("step")
            .and_then(|c| c.as_i64())
            .map(|s| s.iter().map(|&x| x as f64).collect())
            .unwrap_or_default();
        let series = |label: &str, y: Vec<f64>| Series {
            label: label.into(),
            x: steps.clone(),
            y,
            kind: SeriesKind::Line,
            color: None,
        };
        panels.push(Figure::Line(LinePlot {
            title: format!("{name}: training loss"),
            x_label: "step".into(),
            y_label: "loss".into(),
            log_y: true,
            series: vec![series("", column("loss"))],
            ..LinePlot::default()
        }));
        panels.push(Figure::Line(LinePlot {
            title: format!("{name}: cosine of consecutive updates"),
            x_label: "step".into(),
            y_label: "cos(Δw_t, Δw_{t-1})".into(),
            series: vec![series("", column("update_cosine"))],
            hlines: vec![RefLine {
                value: 1.0,
                label: String::new(),
            }],
            ..LinePlot::default()
        }));
        reports.push((name, report));
    }
    share_cosine_range(&mut panels);
    let summary: Vec<_> = reports
        .iter()
        .map(|(name, r)| serde_json::json!({ "optimizer": name, "dir": r.dir, "summary": r.summary }))
        .collect();
    run_dir.write_json("summary.json", &summary)?;
    let files = gdscope_plot::save(
        &Figure::Grid { cols: 2, panels },
        &out.join("fig3"),
        &[Format::Png, Format::Svg],
    )?;
    Ok(Fig3Outcome {
        runs: reports,
        figures: files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cosine_panels_share_one_range() {
        let panel = |y: Vec<f64>| {
            Figure::Line(LinePlot {
                series: vec![Series {
                    x: (0..y.len()).map(|i| i as f64).collect(),
                    y,
                    ..Series::default()
                }],
                ..LinePlot::default()
            })
        };
        let mut panels = vec![
            panel(vec![3.0, 2.0]),
            panel(vec![f64::NAN, 0.9, 1.0]),
            panel(vec![3.0, 2.0]),
            panel(vec![f64::NAN, -0.5, 0.8]),
        ];
        share_cosine_range(&mut panels);
        let range = |f: &Figure| match f {
            Figure::Line(p) => p.y_range,
            _ => None,
        };
        assert_eq!(range(&panels[0]), None, "loss panels keep their own range");
        assert_eq!(range(&panels[1]), Some((-0.575, 1.075)));
        assert_eq!(range(&panels[1]), range(&panels[3]));
    }
}

//! The `sweep-lr` run: predicted vs observed regime of GD over a range of learning rates,
//! thresholds marked (docs/direction.md, docs/theory.md §Theorem 1). [`SweepLrSpec`] says
//! what to run; [`run`] runs it and writes `config.toml`, `sweep.parquet` (one row per
//! learning rate), `summary.json` and the figure `sweep.png`/`.svg`.

use anyhow::{bail, Result};
use gdscope_direction::sweep::{lr_grid, sweep, SweepRow};
use gdscope_direction::{
    examine_point, find_minimum, predict, MinimumReport, Thresholds, Tolerances,
};
use gdscope_io::Table;
use gdscope_plot::{CategoryStrips, Format, RefLine};
use serde::{Deserialize, Serialize};

use crate::direction::start_point;
use crate::{write_config, ObjectiveSpec, Output, Reporter, ResolvedObjective};

/// What `gdscope sweep-lr` runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepLrSpec {
    /// The function f.
    pub objective: ObjectiveSpec,
    /// Learning-rate range `[lo, hi]` (default: 0.05·2/λn to 1.2·2/λn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lr_range: Option<[f64; 2]>,
    /// Number of learning rates.
    #[serde(default = "default_count")]
    pub count: usize,
    /// Space the learning rates geometrically.
    #[serde(default)]
    pub log: bool,
    /// Start point x0 (default: the built-in's start).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x0: Option<Vec<f64>>,
    /// The minimum x* (default: damped Newton from the known minimum or from x0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minimum: Option<Vec<f64>>,
    /// Maximum GD steps per learning rate.
    #[serde(default = "default_steps")]
    pub steps: usize,
}

fn default_count() -> usize {
    40
}

fn default_steps() -> usize {
    20_000
}

impl SweepLrSpec {
    /// The default sweep of `objective`.
    pub fn new(objective: ObjectiveSpec) -> SweepLrSpec {
        SweepLrSpec {
            objective,
            lr_range: None,
            count: default_count(),
            log: false,
            x0: None,
            minimum: None,
            steps: default_steps(),
        }
    }
}

/// What a learning-rate sweep found.
#[derive(Debug, Clone)]
pub struct SweepLrRun {
    /// The objective the spec resolved to.
    pub objective: ResolvedObjective,
    /// The minimum x* all rows are compared against.
    pub minimum: MinimumReport,
    /// Thresholds 2/(λ1+λn) and 2/λn at x* (for η = 1).
    pub thresholds: Thresholds,
    /// One row per learning rate, in increasing order.
    pub rows: Vec<SweepRow>,
}

impl SweepLrRun {
    /// Thresholds, minimum, eigenvalues and rows: `summary.json` and the CLI's `--json`.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({"thresholds": self.thresholds, "minimum": &self.minimum.x,
                           "eigenvalues": &self.minimum.eigenvalues, "rows": &self.rows})
    }
}

/// The resolved part of a sweep's `config.toml`.
#[derive(Serialize)]
struct Resolved<'a> {
    objective: &'a ResolvedObjective,
    lrs: &'a [f64],
    x0: &'a [f64],
    steps: usize,
    minimum: &'a [f64],
    tolerances: Tolerances,
}

/// Runs the sweep (one unit of progress per learning rate) and, with `output`, writes its
/// run directory.
pub fn run(
    spec: &SweepLrSpec,
    output: Option<&Output>,
    reporter: &dyn Reporter,
) -> Result<SweepLrRun> {
    let resolved = spec.objective.resolve()?;
    let x0 = start_point(spec.x0.as_deref(), &resolved)?;
    let tol = Tolerances::default();
    let obj = &resolved.objective;
    let min = match (&spec.minimum, &resolved.known_minimum) {
        (Some(x), _) => examine_point(obj, x, &tol)?,
        (None, Some(x)) => find_minimum(obj, x, &tol)?,
        (None, None) => find_minimum(obj, &x0, &tol)?,
    };
    let thresholds = predict(&min, 1.0, &tol).thresholds;
    let (lo, hi) = match spec.lr_range {
        Some([lo, hi]) => (lo, hi),
        None if thresholds.stable_below.is_finite() && thresholds.stable_below > 0.0 => (
            0.05 * thresholds.stable_below,
            1.2 * thresholds.stable_below,
        ),
        None => bail!(
            "x* is not a strict minimum ({}), so there is no default range: give --lr-range lo,hi",
            min.status.describe()
        ),
    };
    let lrs = lr_grid(lo, hi, spec.count, spec.log)?;
    reporter.start("sweep-lr", lrs.len() as u64, "learning rates");
    let rows = sweep(obj, &min, &x0, &lrs, spec.steps, &tol, &|| {
        reporter.advance(1)
    });
    reporter.finish();
    let done = SweepLrRun {
        rows: rows?,
        objective: resolved,
        minimum: min,
        thresholds,
    };
    if let Some(output) = output {
        let run = output.create()?;
        let config = Resolved {
            objective: &done.objective,
            lrs: &lrs,
            x0: &x0,
            steps: spec.steps,
            minimum: &done.minimum.x,
            tolerances: tol,
        };
        write_config(&run, "sweep-lr", spec, config)?;
        run.write_metrics("sweep", &table(&done.rows)?, output.csv)?;
        run.write_json("summary.json", &done.summary())?;
        gdscope_plot::save(
            &figure(&done.rows, &done.objective.name, thresholds, spec.log).into(),
            &run.file("sweep"),
            &[Format::Png, Format::Svg],
        )?;
    }
    Ok(done)
}

fn table(rows: &[SweepRow]) -> Result<Table> {
    let mut t = Table::new();
    t.push_f64("lr", rows.iter().map(|r| r.lr).collect())?;
    t.push_str(
        "predicted",
        rows.iter()
            .map(|r| r.predicted.as_str().to_string())
            .collect(),
    )?;
    t.push_str(
        "observed",
        rows.iter()
            .map(|r| r.observed.as_str().to_string())
            .collect(),
    )?;
    t.push_f64(
        "angle_deg",
        rows.iter()
            .map(|r| r.angle_deg.unwrap_or(f64::NAN))
            .collect(),
    )?;
    t.push_f64(
        "cosine_last",
        rows.iter()
            .map(|r| r.cosine_last.unwrap_or(f64::NAN))
            .collect(),
    )?;
    t.push_f64(
        "sharpness_max",
        rows.iter().map(|r| r.sharpness_max).collect(),
    )?;
    t.push_str(
        "verdict",
        rows.iter()
            .map(|r| r.verdict.as_str().to_string())
            .collect(),
    )?;
    t.push_str(
        "verdict_reason",
        rows.iter().map(|r| r.verdict_reason.clone()).collect(),
    )?;
    Ok(t)
}

/// Category names and colours of the sweep figure (regimes, observations and verdicts that
/// share a name share a colour).
const CATEGORIES: [(&str, [u8; 3]); 11] = [
    ("fixed", [31, 119, 180]),
    ("alternating", [44, 160, 44]),
    ("unstable", [214, 39, 40]),
    ("diverged", [255, 152, 150]),
    ("boundary", [148, 103, 189]),
    ("not_converged", [140, 86, 75]),
    ("not_covered", [199, 199, 199]),
    ("agrees", [152, 223, 138]),
    ("disagrees", [227, 119, 194]),
    ("inconclusive", [255, 187, 120]),
    ("other", [127, 127, 127]),
];

fn category(name: &str) -> u8 {
    let last = CATEGORIES.len() - 1;
    CATEGORIES
        .iter()
        .position(|(n, _)| *n == name)
        .unwrap_or(last) as u8
}

/// Predicted regime, observed regime and verdict against η, thresholds marked.
fn figure(rows: &[SweepRow], name: &str, t: Thresholds, log: bool) -> CategoryStrips {
    let row = |label: &str, f: &dyn Fn(&SweepRow) -> &'static str| {
        (
            label.to_string(),
            rows.iter().map(|r| category(f(r))).collect(),
        )
    };
    CategoryStrips {
        title: format!("{name}: Theorem 1 regime vs learning rate"),
        x_label: "learning rate η".into(),
        log_x: log,
        x: rows.iter().map(|r| r.lr).collect(),
        rows: vec![
            row("predicted", &|r| r.predicted.as_str()),
            row("observed", &|r| r.observed.as_str()),
            row("verdict", &|r| r.verdict.as_str()),
        ],
        categories: CATEGORIES
            .iter()
            .map(|(n, c)| (n.to_string(), *c))
            .collect(),
        vlines: vec![
            RefLine {
                value: t.fixed_below,
                label: "2/(λ1+λn)".into(),
            },
            RefLine {
                value: t.stable_below,
                label: "2/λn".into(),
            },
        ],
    }
}

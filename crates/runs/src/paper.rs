//! The paper figures of Part 1 (`gdscope reproduce paper-fig1 | paper-fig2`): Chen et al.'s
//! Figures 1 and 2 as direction runs of built-in objectives, one panel per
//! (objective, η, x0), each with its verdict (docs/direction.md, docs/theory.md §Theorem 1).
//! [`run`] writes one figure per panel, `config.toml` (per panel: objective, formula, η, x0,
//! steps; the tolerances), `metrics.parquet` (every panel's steps, labelled) and
//! `summary.json` (each panel's summary and whether all agree).

use anyhow::Result;
use gdscope_direction::{report::analyze, DirectionReport, Tolerances, Verdict};
use gdscope_expr::{builtin, BuiltinParams, ExprObjective};
use gdscope_plot::{Figure, Format};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::direction::{panels, summary_with_details, trajectories_table};
use crate::Output;

/// A figure of the papers made of direction runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaperFigure {
    /// Chen et al. Figure 1: x²/2 + 2y² and x²/2 + 2y² + xy² + y³ at η = 0.1 and 0.42.
    PaperFig1,
    /// Chen et al. Figure 2: x² + y²/2 + x²y + x³ at η = 0.1 and 0.95.
    PaperFig2,
}

impl PaperFigure {
    /// The figure's name (`paper-fig1`).
    pub fn name(self) -> &'static str {
        match self {
            PaperFigure::PaperFig1 => "paper-fig1",
            PaperFigure::PaperFig2 => "paper-fig2",
        }
    }

    /// The figure's panels, in order.
    fn cases(self) -> Vec<Case> {
        let case = |objective, lr, x0| Case { objective, lr, x0 };
        match self {
            PaperFigure::PaperFig1 => vec![
                case("paper-fig1", 0.1, [0.3, 0.2]),
                case("paper-fig1", 0.42, [0.3, 0.2]),
                case("paper-fig1-perturbed", 0.1, [0.3, 0.2]),
                case("paper-fig1-perturbed", 0.42, [0.1, 0.05]),
            ],
            PaperFigure::PaperFig2 => vec![
                case("paper-fig2", 0.1, [0.3, 0.2]),
                case("paper-fig2", 0.95, [0.2, 0.2]),
            ],
        }
    }
}

/// Maximum GD steps per panel (every panel reaches the rounding floor long before).
const STEPS: usize = 100_000;

/// One panel: a built-in objective, a learning rate and a start.
struct Case {
    objective: &'static str,
    lr: f64,
    x0: [f64; 2],
}

/// One panel's run.
#[derive(Debug, Clone)]
pub struct Panel {
    /// File stem of its figure, e.g. `panel2-paper-fig2-lr0.95`.
    pub stem: String,
    /// The built-in objective.
    pub objective: &'static str,
    /// Its formula.
    pub expr: String,
    /// The direction run.
    pub report: DirectionReport,
}

/// What a paper figure's runs found.
#[derive(Debug, Clone)]
pub struct PaperRun {
    /// The panels, in order.
    pub panels: Vec<Panel>,
    /// Whether every panel's verdict is `agrees`.
    pub all_agree: bool,
}

/// Runs every panel of `figure` and writes the run directory `output`.
pub fn run(figure: PaperFigure, output: &Output) -> Result<PaperRun> {
    let run = output.create()?;
    let tol = Tolerances::default();
    let cases = figure.cases();
    let mut panels_out = Vec::new();
    let mut summaries = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let b = builtin(case.objective, &BuiltinParams::default())?;
        let obj = ExprObjective::new(&b.expr, Some(&b.vars))?;
        let start = b.minimum.clone().unwrap_or_else(|| case.x0.to_vec());
        let report = analyze(&obj, &case.x0, case.lr, STEPS, None, &start, &tol)?;
        let stem = format!("panel{}-{}-lr{}", i + 1, case.objective, case.lr);
        let fig = Figure::Grid {
            cols: 2,
            panels: panels(&obj, &report, case.objective, &b.expr),
        };
        gdscope_plot::save(&fig, &run.file(&stem), &[Format::Png, Format::Svg])?;
        let mut s = summary_with_details(&report)?;
        s["panel"] = json!(stem);
        s["objective"] = json!(case.objective);
        summaries.push(s);
        panels_out.push(Panel {
            stem,
            objective: case.objective,
            expr: b.expr,
            report,
        });
    }
    let all_agree = panels_out
        .iter()
        .all(|p| p.report.verdict == Verdict::Agrees);
    run.write_toml(
        "config.toml",
        &json!({
            "command": "reproduce",
            "figure": figure.name(),
            "tolerances": &tol,
            "panels": cases.iter().zip(&panels_out).map(|(c, p)| json!({
                "panel": p.stem, "objective": c.objective, "expr": p.expr, "lr": c.lr,
                "x0": c.x0, "steps": STEPS,
            })).collect::<Vec<_>>(),
        }),
    )?;
    let named: Vec<(Option<&str>, &DirectionReport)> = panels_out
        .iter()
        .map(|p| (Some(p.stem.as_str()), &p.report))
        .collect();
    run.write_metrics("metrics", &trajectories_table(&named)?, output.csv)?;
    run.write_json(
        "summary.json",
        &json!({"figure": figure.name(), "all_agree": all_agree, "panels": summaries}),
    )?;
    Ok(PaperRun {
        panels: panels_out,
        all_agree,
    })
}

//! `gdscope reproduce NAME --out DIR`: regenerate a figure of the papers and state, per
//! panel, whether it agrees with the theory. Each name is one function below; add a name
//! by adding a variant to [`Target`] and a match arm in [`run`].

use std::path::PathBuf;

use anyhow::Result;
use gdscope_direction::{report::analyze, Tolerances, Verdict};
use gdscope_expr::{builtin, BuiltinParams};
use gdscope_plot::{Figure, Format};

use super::direction::{panels, run_dir, summary_with_details, trajectories_table};

/// What to reproduce.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Target {
    /// Chen et al. Figure 1: x²/2 + 2y² and x²/2 + 2y² + xy² + y³ at η = 0.1 and 0.42.
    PaperFig1,
    /// Chen et al. Figure 2: x² + y²/2 + x²y + x³ at η = 0.1 and 0.95 (sharpness, angle, cosine).
    PaperFig2,
    /// Chen et al. Figure 3: GD, SGD with momentum and Adam on a small CNN (loss, cosine of updates).
    PaperFig3,
    /// The synthetic edge-of-stability demo: MLP 20-256-256-4, full-batch GD η = 0.08, 3000 steps.
    Eos,
    /// The stochastic sharpness gap: SGD η = 0.4 over batch sizes 8…256 and full batch (λmax, batch sharpness, measured and predicted gap vs batch size).
    SharpnessGap,
}

/// Arguments of `gdscope reproduce`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope reproduce paper-fig1 --out runs/fig1\n  gdscope reproduce paper-fig2 --out runs/fig2\n  gdscope reproduce eos --out runs/eos\n  gdscope reproduce paper-fig3 --quick --out runs/fig3\n  gdscope reproduce sharpness-gap --out runs/gap"
)]
pub struct Args {
    /// The figure to regenerate.
    name: Target,
    /// Output directory (default: runs/reproduce-<name>-<time>).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Allow --out to replace the files of an existing run.
    #[arg(long)]
    overwrite: bool,
    /// eos, paper-fig3, sharpness-gap: a smaller, CI-speed version of the run.
    #[arg(long)]
    quick: bool,
    /// paper-fig3: train on CIFAR-10 (binary version) in this directory instead of synthetic images.
    #[arg(long, value_name = "PATH")]
    cifar10: Option<PathBuf>,
}

/// Maximum GD steps per panel (every panel reaches the rounding floor long before).
const STEPS: usize = 100_000;

/// One panel row: a built-in objective, a learning rate and a start.
struct Case {
    objective: &'static str,
    lr: f64,
    x0: [f64; 2],
}

/// Runs `gdscope reproduce`.
pub fn run(args: Args) -> Result<()> {
    let (kind, cases): (&str, Vec<Case>) = match args.name {
        Target::Eos => {
            return super::reproduce_train::eos(args.out.as_deref(), args.quick, args.overwrite)
        }
        Target::SharpnessGap => {
            return super::reproduce_train::sharpness_gap(
                args.out.as_deref(),
                args.quick,
                args.overwrite,
            )
        }
        Target::PaperFig3 => {
            return super::reproduce_train::paper_fig3(
                args.out.as_deref(),
                args.cifar10.as_ref(),
                args.quick,
                args.overwrite,
            )
        }
        Target::PaperFig1 => (
            "paper-fig1",
            vec![
                Case {
                    objective: "paper-fig1",
                    lr: 0.1,
                    x0: [0.3, 0.2],
                },
                Case {
                    objective: "paper-fig1",
                    lr: 0.42,
                    x0: [0.3, 0.2],
                },
                Case {
                    objective: "paper-fig1-perturbed",
                    lr: 0.1,
                    x0: [0.3, 0.2],
                },
                Case {
                    objective: "paper-fig1-perturbed",
                    lr: 0.42,
                    x0: [0.1, 0.05],
                },
            ],
        ),
        Target::PaperFig2 => (
            "paper-fig2",
            vec![
                Case {
                    objective: "paper-fig2",
                    lr: 0.1,
                    x0: [0.3, 0.2],
                },
                Case {
                    objective: "paper-fig2",
                    lr: 0.95,
                    x0: [0.2, 0.2],
                },
            ],
        ),
    };
    let run = run_dir(
        args.out.as_deref(),
        &format!("reproduce-{kind}"),
        args.overwrite,
    )?;
    let tol = Tolerances::default();
    let mut summaries = Vec::new();
    let mut reports = Vec::new();
    let mut all_agree = true;
    for (i, case) in cases.iter().enumerate() {
        let b = builtin(case.objective, &BuiltinParams::default())?;
        let obj = gdscope_expr::ExprObjective::new(&b.expr, Some(&b.vars))?;
        let start = b.minimum.clone().unwrap_or_else(|| case.x0.to_vec());
        let report = analyze(&obj, &case.x0, case.lr, STEPS, None, &start, &tol)?;
        let stem = format!("panel{}-{}-lr{}", i + 1, case.objective, case.lr);
        let fig = Figure::Grid {
            cols: 2,
            panels: panels(&obj, &report, case.objective, &b.expr),
        };
        gdscope_plot::save(&fig, &run.file(&stem), &[Format::Png, Format::Svg])?;
        all_agree &= report.verdict == Verdict::Agrees;
        println!(
            "{stem}: f = {}, η = {}, predicted {}, sharpness max {:.4} (2/η = {:.4}) → {} ({})",
            b.expr,
            case.lr,
            report.prediction.regime.as_str(),
            report.observation.sharpness_max,
            2.0 / case.lr,
            report.verdict.as_str(),
            report.verdict_reason
        );
        let mut s = summary_with_details(&report)?;
        s["panel"] = serde_json::json!(stem);
        s["objective"] = serde_json::json!(case.objective);
        summaries.push(s);
        reports.push((stem, b.expr, report));
    }
    run.write_toml(
        "config.toml",
        &serde_json::json!({
            "command": "reproduce",
            "figure": kind,
            "tolerances": &tol,
            "panels": cases.iter().zip(&reports).map(|(c, (stem, expr, _))| serde_json::json!({
                "panel": stem, "objective": c.objective, "expr": expr, "lr": c.lr,
                "x0": c.x0, "steps": STEPS,
            })).collect::<Vec<_>>(),
        }),
    )?;
    let named: Vec<(Option<&str>, &gdscope_direction::DirectionReport)> = reports
        .iter()
        .map(|(stem, _, r)| (Some(stem.as_str()), r))
        .collect();
    run.write_metrics("metrics", &trajectories_table(&named)?, false)?;
    run.write_json(
        "summary.json",
        &serde_json::json!({"figure": kind, "all_agree": all_agree, "panels": summaries}),
    )?;
    println!(
        "{} panels written to {} — {}",
        cases.len(),
        run.path.display(),
        if all_agree {
            "all agree"
        } else {
            "NOT all agree"
        }
    );
    Ok(())
}

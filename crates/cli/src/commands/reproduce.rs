//! `gdscope reproduce NAME --out DIR`: regenerate a figure of the papers and state, per
//! panel, whether it agrees with the theory. Each name is one library entry point
//! (`gdscope_runs::paper::run` for paper-fig1/2, `gdscope_train::reproduce` for eos and
//! paper-fig3); add a name by adding a variant to [`Target`] and a match arm in [`run`].

use std::path::PathBuf;

use anyhow::Result;
use gdscope_io::RunDir;
use gdscope_runs::paper::PaperFigure;
use gdscope_runs::Output;

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
    /// The central flow: GD, its central flow and its stable flow on a small MLP (figures and
    /// verdicts of the talk), and the 2-D contour figure on Berthier's example.
    CentralFlow,
    /// The stochastic sharpness gap: SGD η = 0.4 over batch sizes 8…256 and full batch (λmax, batch sharpness, gap vs batch size).
    SharpnessGap,
}

/// Arguments of `gdscope reproduce`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope reproduce paper-fig1 --out runs/fig1\n  gdscope reproduce paper-fig2 --out runs/fig2\n  gdscope reproduce eos --out runs/eos\n  gdscope reproduce central-flow --quick --out runs/central\n  gdscope reproduce paper-fig3 --quick --out runs/fig3\n  gdscope reproduce sharpness-gap --out runs/gap"
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
    /// eos, paper-fig3, central-flow, sharpness-gap: a smaller, CI-speed version of the run.
    #[arg(long)]
    quick: bool,
    /// paper-fig3: train on CIFAR-10 (binary version) in this directory instead of synthetic images.
    #[arg(long, value_name = "PATH")]
    cifar10: Option<PathBuf>,
}

/// Runs `gdscope reproduce`.
pub fn run(args: Args) -> Result<()> {
    let figure = match args.name {
        Target::Eos => {
            return super::reproduce_train::eos(args.out.as_deref(), args.quick, args.overwrite)
        }
        Target::CentralFlow => {
            return super::reproduce_train::central_flow(
                args.out.as_deref(),
                args.quick,
                args.overwrite,
            )
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
        Target::PaperFig1 => PaperFigure::PaperFig1,
        Target::PaperFig2 => PaperFigure::PaperFig2,
    };
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| RunDir::default_path(&format!("reproduce-{}", figure.name())));
    let output = Output {
        dir,
        overwrite: args.overwrite,
        csv: false,
    };
    let done = gdscope_runs::paper::run(figure, &output)?;
    for p in &done.panels {
        let r = &p.report;
        println!(
            "{}: f = {}, η = {}, predicted {}, sharpness max {:.4} (2/η = {:.4}) → {} ({})",
            p.stem,
            p.expr,
            r.lr,
            r.prediction.regime.as_str(),
            r.observation.sharpness_max,
            2.0 / r.lr,
            r.verdict.as_str(),
            r.verdict_reason
        );
    }
    println!(
        "{} panels written to {} — {}",
        done.panels.len(),
        output.dir.display(),
        if done.all_agree {
            "all agree"
        } else {
            "NOT all agree"
        }
    );
    Ok(())
}

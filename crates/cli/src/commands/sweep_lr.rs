//! `gdscope sweep-lr`: parses flags into a [`SweepLrSpec`], runs it with
//! `gdscope_runs::sweep_lr::run` and prints the table (`docs/direction.md`).

use anyhow::Result;
use gdscope_direction::Verdict;
use gdscope_runs::sweep_lr::{SweepLrRun, SweepLrSpec};

use crate::analysis_args::{pair, OutputArgs, StartArgs};
use crate::objective_args::ObjectiveArgs;
use crate::progress::CliReporter;

/// Arguments of `gdscope sweep-lr`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope sweep-lr --objective paper-fig2 --x0 0.2,0.2 --lr-range 0.05,1.2 --count 50 --out runs/sweep\n  gdscope sweep-lr --objective quadratic --spectrum 1,3,10 --x0 0.3,-0.2,0.1 --log --json"
)]
pub struct Args {
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Learning-rate range `lo,hi` (default: 0.05·2/λn to 1.2·2/λn).
    #[arg(long, value_name = "lo,hi", value_delimiter = ',')]
    lr_range: Option<Vec<f64>>,
    /// Number of learning rates.
    #[arg(long, default_value_t = 40)]
    count: usize,
    /// Space the learning rates geometrically.
    #[arg(long)]
    log: bool,
    #[command(flatten)]
    start: StartArgs,
    /// Maximum GD steps per learning rate.
    #[arg(long, default_value_t = 20_000)]
    steps: usize,
    #[command(flatten)]
    output: OutputArgs,
}

impl Args {
    /// The spec these flags describe.
    fn spec(self) -> Result<SweepLrSpec> {
        Ok(SweepLrSpec {
            objective: self.objective.into(),
            lr_range: match self.lr_range {
                Some(v) => Some(pair(&v, "--lr-range")?),
                None => None,
            },
            count: self.count,
            log: self.log,
            x0: self.start.x0,
            minimum: self.start.minimum,
            steps: self.steps,
        })
    }
}

/// Runs `gdscope sweep-lr`.
pub fn run(args: Args) -> Result<()> {
    let output = args.output.clone();
    let done = gdscope_runs::sweep_lr::run(
        &args.spec()?,
        output.run().as_ref(),
        &CliReporter::default(),
    )?;
    output.print(&done, |d| Ok(d.summary().to_string()), print_table)
}

/// The sweep as a text table, rows whose verdict is not `agrees` with a numbered note.
fn print_table(done: &SweepLrRun) {
    let (min, thresholds, rows) = (&done.minimum, done.thresholds, &done.rows);
    println!(
        "x* = {:?}, λ = {:?}; 2/(λ1+λn) = {:.6}, 2/λn = {:.6}",
        min.x, min.eigenvalues, thresholds.fixed_below, thresholds.stable_below
    );
    println!(
        "{:>12}  {:>12}  {:>14}  {:>11}  verdict",
        "η", "predicted", "observed", "angle (°)"
    );
    // Rows whose verdict is not `agrees` get a numbered note with the reason.
    let mut notes = Vec::new();
    for r in rows {
        let angle = r
            .angle_deg
            .map_or_else(|| "-".to_string(), |a| format!("{a:.2e}"));
        let note = if r.verdict == Verdict::Agrees {
            String::new()
        } else {
            notes.push(format!(
                "η = {:.6}: {}: {}",
                r.lr, r.verdict, r.verdict_reason
            ));
            format!(" [{}]", notes.len())
        };
        println!(
            "{:>12.6}  {:>12}  {:>14}  {:>11}  {}{note}",
            r.lr, r.predicted, r.observed, angle, r.verdict
        );
    }
    for (i, n) in notes.iter().enumerate() {
        println!("[{}] {n}", i + 1);
    }
}

//! `gdscope basin`: parses flags into a [`BasinRunSpec`], runs it with
//! `gdscope_runs::basin::run` and prints the class counts (`docs/direction.md`).

use anyhow::Result;
use gdscope_runs::basin::{BasinRun, BasinRunSpec};

use crate::analysis_args::{pair, OutputArgs};
use crate::objective_args::ObjectiveArgs;
use crate::progress::CliReporter;

/// Arguments of `gdscope basin`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope basin --objective paper-fig2 --lr 0.95 --resolution 1000 --steps 1000 --json\n  gdscope basin --objective paper-fig1-perturbed --lr 0.42 --x-range -1,1 --y-range -1,1 --out runs/basin"
)]
pub struct Args {
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Range of the first variable, `a,b`.
    #[arg(long, value_name = "a,b", value_delimiter = ',', default_values_t = [-0.5, 0.5])]
    x_range: Vec<f64>,
    /// Range of the second variable, `c,d`.
    #[arg(long, value_name = "c,d", value_delimiter = ',', default_values_t = [-0.5, 0.5])]
    y_range: Vec<f64>,
    /// Starts per axis (N × N starts, NumPy linspace on both axes).
    #[arg(long, default_value_t = 200)]
    resolution: usize,
    /// Learning rate η.
    #[arg(long)]
    lr: f64,
    /// GD steps per start.
    #[arg(long, default_value_t = 1000)]
    steps: usize,
    /// The minimum x* (default: the known minimum, else damped Newton from the box centre).
    #[arg(long, value_name = "a,b", value_delimiter = ',')]
    minimum: Option<Vec<f64>>,
    #[command(flatten)]
    output: OutputArgs,
}

impl Args {
    /// The spec these flags describe.
    fn spec(self) -> Result<BasinRunSpec> {
        Ok(BasinRunSpec {
            objective: self.objective.into(),
            x_range: pair(&self.x_range, "--x-range")?,
            y_range: pair(&self.y_range, "--y-range")?,
            resolution: self.resolution,
            lr: self.lr,
            steps: self.steps,
            minimum: self.minimum,
        })
    }
}

/// Runs `gdscope basin`.
pub fn run(args: Args) -> Result<()> {
    let output = args.output.clone();
    let done = gdscope_runs::basin::run(
        &args.spec()?,
        output.run().as_ref(),
        &CliReporter::default(),
    )?;
    output.print(
        &done,
        |d| Ok(serde_json::to_string(&d.summary)?),
        print_counts,
    )
}

/// Grid, regime and the number of starts in each class.
fn print_counts(done: &BasinRun) {
    let (s, c) = (&done.summary, &done.summary.counts);
    println!(
        "{}×{} starts, {} steps, η = {} ({}), x* = {:?}",
        s.spec.resolution,
        s.spec.resolution,
        s.spec.steps,
        s.spec.lr,
        s.regime_predicted.as_str(),
        s.minimum
    );
    println!(
        "diverged {}  +q1 {}  −q1 {}  alternating ±qn {}  other {}",
        c.diverged, c.plus_q1, c.minus_q1, c.alternating_qn, c.other
    );
    println!(
        "converged (‖x_K − x*‖ < 1e-8): {} of {} ({:.2}%) in {:.3} s",
        c.converged,
        c.total,
        100.0 * s.converged_fraction,
        s.elapsed_s
    );
}

//! `gdscope direction`: parses flags into a [`DirectionSpec`], runs it with
//! `gdscope_runs::direction::run` and prints the result (`docs/direction.md`).

use anyhow::Result;
use gdscope_direction::DirectionReport;
use gdscope_runs::direction::DirectionSpec;

use crate::analysis_args::{OutputArgs, StartArgs};
use crate::objective_args::ObjectiveArgs;

/// Arguments of `gdscope direction`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope direction --objective paper-fig2 --lr 0.1 --x0 0.3,0.2\n  gdscope direction --objective paper-fig2 --lr 0.95 --x0 0.2,0.2 --json\n  gdscope direction --expr 'x^2/2 + 2*y^2 + x*y^2 + y^3' --lr 0.42 --x0 0.1,0.1 --out runs/fig1b\n  gdscope direction --objective quadratic --spectrum 1,2,5 --rotate-seed 3 --cubic 0.1 --lr 0.3 --x0 0.1,0.2,-0.1"
)]
pub struct Args {
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Learning rate η of gradient descent.
    #[arg(long)]
    lr: f64,
    #[command(flatten)]
    start: StartArgs,
    /// Maximum number of GD steps (the run stops earlier once ‖x_k − x*‖ reaches rounding).
    #[arg(long, default_value_t = 100_000)]
    steps: usize,
    #[command(flatten)]
    output: OutputArgs,
}

impl Args {
    /// The spec these flags describe.
    fn spec(self) -> DirectionSpec {
        DirectionSpec {
            objective: self.objective.into(),
            lr: self.lr,
            x0: self.start.x0,
            minimum: self.start.minimum,
            steps: self.steps,
        }
    }
}

/// Runs `gdscope direction`.
pub fn run(args: Args) -> Result<()> {
    let output = args.output.clone();
    let done = gdscope_runs::direction::run(&args.spec(), output.run().as_ref())?;
    output.print(
        &done.report,
        |r| Ok(serde_json::to_string(&r.summary())?),
        print_human,
    )
}

fn fmt_vec(v: &[f64]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:+.6}")).collect();
    format!("({})", parts.join(", "))
}

fn print_human(r: &DirectionReport) {
    let m = &r.minimum;
    let o = &r.observation;
    println!(
        "minimum x*        {}  ({}; ‖∇f‖ = {:.1e})",
        fmt_vec(&m.x),
        m.status.describe(),
        m.grad_norm
    );
    println!("eigenvalues       {}", fmt_vec(&m.eigenvalues));
    println!(
        "thresholds        2/(λ1+λn) = {:.6}   2/λn = {:.6}   (η = {})",
        r.prediction.thresholds.fixed_below, r.prediction.thresholds.stable_below, r.lr
    );
    println!(
        "predicted regime  {}: {}",
        r.prediction.regime.as_str(),
        r.prediction.reason
    );
    if let Some(p) = &r.predicted_direction {
        println!("predicted limit   {}", fmt_vec(p));
    }
    println!(
        "trajectory        {} after {} steps, final ‖x − x*‖ = {:.3e}{}",
        o.status,
        o.steps,
        o.final_distance,
        o.divergence
            .as_ref()
            .map(|d| format!(" ({d})"))
            .unwrap_or_default()
    );
    if let (Some(d), Some(k), Some(mode)) = (&o.direction, o.read_at_step, o.mode) {
        let what = if mode == gdscope_direction::Mode::Alternating {
            "(−1)^k v_k"
        } else {
            "v_k"
        };
        println!(
            "observed          {what} = {} at step {k} (‖x_k − x*‖ = {:.2e}), {} mode",
            fmt_vec(d),
            o.series.distance[k],
            mode
        );
    }
    if let Some(a) = r.angle_deg {
        let sign = match r.sign_agrees {
            Some(true) => "same sign",
            Some(false) => "opposite sign",
            None => "",
        };
        println!("angle to predicted {a:.3e}° ({sign})");
    }
    if let Some(c) = o.cosine_last {
        println!("cos of updates    {c:+.6} (last before rounding)");
    }
    println!(
        "sharpness         max {:.6} at step {} (2/η = {:.6}, above it at {} steps), final {:.6}, pattern {}",
        o.sharpness_max,
        o.sharpness_max_step,
        2.0 / r.lr,
        o.steps_above_two_over_lr,
        o.sharpness_final,
        o.sharpness_pattern
    );
    println!(
        "verdict           {}: {}",
        r.verdict.as_str(),
        r.verdict_reason
    );
}

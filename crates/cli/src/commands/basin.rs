//! `gdscope basin`: GD from every start of a 2-D grid, each start classified (diverged /
//! +q1 / −q1 / alternating along ±qn / other): the basin `V_η` of the paper
//! (`docs/direction.md`).

use crate::analysis_args::OutputArgs;

use anyhow::{bail, Result};
use gdscope_direction::basin::{
    basin_map_with_progress, BasinClass, BasinMap, BasinSpec, BatchGradient,
};
use gdscope_direction::{examine_point, find_minimum, predict, Tolerances};
use gdscope_expr::{GradientKernel, KernelScratch};
use gdscope_io::Table;
use gdscope_plot::{CategoryMap, Format};
use serde::Serialize;

use super::direction::run_dir;
use crate::objective_args::ObjectiveArgs;
use crate::progress::Progress;

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

/// The expression engine's compiled gradient as a [`BatchGradient`].
struct ExprBatch(GradientKernel);

impl BatchGradient for ExprBatch {
    type Scratch = KernelScratch;
    fn dim(&self) -> usize {
        self.0.nvars()
    }
    fn scratch(&self, chunk: usize) -> KernelScratch {
        KernelScratch::new(&self.0, chunk)
    }
    fn grad_batch(&self, xs: &[&[f64]], grads: &mut [&mut [f64]], scratch: &mut KernelScratch) {
        self.0.eval_grad_batch(xs, grads, scratch);
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    objective: &'a str,
    expr: &'a str,
    spec: &'a BasinSpec,
    minimum: &'a [f64],
    eigenvalues: &'a [f64],
    thresholds: gdscope_direction::Thresholds,
    regime_predicted: gdscope_direction::Regime,
    counts: &'a gdscope_direction::basin::BasinCounts,
    converged_fraction: f64,
    elapsed_s: f64,
}

fn pair(v: &[f64], flag: &str) -> Result<[f64; 2]> {
    match v {
        [a, b] => Ok([*a, *b]),
        _ => bail!("{flag} takes two numbers a,b (got {} values)", v.len()),
    }
}

/// Runs `gdscope basin`.
pub fn run(args: Args) -> Result<()> {
    let resolved = args.objective.resolve()?;
    if resolved.vars.len() != 2 {
        bail!(
            "basin maps need a function of 2 variables; this one has {} ({})",
            resolved.vars.len(),
            resolved.vars.join(",")
        );
    }
    let spec = BasinSpec {
        x_range: pair(&args.x_range, "--x-range")?,
        y_range: pair(&args.y_range, "--y-range")?,
        resolution: args.resolution,
        lr: args.lr,
        steps: args.steps,
    };
    spec.validate()?;
    let tol = Tolerances::default();
    let obj = &resolved.objective;
    let min = match (&args.minimum, &resolved.known_minimum) {
        (Some(x), _) => examine_point(obj, x, &tol)?,
        (None, Some(x)) => find_minimum(obj, x, &tol)?,
        (None, None) => {
            let centre = [
                0.5 * (spec.x_range[0] + spec.x_range[1]),
                0.5 * (spec.y_range[0] + spec.y_range[1]),
            ];
            find_minimum(obj, &centre, &tol)?
        }
    };
    let prediction = predict(&min, args.lr, &tol);
    let progress = Progress::new(
        "basin",
        (spec.resolution * spec.resolution) as u64,
        "starts",
    );
    let map =
        basin_map_with_progress(&ExprBatch(obj.gradient_kernel()), &min, &spec, &tol, &|n| {
            progress.advance(n as u64)
        })?;
    progress.finish();
    let summary = Summary {
        objective: &resolved.name,
        expr: &resolved.expr,
        spec: &spec,
        minimum: &min.x,
        eigenvalues: &min.eigenvalues,
        thresholds: prediction.thresholds,
        regime_predicted: prediction.regime,
        counts: &map.counts,
        converged_fraction: map.counts.converged as f64 / map.counts.total as f64,
        elapsed_s: map.elapsed_s,
    };
    if let Some(out) = &args.output.out {
        let run = run_dir(Some(out), "basin", args.output.overwrite)?;
        run.write_toml("config.toml", &serde_json::json!({"command": "basin", "objective": &resolved, "spec": &spec, "minimum": &min.x, "tolerances": &tol}))?;
        run.write_json("summary.json", &summary)?;
        run.write_metrics("outcomes", &outcomes_table(&map)?, args.output.csv)?;
        let title = format!(
            "basin of {} at η = {} ({})",
            resolved.name,
            args.lr,
            prediction.regime.as_str()
        );
        gdscope_plot::save(
            &image(&map, title).into(),
            &run.file("basin"),
            &[Format::Png, Format::Svg],
        )?;
        if !args.output.json {
            println!("run written to {}", run.path.display());
        }
    }
    if args.output.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        let c = &map.counts;
        println!(
            "{}×{} starts, {} steps, η = {} ({}), x* = {:?}",
            spec.resolution,
            spec.resolution,
            spec.steps,
            spec.lr,
            prediction.regime.as_str(),
            min.x
        );
        println!(
            "diverged {}  +q1 {}  −q1 {}  alternating ±qn {}  other {}",
            c.diverged, c.plus_q1, c.minus_q1, c.alternating_qn, c.other
        );
        println!(
            "converged (‖x_K − x*‖ < 1e-8): {} of {} ({:.2}%) in {:.3} s",
            c.converged,
            c.total,
            100.0 * summary.converged_fraction,
            map.elapsed_s
        );
    }
    Ok(())
}

fn outcomes_table(map: &BasinMap) -> Result<Table> {
    let starts: Vec<[f64; 2]> = (0..map.outcomes.len()).map(|i| map.spec.start(i)).collect();
    let mut t = Table::new();
    t.push_f64("x0", starts.iter().map(|s| s[0]).collect())?;
    t.push_f64("y0", starts.iter().map(|s| s[1]).collect())?;
    t.push_str(
        "class",
        map.outcomes
            .iter()
            .map(|o| o.class.as_str().to_string())
            .collect(),
    )?;
    t.push_bool(
        "converged",
        map.outcomes.iter().map(|o| o.converged).collect(),
    )?;
    t.push_f64(
        "final_distance",
        map.outcomes.iter().map(|o| o.final_distance).collect(),
    )?;
    t.push_i64(
        "read_at_step",
        map.outcomes
            .iter()
            .map(|o| i64::from(o.read_at_step))
            .collect(),
    )?;
    Ok(t)
}

fn image(map: &BasinMap, title: String) -> CategoryMap {
    let n = map.spec.resolution;
    // Outcomes are indexed i·N + j (x major); the image wants cells[j·N + i].
    let mut cells = vec![0u8; n * n];
    for (idx, o) in map.outcomes.iter().enumerate() {
        let (i, j) = (idx / n, idx % n);
        cells[j * n + i] = o.class.code() as u8;
    }
    let colour = |c: BasinClass| match c {
        BasinClass::Diverged => [230, 230, 230],
        BasinClass::PlusQ1 => [31, 119, 180],
        BasinClass::MinusQ1 => [255, 127, 14],
        BasinClass::AlternatingQn => [44, 160, 44],
        BasinClass::Other => [120, 120, 120],
    };
    let half = |r: [f64; 2]| {
        let d = if n > 1 {
            0.5 * (r[1] - r[0]) / (n - 1) as f64
        } else {
            0.5
        };
        (r[0] - d, r[1] + d)
    };
    CategoryMap {
        title,
        x_label: "x0".into(),
        y_label: "y0".into(),
        x_range: half(map.spec.x_range),
        y_range: half(map.spec.y_range),
        nx: n,
        ny: n,
        cells,
        categories: BasinClass::ALL
            .iter()
            .map(|&c| (c.describe().to_string(), colour(c)))
            .collect(),
        equal_aspect: true,
    }
}

//! `gdscope sweep-lr`: predicted vs observed regime of GD over a range of learning rates,
//! thresholds marked (`docs/direction.md`).

use crate::analysis_args::{OutputArgs, StartArgs};

use anyhow::{bail, Result};
use gdscope_direction::sweep::{lr_grid, sweep, SweepRow};
use gdscope_direction::{examine_point, find_minimum, predict, Tolerances, Verdict};
use gdscope_io::Table;
use gdscope_plot::{CategoryStrips, Format, RefLine};

use super::direction::{run_dir, start_point};
use crate::objective_args::ObjectiveArgs;
use crate::progress::Progress;

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

/// Runs `gdscope sweep-lr`.
pub fn run(args: Args) -> Result<()> {
    let resolved = args.objective.resolve()?;
    let x0 = start_point(args.start.x0.as_deref(), &resolved)?;
    let tol = Tolerances::default();
    let obj = &resolved.objective;
    let min = match (&args.start.minimum, &resolved.known_minimum) {
        (Some(x), _) => examine_point(obj, x, &tol)?,
        (None, Some(x)) => find_minimum(obj, x, &tol)?,
        (None, None) => find_minimum(obj, &x0, &tol)?,
    };
    let thresholds = predict(&min, 1.0, &tol).thresholds;
    let (lo, hi) = match args.lr_range.as_deref() {
        Some([lo, hi]) => (*lo, *hi),
        Some(v) => bail!(
            "--lr-range takes two numbers lo,hi (got {} values)",
            v.len()
        ),
        None if thresholds.stable_below.is_finite() && thresholds.stable_below > 0.0 => (
            0.05 * thresholds.stable_below,
            1.2 * thresholds.stable_below,
        ),
        None => bail!(
            "x* is not a strict minimum ({}), so there is no default range: give --lr-range lo,hi",
            min.status.describe()
        ),
    };
    let lrs = lr_grid(lo, hi, args.count, args.log)?;
    let progress = Progress::new("sweep-lr", lrs.len() as u64, "learning rates");
    let rows = sweep(obj, &min, &x0, &lrs, args.steps, &tol, &|| {
        progress.advance(1)
    })?;
    progress.finish();
    if let Some(out) = &args.output.out {
        let run = run_dir(Some(out), "sweep-lr", args.output.overwrite)?;
        run.write_toml(
            "config.toml",
            &serde_json::json!({"command": "sweep-lr", "objective": &resolved, "lrs": &lrs, "x0": &x0,
                                 "steps": args.steps, "minimum": &min.x, "tolerances": &tol}),
        )?;
        run.write_metrics("sweep", &table(&rows)?, args.output.csv)?;
        run.write_json("summary.json", &serde_json::json!({"thresholds": thresholds, "minimum": &min.x, "eigenvalues": &min.eigenvalues, "rows": &rows}))?;
        gdscope_plot::save(
            &figure(&rows, &resolved.name, thresholds, args.log).into(),
            &run.file("sweep"),
            &[Format::Png, Format::Svg],
        )?;
        if !args.output.json {
            println!("run written to {}", run.path.display());
        }
    }
    if args.output.json {
        println!(
            "{}",
            serde_json::json!({"thresholds": thresholds, "minimum": &min.x, "eigenvalues": &min.eigenvalues, "rows": &rows})
        );
    } else {
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
        for r in &rows {
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
    Ok(())
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
fn figure(
    rows: &[SweepRow],
    name: &str,
    t: gdscope_direction::Thresholds,
    log: bool,
) -> CategoryStrips {
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

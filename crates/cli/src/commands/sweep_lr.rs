//! `gdscope sweep-lr`: predicted vs observed regime of GD over a range of learning rates,
//! thresholds marked (`docs/direction.md`).

use crate::analysis_args::{OutputArgs, StartArgs};

use anyhow::{bail, Result};
use gdscope_direction::sweep::{lr_grid, sweep, ObservedRegime, SweepRow};
use gdscope_direction::{examine_point, find_minimum, predict, Regime, Tolerances};
use gdscope_io::Table;
use gdscope_plot::{Format, LinePlot, RefLine, Series, SeriesKind};

use super::direction::{run_dir, start_point};
use crate::objective_args::ObjectiveArgs;

/// Arguments of `gdscope sweep-lr`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope sweep-lr --objective paper-fig2 --x0 0.2,0.2 --lr-range 0.05,1.2 --count 50 --out runs/sweep\n  gdscope sweep-lr --objective quadratic --spectrum 1,3,10 --x0 0.3,-0.2,0.1 --log --json"
)]
pub struct Args {
    #[command(flatten)]
    objective: ObjectiveArgs,
    /// Learning-rate range `lo,hi` (default: 0.05·2/λn to 1.2·2/λn).
    #[arg(
        long,
        value_name = "lo,hi",
        value_delimiter = ',',
        allow_hyphen_values = true
    )]
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

fn regime_code(r: Regime) -> f64 {
    match r {
        Regime::Fixed => 0.0,
        Regime::Alternating => 1.0,
        Regime::Unstable => 2.0,
        Regime::Boundary | Regime::NotCovered => 3.0,
    }
}

fn observed_code(o: ObservedRegime) -> f64 {
    match o {
        ObservedRegime::Fixed => 0.0,
        ObservedRegime::Alternating => 1.0,
        ObservedRegime::Diverged => 2.0,
        ObservedRegime::NotConverged => 3.0,
    }
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
    let rows = sweep(obj, &min, &x0, &lrs, args.steps, &tol)?;
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
            &figure(&rows, &resolved.name, thresholds).into(),
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
        for r in &rows {
            let angle = r
                .angle_deg
                .map_or_else(|| "-".to_string(), |a| format!("{a:.2e}"));
            println!(
                "{:>12.6}  {:>12}  {:>14}  {:>11}  {}",
                r.lr,
                r.predicted.as_str(),
                format!("{:?}", r.observed).to_lowercase(),
                angle,
                r.verdict.as_str()
            );
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
            .map(|r| format!("{:?}", r.observed).to_lowercase())
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
    Ok(t)
}

fn figure(rows: &[SweepRow], name: &str, t: gdscope_direction::Thresholds) -> LinePlot {
    let lr: Vec<f64> = rows.iter().map(|r| r.lr).collect();
    let series = |label: &str, y: Vec<f64>, kind, color| Series {
        label: label.into(),
        x: lr.clone(),
        y,
        kind,
        color: Some(color),
    };
    LinePlot {
        title: format!(
            "{name}: regime vs η (0 fixed, 1 alternating, 2 unstable/diverged, 3 other)"
        ),
        x_label: "learning rate η".into(),
        y_label: "regime".into(),
        series: vec![
            series(
                "predicted",
                rows.iter().map(|r| regime_code(r.predicted)).collect(),
                SeriesKind::Line,
                0,
            ),
            series(
                "observed",
                rows.iter().map(|r| observed_code(r.observed)).collect(),
                SeriesKind::Points,
                3,
            ),
        ],
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
        ..LinePlot::default()
    }
}

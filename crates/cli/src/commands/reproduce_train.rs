//! The training targets of `gdscope reproduce`: `eos` (the synthetic edge-of-stability demo),
//! `paper-fig3` (GD, SGD with momentum and Adam on a small CNN; docs/training.md) and
//! `central-flow` (docs/central-flows.md "The demo") and `sharpness-gap` (SGD over a
//! batch-size ladder; docs/curvature.md).

use std::path::{Path, PathBuf};

use gdscope_io::RunDir;
use gdscope_plot::Format;
use gdscope_train::central_contour::flows_on_contour;
use gdscope_train::reproduce::{reproduce_central_flow, reproduce_eos, reproduce_fig3};
use gdscope_train::sharpness_gap::reproduce_sharpness_gap;

/// `gdscope reproduce eos [--quick] --out DIR`.
pub fn eos(out: Option<&Path>, quick: bool, overwrite: bool) -> anyhow::Result<()> {
    let out = out.map_or_else(|| RunDir::default_path("reproduce-eos"), Path::to_path_buf);
    let (report, verdict) = reproduce_eos(&out, quick, overwrite, true)?;
    super::train::print_report(&report, false)?;
    println!(
        "edge of stability: {} ({}) — {}; criterion: {}",
        if verdict.reproduced {
            "reproduced"
        } else {
            "NOT reproduced"
        },
        serde_json::to_value(verdict.verdict)?
            .as_str()
            .unwrap_or_default(),
        verdict.reason,
        verdict.criterion
    );
    Ok(())
}

/// `gdscope reproduce paper-fig3 [--cifar10 PATH] [--quick] --out DIR`.
pub fn paper_fig3(
    out: Option<&Path>,
    cifar10: Option<&PathBuf>,
    quick: bool,
    overwrite: bool,
) -> anyhow::Result<()> {
    let out = out.map_or_else(
        || RunDir::default_path("reproduce-paper-fig3"),
        Path::to_path_buf,
    );
    let outcome = reproduce_fig3(&out, cifar10.map(PathBuf::as_path), quick, overwrite, true)?;
    for (name, r) in &outcome.runs {
        let last_cos = r
            .metrics
            .f64_column("update_cosine")
            .and_then(|c| c.iter().rev().copied().find(|c| c.is_finite()));
        println!(
            "{name:>13}: {} steps, final loss {:.4e}, last cosine of consecutive updates {}",
            r.summary.steps_run,
            r.summary.final_loss.unwrap_or(f64::NAN),
            last_cos.map_or("—".into(), |c| format!("{c:.4}"))
        );
    }
    println!("runs and figures in {}:", out.display());
    for f in outcome.figures {
        println!("  {}", f.display());
    }
    Ok(())
}

/// Berthier's minimal example (docs/central-flows.md): `f = ½(y + x)x² − ε(x + y)`, ε = 0.01.
const BERTHIER_MINIMAL: &str = "0.5*(y + x)*x^2 - 0.01*(x + y)";

/// `gdscope reproduce central-flow [--quick] --out DIR`: the network demo (run directory,
/// figures, `summary.json` with the `central_flow` verdicts) and `contour.{png,svg}`, GD, its
/// gradient flow and its central flow on Berthier's minimal example at η = 0.3.
pub fn central_flow(out: Option<&Path>, quick: bool, overwrite: bool) -> anyhow::Result<()> {
    let out = out.map_or_else(
        || RunDir::default_path("reproduce-central-flow"),
        Path::to_path_buf,
    );
    let (report, summary) = reproduce_central_flow(&out, quick, overwrite, true)?;
    super::train::print_report(&report, false)?;
    let vars = ["x".to_string(), "y".to_string()];
    let obj = gdscope_expr::ExprObjective::new(BERTHIER_MINIMAL, Some(&vars))?;
    let lr = 0.3;
    let paths = flows_on_contour(
        &obj,
        lr,
        [0.05, 1.99 / lr],
        200,
        (-0.4, 0.4),
        (6.5, 7.3),
        "½(y + x)x² − 0.01(x + y), η = 0.3: GD, gradient flow, central flow",
    )?;
    let contour = gdscope_plot::save(
        &paths.figure.into(),
        &out.join("contour"),
        &[Format::Png, Format::Svg],
    )?;
    for f in &contour {
        println!("  {}", f.display());
    }
    for c in &summary.claims {
        let mark = match c.holds {
            Some(true) => "holds",
            Some(false) => "DOES NOT HOLD",
            None => "not measured",
        };
        println!("{}: {mark} — {}", c.claim, c.detail);
    }
    println!(
        "central flow: {} (summary.json, object central_flow)",
        if summary.all_claims_hold {
            "every claim holds"
        } else {
            "NOT every claim holds"
        }
    );
    Ok(())
}

/// `gdscope reproduce sharpness-gap [--quick] --out DIR`.
pub fn sharpness_gap(out: Option<&Path>, quick: bool, overwrite: bool) -> anyhow::Result<()> {
    let out = out.map_or_else(
        || RunDir::default_path("reproduce-sharpness-gap"),
        Path::to_path_buf,
    );
    let outcome = reproduce_sharpness_gap(&out, quick, overwrite, true)?;
    let s = &outcome.summary;
    println!(
        "SGD η = {} (2/η = {:.4}), {} examples, {} steps; window steps [{}, {})",
        s.lr, s.threshold, s.examples, s.steps, s.window_start, s.steps
    );
    println!(
        "{:>6} {:>22} {:>22} {:>22} {:>8}",
        "batch", "λmax (95% CI)", "batch sharpness", "gap 2/η − λmax", "time s"
    );
    let fmt = |w: Option<gdscope_train::sharpness_gap::WindowMean>| {
        w.map_or("—".to_string(), |w| {
            format!("{:.3} [{:.3}, {:.3}]", w.mean, w.lo, w.hi)
        })
    };
    for r in &s.rows {
        let name = if r.full_batch {
            "full".to_string()
        } else {
            r.batch_size.to_string()
        };
        println!(
            "{name:>6} {:>22} {:>22} {:>22} {:>8.1}",
            fmt(r.lambda_max),
            fmt(r.batch_sharpness),
            fmt(r.gap),
            r.wall_s
        );
    }
    match s.fit {
        Some(f) => println!(
            "log-log fit of the gap against the batch size: slope {:.3}, R² {:.3} ({} points)",
            f.slope, f.r2, f.points
        ),
        None => println!("log-log fit: fewer than two batch sizes with a positive gap"),
    }
    println!(
        "runs, summary.json and figures in {} ({:.0} s)",
        out.display(),
        s.wall_s
    );
    for f in outcome.figures {
        println!("  {}", f.display());
    }
    Ok(())
}

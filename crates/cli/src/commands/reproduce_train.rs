//! The training targets of `gdscope reproduce`: `eos` (the synthetic edge-of-stability demo)
//! and `paper-fig3` (GD, SGD with momentum and Adam on a small CNN). See docs/training.md.

use std::path::{Path, PathBuf};

use gdscope_io::RunDir;
use gdscope_train::reproduce::{reproduce_eos, reproduce_fig3};

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

//! End-to-end runs on small networks: the EoS smoke run, the run directory, and the example
//! configs.

use gdscope_train::config::{DtypeName, TrainConfig};
use gdscope_train::reproduce::{eos_config, fig3_configs, reproduce_eos};
use gdscope_train::summary::EdgeVerdict;

/// The quick EoS demo sharpens progressively from below 0.95·2/η, crosses, and hovers:
/// the median sharpness/(2/η) after the crossing lies in [0.95, 1.10], every measurement
/// after it stays in the band and the loss decreases (the verdict is "edge of stability").
#[test]
fn quick_eos_crosses_and_hovers() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eos");
    let (report, verdict) = reproduce_eos(&out, true, false, false).unwrap();
    let s = &report.summary;
    assert!(
        s.sharpness_initial.unwrap() < 0.9 * s.threshold_final.unwrap(),
        "{s:?}"
    );
    let cross = s
        .edge
        .first_crossing_step
        .expect("sharpness must reach 0.95·2/η");
    assert!(cross > 0 && s.edge.measurements_after >= 5, "{s:?}");
    assert!(verdict.reproduced, "{:?}", s.edge);
    assert_eq!(s.edge.verdict, EdgeVerdict::EdgeOfStability);
    assert!(s.edge.measurements_after >= 50, "{:?}", s.edge);

    let table = gdscope_io::read_parquet(&out.join("metrics.parquet")).unwrap();
    for col in [
        "step",
        "loss",
        "sharpness",
        "threshold",
        "update_cosine",
        "projection",
        "eig_residual",
    ] {
        assert!(table.column(col).is_some(), "metrics.parquet lacks {col}");
    }
    let sharp = table.f64_column("sharpness").unwrap();
    assert_eq!(sharp.len(), 1000);
    assert!(sharp[0].is_finite() && sharp[1].is_nan() && sharp[10].is_finite());
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["eos"]["reproduced"], true);
    assert_eq!(summary["edge"]["first_crossing_step"], cross);
    for f in [
        "config.toml",
        "checkpoint.bin",
        "weights.npy",
        "loss.png",
        "sharpness.svg",
        "update_cosine.png",
        "projection.png",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
}

/// `examples/eos.toml` is exactly the default config (the documented EoS demo), and every
/// example config parses.
#[test]
fn example_configs_parse() {
    let mut eos = eos_config(false).unwrap();
    assert_eq!(
        eos.checkpoint.every,
        TrainConfig::default().checkpoint.every
    );
    eos.checkpoint = TrainConfig::default().checkpoint;
    assert_eq!(eos, TrainConfig::default());
    for name in [
        "eos-small-lr",
        "momentum",
        "adam",
        "sharpness-gap",
        "step-curvature",
    ] {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("../../examples/{name}.toml"));
        TrainConfig::load(&path, &[]).unwrap_or_else(|e| panic!("{name}: {e:#}"));
    }
    let fig3 = fig3_configs(None, false).unwrap();
    assert_eq!(
        fig3.iter()
            .map(|c| c.1.optimizer.name())
            .collect::<Vec<_>>(),
        ["gd", "polyak", "adam"]
    );
    assert!(fig3[1].1.batch_size > 0 && fig3[0].1.batch_size == 0);
}

/// The same demo in f64 is the catapult of the float64 pitfall (nothing re-seeds the
/// oscillation GD damped while ηλ₁ passed 1): the sharpness overshoots past 1.2·2/η and the
/// verdict says so instead of "reproduced".
#[test]
fn f64_quick_demo_is_a_catapult_and_the_verdict_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = eos_config(true).unwrap();
    config.dtype = DtypeName::F64;
    let report = gdscope_train::run::start(config, &dir.path().join("f64"), false, false).unwrap();
    let e = &report.summary.edge;
    assert_eq!(e.verdict, EdgeVerdict::Catapult, "{e:?}");
    assert!(e.max_ratio.unwrap() > 1.2, "{e:?}");
}

/// The quick sharpness-gap ladder (batch 8, 32, full): full-batch GD sits at the edge,
/// SGD's λmax settles below 2/η, further for the smaller batch; the table, the fit and the
/// figures are written; every member is a resumable run directory.
#[test]
fn quick_sharpness_gap_shows_the_gap() {
    use gdscope_train::sharpness_gap::reproduce_sharpness_gap;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("gap");
    let outcome = reproduce_sharpness_gap(&out, true, false, false).unwrap();
    let s = &outcome.summary;
    assert_eq!(s.rows.len(), 3);
    let gap = |i: usize| s.rows[i].gap.expect("measured").mean;
    let full = s.rows[2].lambda_max.unwrap();
    assert!(
        s.rows[2].full_batch && (full.mean / s.threshold - 1.0).abs() < 0.05,
        "{s:?}"
    );
    assert!(gap(0) > gap(1) + 0.5 && gap(1) > gap(2) + 0.2, "{s:?}");
    let fit = s.fit.expect("two positive gaps");
    assert!(fit.slope < 0.0 && fit.points == 2, "{fit:?}");
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(json["rows"][0]["batch_size"], 8);
    assert!(json.get("prediction").is_none(), "{json}");
    for f in [
        "sharpness.png",
        "gap.svg",
        "b8/metrics.parquet",
        "full/checkpoint.bin",
    ] {
        assert!(out.join(f).exists(), "{f}");
    }
    let b8 = gdscope_io::read_parquet(&out.join("b8/metrics.parquet")).unwrap();
    for c in [
        "batch_sharpness",
        "batch_sharpness_lo",
        "batch_sharpness_hi",
        "batch_sharpness_n",
    ] {
        assert!(
            b8.f64_column(c).unwrap().iter().any(|v| v.is_finite()),
            "{c}"
        );
    }
}

/// `examples/step-curvature.toml`: every step-curvature column is written (estimates with
/// their intervals around them), GD's generalized batch sharpness is η times the ratio-of-means
/// batch sharpness on the same batches, and the figure is drawn.
#[test]
fn step_curvature_example_writes_every_column_and_the_figure() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/step-curvature.toml");
    let mut config = TrainConfig::load(&path, &[]).unwrap();
    config.steps = 60;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sc");
    let report = gdscope_train::run::start(config, &out, false, false).unwrap();
    let m = &report.metrics;
    let col = |c: &str| {
        m.f64_column(c)
            .unwrap_or_else(|| panic!("no column {c}"))
            .to_vec()
    };
    for c in [
        "batch_sharpness",
        "batch_sharpness_rom",
        "gni",
        "generalized_sharpness",
        "directional_sharpness",
        "directional_rayleigh",
        "realized_edge",
        "critical_sharpness",
        "critical_passes",
        "mean_square",
        "mean_square_pilot",
    ] {
        assert!(col(c).iter().any(|v| v.is_finite()), "{c}");
    }
    let (bs, lo, hi) = (
        col("batch_sharpness"),
        col("batch_sharpness_lo"),
        col("batch_sharpness_hi"),
    );
    for t in (0..60).step_by(10) {
        assert!(lo[t] <= bs[t] && bs[t] <= hi[t], "step {t}");
    }
    let (gbs, rom) = (col("generalized_sharpness"), col("batch_sharpness_rom"));
    for t in (10..60).step_by(10) {
        assert!(
            (gbs[t] / (0.35 * rom[t]) - 1.0).abs() < 0.1,
            "step {t}: {} vs {}",
            gbs[t],
            rom[t]
        );
    }
    assert!(out.join("step_curvature.png").exists());
}

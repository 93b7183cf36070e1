//! The central flow in training runs: the quick demo of `gdscope reproduce central-flow`, and
//! the example configs for GD, scalar RMSProp, RMSProp and the JAX package's MLP example.

use std::path::Path;

use gdscope_train::config::TrainConfig;
use gdscope_train::reproduce::reproduce_central_flow;
use gdscope_train::run;

/// The quick demo: several eigenvalues critical at once (the multi-eigenvalue SDCP), the loss
/// falls monotonically along the central flow, its sharpness never passes 2/η, every SDCP
/// solve converges, every claim of the `central_flow` summary holds, and the figures and
/// columns of docs/central-flows.md are written.
#[test]
fn quick_demo_shows_a_multi_eigenvalue_central_flow_with_a_falling_loss() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("central");
    let (report, s) = reproduce_central_flow(&out, true, false, false).unwrap();
    assert!(s.max_critical_k >= 2, "{s:#?}");
    assert!(s.steps_with_two_or_more_critical >= 100, "{s:#?}");
    assert!(s.onset_step.unwrap() < 50, "{s:#?}");
    assert_eq!(s.central_loss_increases, 0, "{s:#?}");
    assert_eq!(s.sdcp_not_converged, 0, "{s:#?}");
    assert!(s.sdcp_max_residual.unwrap() < 1e-10, "{s:#?}");
    let (lo, hi) = s.central_sharpness_ratio_range.unwrap();
    // Forward Euler lets a critical eigenvalue pass 2/η by O(dt²) within a step (3e-5 here).
    assert!(
        hi <= gdscope_train::central::SHARPNESS_LIMIT && lo > 0.9,
        "{lo} {hi}"
    );
    assert!(
        report.summary.halted.is_empty(),
        "{:?}",
        report.summary.halted
    );
    // Every claim holds (measured at the quick setting: predicted loss within 2.6 % of the
    // smoothed GD loss, distance ratio 0.26, correlation 0.86), each one checked by name so a
    // failure says which.
    for c in &s.claims {
        assert_eq!(c.holds, Some(true), "{}: {}", c.claim, c.detail);
    }
    assert!(s.all_claims_hold);
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    assert!(json["central_flow"]["claims"].as_array().unwrap().len() >= 6);
    assert_eq!(json["central_flow"]["all_claims_hold"], true);
    let table = &report.metrics;
    for col in [
        "central.loss",
        "central.predicted_loss",
        "central.predicted_grad_norm_sq",
        "central.critical_k",
        "central.sigma_1",
        "central.sigma_2",
        "central.sigma_trace",
        "central.sdcp_residual",
        "central.sharpness",
        "central.eig_1",
        "central.eig_2",
        "delta_sq_1",
        "delta_sq_2",
        "distance.central-discrete",
        "distance.discrete-stable",
        "midpoint.loss",
        "output_1",
        "central.output_1",
    ] {
        assert!(table.column(col).is_some(), "metrics lack {col}");
    }
    for stem in [
        "central_loss",
        "central_eigenvalues",
        "central_distance",
        "central_sigma",
        "central_outputs",
    ] {
        assert!(out.join(format!("{stem}.png")).exists(), "{stem}.png");
    }
}

fn example(name: &str, overrides: &[&str]) -> TrainConfig {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../examples/{name}.toml"));
    let overrides: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
    TrainConfig::load(&path, &overrides).unwrap_or_else(|e| panic!("{name}: {e:#}"))
}

/// The scalar RMSProp and RMSProp examples run (shortened) with their comparison columns and
/// figures: effective step sizes against 2/S, ν of the optimizer and of the flows (at the
/// default coordinates `(2j + 1)·n/8` of the `n = 450` parameters: 56, 168, 281, 393).
#[test]
fn adaptive_examples_record_their_predictions() {
    let dir = tempfile::tempdir().unwrap();
    for (name, columns, figure) in [
        (
            "central-flow-scalar-rmsprop",
            &["effective_lr", "central.effective_lr", "central.edge_lr"][..],
            "central_step_size",
        ),
        (
            "central-flow-rmsprop",
            &["nu[56]", "central.nu[56]", "stable.nu[393]"][..],
            "central_nu",
        ),
    ] {
        let config = example(name, &["steps=12", "checkpoint.every=0"]);
        let out = dir.path().join(name);
        let report = run::start(config, &out, false, false).unwrap();
        assert!(
            report.summary.halted.is_empty(),
            "{name}: {:?}",
            report.summary.halted
        );
        for col in columns {
            let v = report
                .metrics
                .f64_column(col)
                .unwrap_or_else(|| panic!("{name}: {col}"));
            // From step 1 on: at step 0 GD's ν is still 0 (η/√ν undefined).
            assert!(
                v[1..].iter().all(|x| x.is_finite() && *x > 0.0),
                "{name}: {col} {v:?}"
            );
        }
        assert!(
            out.join(format!("{figure}.png")).exists(),
            "{name}: {figure}"
        );
        assert!(report.summary.central_flow.is_some());
    }
}

/// `examples/central-flows-jax-mlp.toml` is the JAX package's setting on its own start:
/// 8→16→16→1 swish MLP, the package's 128 points and initial weights
/// (`examples/central-flows-jax-mlp/{data.npz,w0.npy}`, exported by its `jax_start.py`), GD at
/// η = 0.2 on ½-MSE (its η = 0.1 on mean (f − y)²), discrete + stable + central, 1000 steps.
#[test]
fn jax_mlp_example_is_the_packages_setting() {
    let c = example("central-flows-jax-mlp", &[]);
    assert_eq!(c.model.spec, "mlp:8-16-16-1:swish");
    assert_eq!(c.steps, 1000);
    assert_eq!(c.optimizer.name(), "gd");
    assert_eq!(c.optimizer.lr(), 0.2);
    assert_eq!(
        c.processes.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        ["discrete", "stable", "central"]
    );
    let data = c.data.to_string();
    assert!(
        data.starts_with("npz:examples/central-flows-jax-mlp/data.npz"),
        "{data}"
    );
    // The paths are relative to the repository root; the test runs in the crate's folder.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let files = root.join("examples/central-flows-jax-mlp");
    let init = format!("model.init=\"npy:{}\"", files.join("w0.npy").display());
    let path = format!("data.path=\"{}\"", files.join("data.npz").display());
    let dir = tempfile::tempdir().unwrap();
    let short = example(
        "central-flows-jax-mlp",
        &[
            "steps=3",
            "checkpoint.every=0",
            "tracking.every=0",
            &init,
            &path,
        ],
    );
    let report = run::start(short, &dir.path().join("jax"), false, false).unwrap();
    assert_eq!(report.summary.steps_run, 3);
    assert!(report.summary.halted.is_empty());
    // The starting loss is the package's: ½ · mean (f − y)² of its network on its data, the
    // float32 draws held exactly in float64 (0.52991022440549… by NumPy in float64 from the
    // same files; the package's own float32 value is 1.0598205 / 2).
    let loss0 = report.metrics.f64_column("loss").unwrap()[0];
    assert!((loss0 - 0.529_910_224_405_482_5).abs() < 1e-12, "{loss0}");
}

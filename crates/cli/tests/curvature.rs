//! `gdscope curvature` end to end on a tiny network, checked against the dense Hessian.

use std::path::Path;

use assert_cmd::Command;
use gdscope_core::linalg::sym_eigen;
use gdscope_core::Objective;
use gdscope_io::npy::{write_npy, write_npz, NdArray};
use gdscope_nn::{Dtype, Loss, NetworkObjective};
use serde_json::Value;

const SPEC: &str = "mlp:3-5-2:tanh";
const N: usize = 12;
const P: usize = 3 * 5 + 5 + 5 * 2 + 2;

fn inputs() -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = (0..N * 3)
        .map(|i| ((i * 7 % 11) as f64 / 5.0 - 1.0) * 1.3)
        .collect();
    let labels: Vec<f64> = (0..N).map(|i| (i % 2) as f64).collect();
    let w: Vec<f64> = (0..P)
        .map(|i| ((i * 13 % 17) as f64 / 8.0 - 1.0) * 0.9)
        .collect();
    (x, labels, w)
}

fn write_inputs(dir: &Path) {
    let (x, labels, w) = inputs();
    let xa = NdArray::from_f64(vec![N, 3], x).unwrap();
    let ya = NdArray::from_f64(vec![N], labels).unwrap();
    write_npz(&dir.join("data.npz"), &[("x", &xa), ("y", &ya)]).unwrap();
    write_npy(&dir.join("w.npy"), &[P], &w).unwrap();
}

/// Dense Hessian eigenvalues (ascending) of the same objective.
fn dense_eigenvalues(subset: Option<std::ops::Range<usize>>) -> Vec<f64> {
    let (x, labels, w) = inputs();
    let mut y = vec![0.0; N * 2];
    for (i, l) in labels.iter().enumerate() {
        y[i * 2 + *l as usize] = 1.0;
    }
    let obj = NetworkObjective::new(SPEC, &x, &y, N, Loss::Mse, Dtype::F64).unwrap();
    let h = obj.hessian(&w);
    let h = match subset {
        Some(r) => h.view((r.start, r.start), (r.len(), r.len())).clone_owned(),
        None => h,
    };
    sym_eigen(&h).values
}

fn curvature(dir: &Path, extra: &[&str]) -> Value {
    let out = Command::cargo_bin("gdscope")
        .unwrap()
        .current_dir(dir)
        .args([
            "curvature",
            "--model",
            SPEC,
            "--data",
            "data.npz",
            "--params",
            "w.npy",
            "--json",
        ])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn top_smallest_trace_and_density_match_the_dense_hessian() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let r = curvature(
        dir.path(),
        &[
            "--top-k",
            "3",
            "--smallest",
            "2",
            "--trace",
            "--trace-hvps",
            "300",
            "--density",
        ],
    );
    let dense = dense_eigenvalues(None);
    let top = floats(&r["top"]);
    for (i, t) in top.iter().enumerate() {
        let want = dense[P - 1 - i];
        assert!(
            (t - want).abs() < 1e-7 * want.abs().max(1.0),
            "top {i}: {t} vs {want}"
        );
    }
    assert!(floats(&r["residuals"]).iter().all(|&x| x < 1e-8));
    let smallest = floats(&r["smallest"]);
    assert!(
        (smallest[0] - dense[0]).abs() < 1e-7 && (smallest[1] - dense[1]).abs() < 1e-7,
        "{smallest:?} vs {dense:?}"
    );
    // Hutch++ with budget ≥ 3P is exact.
    let trace: f64 = dense.iter().sum();
    assert!(
        (r["trace"]["value"].as_f64().unwrap() - trace).abs() < 1e-8,
        "{}",
        r["trace"]
    );
    // Each SLQ run's mean is a Rayleigh quotient, so it lies within the spectrum; the smoothed
    // density integrates to 1 over its grid.
    let mean = r["density"]["moment1"].as_f64().unwrap();
    assert!(mean > dense[0] && mean < dense[P - 1]);
    let (grid, phi) = (
        floats(&r["density"]["grid"]),
        floats(&r["density"]["values"]),
    );
    let integral: f64 = phi
        .windows(2)
        .zip(grid.windows(2))
        .map(|(f, g)| 0.5 * (f[0] + f[1]) * (g[1] - g[0]))
        .sum();
    assert!((integral - 1.0).abs() < 1e-3, "{integral}");
    assert!(r["hvps"].as_u64().unwrap() > 0);
}

#[test]
fn layer_subset_is_the_principal_submatrix() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    // layer2 is the second Linear (index 2 after the activation): weights 5×2 and bias 2.
    let r = curvature(
        dir.path(),
        &["--top-k", "2", "--layer", "layer2", "--out", "out"],
    );
    let dense = dense_eigenvalues(Some(20..P));
    let top = floats(&r["top"]);
    assert_eq!(r["dim"].as_u64().unwrap(), 12);
    assert!(
        (top[0] - dense[11]).abs() < 1e-8 && (top[1] - dense[10]).abs() < 1e-8,
        "{top:?} vs {dense:?}"
    );
    assert!(dir.path().join("out/curvature.json").exists());
}

#[test]
fn bad_inputs_fail_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let run = |extra: &[&str]| {
        Command::cargo_bin("gdscope")
            .unwrap()
            .current_dir(dir.path())
            .args([
                "curvature",
                "--model",
                SPEC,
                "--data",
                "data.npz",
                "--params",
                "w.npy",
            ])
            .args(extra)
            .assert()
            .code(2)
    };
    run(&["--top-k", "0"]).stderr(predicates::str::contains("--top-k"));
    run(&["--layer", "nope"]).stderr(predicates::str::contains("available"));
    run(&["--trace", "--trace-hvps", "2"]).stderr(predicates::str::contains("budget"));
}

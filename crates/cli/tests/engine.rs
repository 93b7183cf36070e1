//! CLI tests of the network engine commands: `gdscope probe` and `gdscope bench`.

use std::path::Path;

use assert_cmd::Command;
use gdscope_io::npy::{read_npz, write_npy, write_npz, NdArray};
use predicates::prelude::*;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

/// The JAX reference fixture of crate gdscope-nn: case 0 is `mlp:5-7-6-3:gelu-tanh` with MSE,
/// case 1 `mlp:5-7-3:tanh` with CE and integer labels.
fn fixture() -> std::collections::BTreeMap<String, NdArray> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nn/tests/fixtures/jax_reference.npz");
    read_npz(&path).unwrap()
}

fn write_case(dir: &Path, f: &std::collections::BTreeMap<String, NdArray>, c: usize, labels: bool) {
    let x = &f[&format!("c{c}_x")];
    let y = if labels {
        f[&format!("c{c}_labels")].clone()
    } else {
        f[&format!("c{c}_y")].clone()
    };
    write_npz(&dir.join("data.npz"), &[("x", x), ("y", &y)]).unwrap();
    for name in ["w", "u", "v"] {
        let a = &f[&format!("c{c}_{name}")];
        write_npy(&dir.join(format!("{name}.npy")), &a.shape, &a.data).unwrap();
    }
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let num: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y).powi(2))
        .sum::<f64>()
        .sqrt();
    num / b.iter().map(|y| y * y).sum::<f64>().sqrt()
}

#[test]
fn probe_matches_jax_reference_in_f64() {
    let f = fixture();
    for (c, spec, loss, labels) in [
        (0, "mlp:5-7-6-3:gelu-tanh", "mse", false),
        (1, "mlp:5-7-3:tanh", "ce", true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write_case(dir.path(), &f, c, labels);
        let out = dir.path().join("out.npz");
        gdscope()
            .current_dir(dir.path())
            .args([
                "probe", "--model", spec, "--data", "data.npz", "--params", "w.npy", "--u", "u.npy",
            ])
            .args(["--v", "v.npy", "--loss", loss, "--out", "out.npz"])
            .assert()
            .success()
            .stdout(predicate::str::contains("|d3_uv|"));
        let got = read_npz(&out).unwrap();
        assert_eq!(got["loss"].shape, Vec::<usize>::new());
        let want_loss = f[&format!("c{c}_loss")].data[0];
        assert!((got["loss"].data[0] - want_loss).abs() < 1e-12 * want_loss.abs());
        for key in ["grad", "hvp_u", "hvp_v", "d3_uv"] {
            assert_eq!(got[key].dtype, "float64");
            let r = rel(&got[key].data, &f[&format!("c{c}_{key}")].data);
            assert!(r < 1e-10, "case {c} {key}: relative error {r:e}");
        }
    }
}

#[test]
fn probe_f32_is_close_and_omits_unrequested_outputs() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    write_case(dir.path(), &f, 0, false);
    gdscope()
        .current_dir(dir.path())
        .args([
            "probe",
            "--model",
            "mlp:5-7-6-3:gelu-tanh",
            "--data",
            "data.npz",
            "--params",
            "w.npy",
        ])
        .args(["--u", "u.npy", "--dtype", "f32", "--out", "o.npz"])
        .assert()
        .success();
    let got = read_npz(&dir.path().join("o.npz")).unwrap();
    assert!(got.contains_key("hvp_u") && !got.contains_key("hvp_v") && !got.contains_key("d3_uv"));
    assert!(rel(&got["hvp_u"].data, &f["c0_hvp_u"].data) < 1e-5);
}

#[test]
fn probe_reports_shape_mismatches_clearly() {
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    write_case(dir.path(), &f, 0, false);
    let run = |model: &str, extra: &[&str]| {
        gdscope()
            .current_dir(dir.path())
            .args([
                "probe", "--model", model, "--data", "data.npz", "--params", "w.npy", "--out",
                "o.npz",
            ])
            .args(extra)
            .assert()
            .code(2)
    };
    run("mlp:4-7-6-3:gelu-tanh", &[]).stderr(predicate::str::contains("input width is 4"));
    run("mlp:5-7-6-2:gelu-tanh", &[])
        .stderr(predicate::str::contains("data.npz: `y`").and(predicate::str::contains("[8, 2]")));
    run("mlp:5-7-6-3:gelu-tanh", &["--u", "data.npz"]).stderr(predicate::str::contains("error:"));
    write_npy(&dir.path().join("short.npy"), &[3], &[1.0, 2.0, 3.0]).unwrap();
    run("mlp:5-7-6-3:gelu-tanh", &["--v", "short.npy"]).stderr(predicate::str::contains(
        "short.npy: expected a flat direction v",
    ));
    run("mlp:5-7-6-3:mish", &[]).stderr(predicate::str::contains("unknown activation `mish`"));
}

#[test]
fn bench_json_has_every_operation_and_dtype() {
    let out = gdscope()
        .args(["bench", "--json", "--n", "4", "--repeats", "1"])
        .assert()
        .success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let v: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    for op in ["loss_grad", "hvp", "hvp_block3", "third_order", "gd_step"] {
        for dt in ["f32", "f64"] {
            let key = format!("{dt}.{op}");
            for metric in ["seconds", "gflops", "floor_ratio"] {
                assert!(
                    v[metric][&key].as_f64().is_some_and(|t| t > 0.0),
                    "{metric} {key}: {text}"
                );
            }
        }
    }
    for dt in ["f32", "f64"] {
        assert!(
            v["gemm_floor_gflops"][dt].as_f64().is_some_and(|g| g > 0.0),
            "{text}"
        );
    }
    assert_eq!(v["workload"], "A");
    assert_eq!(v["gemm_floor_shape"], serde_json::json!([4, 3072, 256]));
    assert!(
        ["portable", "avx2", "avx512"].contains(&v["simd"].as_str().unwrap()),
        "{text}"
    );
    gdscope()
        .args(["bench", "--dtype", "f64", "--n", "2", "--repeats", "1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("GEMM floor (f64)"));
    gdscope()
        .args([
            "bench",
            "--workload",
            "eos",
            "--dtype",
            "f32",
            "--n",
            "3",
            "--repeats",
            "1",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains(
            "workload eos: mlp:20-256-256-4:gelu-tanh",
        ))
        .stdout(predicate::str::contains("on one 3x256x256 product"));
}

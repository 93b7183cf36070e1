//! CLI tests of the CNN and ViT model specs: `gdscope probe` on tiny `cnn:` and `vit:` models
//! returns the library's derivatives, and bad specs are clear errors.

use assert_cmd::Command;
use gdscope_core::Objective;
use gdscope_io::npy::{read_npz, write_npy, write_npz, NdArray};
use gdscope_nn::{Dtype, Init, Loss, Model, NetworkObjective};
use predicates::prelude::*;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

fn wave(len: usize, a: f64) -> Vec<f64> {
    (0..len).map(|i| ((i as f64 + 1.0) * a).sin()).collect()
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
    a.iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()))
        / scale
}

#[test]
fn probe_runs_cnn_and_vit_specs_and_matches_the_library() {
    for spec in [
        "cnn:2x8x8-3:tanh:width=2,pool=max",
        "vit:2x8x8-3:dim=8,depth=1,heads=2,dim_head=4,mlp=12",
    ] {
        let model = Model::<f64>::from_spec(spec).unwrap();
        let (n, d, k) = (4, model.in_width(), model.out_width());
        let x = wave(n * d, 0.37);
        let labels: Vec<f64> = (0..n).map(|i| (i % k) as f64).collect();
        let w: Vec<f64> = model
            .init(Init::He, 3)
            .iter()
            .zip(wave(model.num_params(), 0.11))
            .map(|(a, b)| a + 0.1 * b)
            .collect();
        let u = wave(w.len(), 0.53);
        let dir = tempfile::tempdir().unwrap();
        let xa = NdArray {
            shape: vec![n, d],
            data: x.clone(),
            dtype: "float64".into(),
        };
        // Integer class labels (float labels are refused as ambiguous).
        let ya = NdArray {
            shape: vec![n],
            data: labels,
            dtype: "int64".into(),
        };
        write_npz(&dir.path().join("data.npz"), &[("x", &xa), ("y", &ya)]).unwrap();
        write_npy(&dir.path().join("w.npy"), &[w.len()], &w).unwrap();
        write_npy(&dir.path().join("u.npy"), &[w.len()], &u).unwrap();
        gdscope()
            .current_dir(dir.path())
            .args([
                "probe", "--model", spec, "--data", "data.npz", "--params", "w.npy", "--u", "u.npy",
            ])
            .args(["--loss", "ce", "--out", "out.npz"])
            .assert()
            .success()
            .stdout(predicate::str::contains("|hvp_u|"));
        let got = read_npz(&dir.path().join("out.npz")).unwrap();
        let mut y = vec![0.0; n * k];
        for i in 0..n {
            y[i * k + i % k] = 1.0;
        }
        let obj = NetworkObjective::new(spec, &x, &y, n, Loss::CrossEntropy, Dtype::F64).unwrap();
        let mut g = vec![0.0; w.len()];
        obj.value_grad(&w, &mut g);
        let mut hu = vec![0.0; w.len()];
        obj.hvp(&w, &u, &mut hu);
        assert!(max_rel(&got["grad"].data, &g) < 1e-12, "{spec}: grad");
        assert!(max_rel(&got["hvp_u"].data, &hu) < 1e-12, "{spec}: hvp_u");
    }
}

#[test]
fn bad_cnn_and_vit_specs_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (spec, needle) in [
        ("vit:3x32x32-10:patch=5", "must divide"),
        ("cnn:3x32x32-10:relu:pool=min", "avg or max"),
        ("vit:3x32x32-10:layers=2", "unknown option `layers`"),
    ] {
        gdscope()
            .current_dir(dir.path())
            .args([
                "probe", "--model", spec, "--data", "data.npz", "--params", "w.npy", "--out",
                "o.npz",
            ])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(needle));
    }
}

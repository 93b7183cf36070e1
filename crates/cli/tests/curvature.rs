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
    let ya = NdArray::from_f64(vec![N], labels)
        .unwrap()
        .with_dtype("int64")
        .unwrap();
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
            "--out",
            "out",
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
    // The figure's log axis stops where the density is smoothing tails (a floor near 1e-6 of
    // the peak, not 1e-97), and marks the top eigenvalues.
    let svg = std::fs::read_to_string(dir.path().join("out/density.svg")).unwrap();
    let peak = phi.iter().copied().fold(0.0, f64::max);
    let ticks: Vec<f64> = svg_texts(&svg)
        .iter()
        .filter_map(|t| power_of_ten(t))
        .collect();
    assert!(ticks.len() >= 3, "{ticks:?}");
    let lowest = ticks.iter().copied().fold(f64::INFINITY, f64::min);
    assert!(
        lowest >= 1e-7 * peak,
        "ticks down to {lowest} for a peak of {peak}"
    );
    assert!(svg.contains("λ1 = ") && svg.contains("(LOBPCG)"));
}

/// The text of every `<text>` element of an SVG.
fn svg_texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            Some(body[..body.find("</text>")?].trim().to_string())
        })
        .collect()
}

/// A log-axis tick label `10⁻⁵` or `2×10⁻⁵` as a number.
fn power_of_ten(label: &str) -> Option<f64> {
    let (mantissa, power) = match label.split_once("×") {
        Some((m, p)) => (m.parse().ok()?, p),
        None => (1.0, label),
    };
    let exponent: String = power
        .strip_prefix("10")?
        .chars()
        .map(|c| match c {
            '⁻' => Some('-'),
            c => "⁰¹²³⁴⁵⁶⁷⁸⁹"
                .chars()
                .position(|d| d == c)
                .and_then(|d| char::from_digit(d as u32, 10)),
        })
        .collect::<Option<String>>()?;
    Some(mantissa * 10f64.powi(exponent.parse().ok()?))
}

#[test]
fn layer_subset_is_the_principal_submatrix() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    // layer1 is the second Linear (layers with parameters are numbered without gaps):
    // weights 5×2 and bias 2.
    let r = curvature(
        dir.path(),
        &["--top-k", "2", "--layer", "layer1", "--out", "out"],
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

fn gdscope_in(dir: &Path) -> Command {
    let mut c = Command::cargo_bin("gdscope").unwrap();
    c.current_dir(dir);
    c
}

/// `--run DIR` takes model, data, loss, dtype and weights from a training run, and gives
/// the same numbers as the pieces given by hand.
#[test]
fn curvature_of_a_training_run() {
    let dir = tempfile::tempdir().unwrap();
    gdscope_in(dir.path())
        .args([
            "train",
            "--out",
            "run",
            "--set",
            "steps=3",
            "--set",
            "model.spec=mlp:5-8-3:tanh",
            "--set",
            "data.n=40",
            "--set",
            "data.d=5",
            "--set",
            "data.k=3",
            "--set",
            "dtype=f64",
            "--set",
            "tracking.every=0",
            "--set",
            "checkpoint.every=0",
        ])
        .assert()
        .success();
    let json = |args: &[&str]| -> Value {
        let out = gdscope_in(dir.path())
            .args(["curvature", "--top-k", "2", "--json"])
            .args(args)
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        serde_json::from_slice(&out).unwrap()
    };
    let from_run = json(&["--run", "run"]);
    assert_eq!(from_run["model"], "mlp:5-8-3:tanh");
    gdscope_in(dir.path())
        .args([
            "data",
            "export",
            "synthetic-linear:n=40,d=5,k=3",
            "--out",
            "d.npz",
        ])
        .assert()
        .success();
    let by_hand = json(&[
        "--model",
        "mlp:5-8-3:tanh",
        "--data",
        "d.npz",
        "--params",
        "run/weights.npy",
    ]);
    assert_eq!(from_run["top"], by_hand["top"]);
    // The run's pieces cannot be mixed with hand-given ones.
    gdscope_in(dir.path())
        .args(["curvature", "--run", "run", "--model", "mlp:5-8-3:tanh"])
        .assert()
        .code(2);
    gdscope_in(dir.path())
        .args(["curvature", "--run", "."])
        .assert()
        .code(2)
        .stderr(contains_str("no config.toml"));
}

/// An f32 run gets the tolerance f32 arithmetic can reach (1e-6, as training tracks it),
/// not f64's 1e-8: the top eigenvalues converge without a warning.
#[test]
fn an_f32_run_gets_a_tolerance_f32_can_reach() {
    let dir = tempfile::tempdir().unwrap();
    gdscope_in(dir.path())
        .args([
            "train",
            "--out",
            "run",
            "--set",
            "steps=20",
            "--set",
            "model.spec=mlp:5-32-32-3:tanh",
            "--set",
            "data.n=64",
            "--set",
            "data.d=5",
            "--set",
            "data.k=3",
            "--set",
            "dtype=f32",
            "--set",
            "tracking.every=0",
            "--set",
            "checkpoint.every=0",
        ])
        .assert()
        .success();
    let out = gdscope_in(dir.path())
        .args(["curvature", "--run", "run", "--top-k", "3", "--json"])
        .assert()
        .success()
        .get_output()
        .clone();
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["tol"], 1e-6);
    assert_eq!(r["converged"], true, "{r}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("did not reach"), "{stderr}");
    // Given explicitly, --tol wins.
    let out = gdscope_in(dir.path())
        .args(["curvature", "--run", "run", "--tol", "1e-4", "--json"])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let r: Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(r["tol"], 1e-4);
}

fn contains_str(s: &str) -> predicates::str::ContainsPredicate {
    predicates::str::contains(s)
}

/// Images in the 4-D shape `data export` writes (n×C×H×W) feed a CNN directly; progress
/// lines appear on stderr (not a terminal here) once work outlasts GDSCOPE_PROGRESS_AFTER.
#[test]
fn image_data_and_progress_lines() {
    let dir = tempfile::tempdir().unwrap();
    gdscope_in(dir.path())
        .args([
            "data",
            "export",
            "synthetic-images:n=16,k=3,channels=2,size=8",
            "--out",
            "img.npz",
        ])
        .assert()
        .success();
    let spec = "cnn:2x8x8-3:tanh:width=2,pool=max";
    let model = gdscope_nn::Model::<f64>::from_spec(spec).unwrap();
    let p = model.num_params();
    let w: Vec<f64> = (0..p)
        .map(|i| ((i * 7 % 13) as f64 / 13.0 - 0.5) * 0.3)
        .collect();
    write_npy(&dir.path().join("w.npy"), &[p], &w).unwrap();
    let out = gdscope_in(dir.path())
        .env("GDSCOPE_PROGRESS_AFTER", "0")
        .args([
            "curvature",
            "--model",
            spec,
            "--data",
            "img.npz",
            "--params",
            "w.npy",
            "--trace",
            "--out",
            "curv",
        ])
        .assert()
        .success()
        .get_output()
        .clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("top 1 eigenvalues: done in"), "{stderr}");
    assert!(stderr.contains("trace: done in"), "{stderr}");
    for f in ["config.toml", "curvature.json"] {
        assert!(dir.path().join("curv").join(f).exists(), "{f}");
    }
    // The run directory is not replaced silently.
    gdscope_in(dir.path())
        .args([
            "curvature",
            "--model",
            spec,
            "--data",
            "img.npz",
            "--params",
            "w.npy",
            "--out",
            "curv",
        ])
        .assert()
        .code(2)
        .stderr(contains_str("--overwrite"));
}

/// Float class labels are refused with both fixes named, not read as regression.
#[test]
fn float_labels_are_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path());
    let (x, labels, _) = inputs();
    let xa = NdArray::from_f64(vec![N, 3], x).unwrap();
    let ya = NdArray::from_f64(vec![N], labels).unwrap();
    write_npz(&dir.path().join("float.npz"), &[("x", &xa), ("y", &ya)]).unwrap();
    gdscope_in(dir.path())
        .args([
            "curvature",
            "--model",
            SPEC,
            "--data",
            "float.npz",
            "--params",
            "w.npy",
        ])
        .assert()
        .code(2)
        .stderr(contains_str("astype(np.int64)"));
}

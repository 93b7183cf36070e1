//! `gdscope data describe|export` end to end, on small synthetic sets and on tiny CIFAR-10 /
//! MNIST files written here (nothing is downloaded).

use std::path::Path;

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

fn describe_json(spec: &str) -> Value {
    let out = gdscope()
        .args(["data", "describe", spec, "--json"])
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

#[test]
fn describe_synthetic_linear_text_and_json() {
    gdscope()
        .args(["data", "describe", "synthetic-linear:n=200,seed=3"])
        .assert()
        .success()
        .stdout(contains(
            "train: n=200 d=20 input shape [20] k=4 (classification)",
        ))
        .stdout(contains("class counts"))
        .stdout(contains("test:  none"));
    let v = describe_json("synthetic-linear:n=200,seed=3,test_n=50");
    assert_eq!(v["spec"]["kind"], "synthetic-linear");
    assert_eq!(v["spec"]["d"], 20);
    assert_eq!(
        v["spec_string"],
        "synthetic-linear:n=200,d=20,k=4,test_n=50,seed=3"
    );
    let counts: u64 = v["train"]["class_counts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(counts, 200);
    assert_eq!(v["test"]["n"], 50);
    assert!(v["train"]["x_std"].as_f64().unwrap() > 0.9);
}

#[test]
fn export_round_trips_through_npz() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("imgs.npz");
    let spec = "synthetic-images:n=12,k=3,channels=2,size=4,test_n=6,seed=1";
    gdscope()
        .args(["data", "export", spec, "--out"])
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("wrote"));
    let arrays = gdscope_io::npy::read_npz(&out).unwrap();
    let keys: Vec<&str> = arrays.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["labels", "labels_test", "x", "x_test", "y", "y_test"]
    );
    assert_eq!(arrays["x"].shape, vec![12, 2, 4, 4]);
    assert_eq!(arrays["y"].shape, vec![12, 3]);
    assert_eq!(arrays["labels"].dtype, "int64");
    let original = describe_json(spec);
    let back = describe_json(&format!("npz:{}", out.display()));
    for key in [
        "n",
        "d",
        "k",
        "input_shape",
        "class_counts",
        "x_mean",
        "x_std",
        "channels",
    ] {
        assert_eq!(original["train"][key], back["train"][key], "{key}");
        assert_eq!(original["test"][key], back["test"][key], "{key}");
    }
}

/// Two CIFAR-10 batch files with 3 records each plus a test batch.
fn write_cifar(dir: &Path) {
    let batch = |labels: &[u8], base: usize| -> Vec<u8> {
        let mut b = Vec::new();
        for (r, &l) in labels.iter().enumerate() {
            b.push(l);
            b.extend((0..3072).map(|j| ((base + r) * 31 + j * 7 + j / 1024 * 90) as u8));
        }
        b
    };
    std::fs::write(dir.join("data_batch_1.bin"), batch(&[1, 0, 7], 0)).unwrap();
    std::fs::write(dir.join("data_batch_2.bin"), batch(&[0, 1, 1], 3)).unwrap();
    std::fs::write(dir.join("test_batch.bin"), batch(&[0, 5, 1], 9)).unwrap();
}

#[test]
fn cifar10_subset_is_balanced_and_standardized() {
    let dir = tempfile::tempdir().unwrap();
    write_cifar(dir.path());
    let v = describe_json(&format!(
        "cifar10:{}:n=4,classes=2,test=true",
        dir.path().display()
    ));
    assert_eq!(v["train"]["class_counts"], serde_json::json!([2, 2]));
    assert_eq!(v["train"]["input_shape"], serde_json::json!([3, 32, 32]));
    assert_eq!(v["test"]["class_counts"], serde_json::json!([1, 1]));
    for c in 0..3 {
        let ch = &v["train"]["channels"];
        assert!(ch["mean"][c].as_f64().unwrap().abs() < 1e-12);
        assert!((ch["std"][c].as_f64().unwrap() - 1.0).abs() < 1e-12);
    }
    gdscope()
        .args(["data", "describe"])
        .arg(format!("cifar10:{}:n=6,classes=2", dir.path().display()))
        .assert()
        .code(2)
        .stderr(contains("missing file"))
        .stderr(contains("data_batch_3.bin"));
}

#[test]
fn mnist_idx_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| std::fs::write(dir.path().join(name), bytes).unwrap();
    let labels = [3u8, 0, 1, 0, 1];
    let mut images = vec![0, 0, 8, 3, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 2];
    images.extend((0..20).map(|i| (i * 13) as u8));
    let mut lab = vec![0, 0, 8, 1, 0, 0, 0, 5];
    lab.extend(labels);
    write("train-images-idx3-ubyte", images);
    write("train-labels-idx1-ubyte", lab);
    let v = describe_json(&format!("mnist:{}:n=4,classes=2", dir.path().display()));
    assert_eq!(v["train"]["class_counts"], serde_json::json!([2, 2]));
    assert_eq!(v["train"]["input_shape"], serde_json::json!([1, 2, 2]));
    assert!(v["train"]["x_mean"].as_f64().unwrap().abs() < 1e-12);
    assert!((v["train"]["x_std"].as_f64().unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn bad_specs_fail_with_clear_errors() {
    gdscope()
        .args(["data", "describe", "moons:n=20,colour=2"])
        .assert()
        .code(2)
        .stderr(contains("unknown field `colour`"))
        .stderr(contains("valid keys for moons: n, noise, test_n, seed"));
    gdscope()
        .args(["data", "describe", "imagenet:/data"])
        .assert()
        .code(2)
        .stderr(contains("valid kinds"));
    gdscope()
        .args(["data", "describe", "cifar10:/nonexistent/cifar"])
        .assert()
        .code(2)
        .stderr(contains("cifar-10-binary.tar.gz"));
    gdscope()
        .args(["data", "describe", "synthetic-linear:n=0"])
        .assert()
        .code(2)
        .stderr(contains("n must be at least 1"));
}

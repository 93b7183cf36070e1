//! CLI tests of `gdscope train` and `gdscope reproduce eos|paper-fig3` (small and fast).

use assert_cmd::Command;
use predicates::str::contains;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

/// A tiny network run: 5-8-3 MLP on 40 examples in f64.
const TINY: &[&str] = &[
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
    "optimizer.lr=0.2",
    "--set",
    "tracking.every=5",
    "--set",
    "tracking.eval_every=5",
    "--set",
    "checkpoint.every=10",
];

#[test]
fn print_config_resolves_every_default() {
    gdscope()
        .args(["train", "--print-config", "--set", "optimizer.lr=0.04"])
        .assert()
        .success()
        .stdout(contains("lr = 0.04"))
        .stdout(contains("spec = \"mlp:20-256-256-4:gelu-tanh\""))
        .stdout(contains("divergence_factor"));
}

#[test]
fn unknown_field_and_bad_override_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "[optimizer]\nkind = \"gd\"\nlr = 0.1\nmomentum = 0.9\n",
    )
    .unwrap();
    gdscope()
        .args(["train", "--config", cfg.to_str().unwrap(), "--print-config"])
        .assert()
        .code(2)
        .stderr(contains("momentum"));
    gdscope()
        .args(["train", "--set", "stepz=3", "--print-config"])
        .assert()
        .code(2)
        .stderr(contains("stepz"));
    gdscope()
        .args(["train", "--set", "steps", "--print-config"])
        .assert()
        .code(2)
        .stderr(contains("path.to.field=value"));
    gdscope()
        .args(["train", "--config", "/nonexistent/x.toml"])
        .assert()
        .code(2)
        .stderr(contains("cannot read config file"));
    gdscope()
        .args(["train", "--resume", "/nonexistent/run"])
        .assert()
        .code(2)
        .stderr(contains("checkpoint"));
}

/// 20 steps, then `--resume --set steps=40`, gives exactly the metrics of a 40-step run.
#[test]
fn resume_extends_a_run_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    gdscope()
        .args(["train", "--out", a.to_str().unwrap(), "--set", "steps=40"])
        .args(TINY)
        .assert()
        .success();
    gdscope()
        .args(["train", "--out", b.to_str().unwrap(), "--set", "steps=20"])
        .args(TINY)
        .assert()
        .success();
    gdscope()
        .args([
            "train",
            "--resume",
            b.to_str().unwrap(),
            "--set",
            "steps=40",
            "--json",
        ])
        .assert()
        .success()
        .stdout(contains("\"steps_run\":40"));
    let ta = gdscope_io::read_parquet(&a.join("metrics.parquet")).unwrap();
    let tb = gdscope_io::read_parquet(&b.join("metrics.parquet")).unwrap();
    assert_eq!(ta.nrows(), 40);
    for (name, col) in ta.columns() {
        let other = tb
            .column(name)
            .unwrap_or_else(|| panic!("resumed run lacks {name}"));
        match (col.as_f64(), other.as_f64()) {
            (Some(x), Some(y)) => {
                let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(x), bits(y), "column {name}");
            }
            _ => assert_eq!(col, other, "column {name}"),
        }
    }
    assert_eq!(
        std::fs::read(a.join("weights.npy")).unwrap(),
        std::fs::read(b.join("weights.npy")).unwrap()
    );
    gdscope()
        .args([
            "train",
            "--resume",
            b.to_str().unwrap(),
            "--set",
            "optimizer.lr=1",
        ])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with --resume"));
}

#[test]
fn divergence_is_recorded_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("div");
    gdscope()
        .args([
            "train",
            "--out",
            out.to_str().unwrap(),
            "--set",
            "steps=200",
        ])
        .args(TINY)
        .args(["--set", "optimizer.lr=80", "--json"])
        .assert()
        .success()
        .stdout(contains("diverged"));
    assert!(out.join("summary.json").is_file() && out.join("loss.png").is_file());
    // A run directory is never silently replaced.
    gdscope()
        .args(["train", "--out", out.to_str().unwrap()])
        .args(TINY)
        .assert()
        .code(2)
        .stderr(contains("already holds a run"));
}

#[test]
fn reproduce_eos_quick() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("eos");
    gdscope()
        .args([
            "reproduce",
            "eos",
            "--quick",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(contains("edge of stability: reproduced"));
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(summary.contains("\"first_crossing_step\"") && summary.contains("\"median_ratio\""));
    assert!(out.join("sharpness.png").is_file() && out.join("metrics.parquet").is_file());
}

#[test]
fn reproduce_paper_fig3_quick() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig3");
    gdscope()
        .args([
            "reproduce",
            "paper-fig3",
            "--quick",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success()
        .stdout(contains("sgd-momentum"))
        .stdout(contains("adam"));
    assert!(out.join("fig3.png").is_file() && out.join("fig3.svg").is_file());
    for run in ["gd", "sgd-momentum", "adam"] {
        assert!(out.join(run).join("metrics.parquet").is_file(), "{run}");
    }
}

//! CLI tests of the Part-1 commands: direction, sweep-lr, basin, reproduce.

use assert_cmd::Command;
use predicates::str::contains;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

fn json_of(args: &[&str]) -> serde_json::Value {
    let out = gdscope()
        .args(args)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    serde_json::from_slice(&out).expect("stdout is one JSON object")
}

#[test]
fn direction_json_has_exactly_the_documented_keys() {
    let v = json_of(&[
        "direction",
        "--objective",
        "paper-fig2",
        "--lr",
        "0.95",
        "--x0",
        "0.2,0.2",
        "--json",
    ]);
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = [
        "minimum",
        "eigenvalues",
        "eigenvectors",
        "thresholds",
        "regime",
        "direction",
        "trajectory",
        "verdict",
    ];
    expected.sort_unstable();
    let mut got = keys.clone();
    got.sort_unstable();
    assert_eq!(got, expected);
    let sub = |k: &str| {
        let mut s: Vec<String> = v[k].as_object().unwrap().keys().cloned().collect();
        s.sort();
        s
    };
    assert_eq!(sub("thresholds"), ["fixed_below", "stable_below"]);
    assert_eq!(sub("regime"), ["predicted", "reason"]);
    assert_eq!(
        sub("direction"),
        ["angle_deg", "observed", "predicted", "read_at_step"]
    );
    assert_eq!(
        sub("trajectory"),
        [
            "cosine_last",
            "final_distance",
            "sharpness_final",
            "sharpness_max",
            "status",
            "steps"
        ]
    );
    assert_eq!(v["regime"]["predicted"], "alternating");
    assert_eq!(v["verdict"], "agrees");
    assert_eq!(v["trajectory"]["status"], "converged");
    assert!(v["trajectory"]["sharpness_max"].as_f64().unwrap() > 2.0 / 0.95);
    assert!((v["thresholds"]["stable_below"].as_f64().unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn direction_with_an_expression_and_a_given_minimum() {
    let v = json_of(&[
        "direction",
        "--expr",
        "x^2/2 + 2*y^2",
        "--vars",
        "x,y",
        "--lr",
        "0.1",
        "--x0",
        "-0.3,0.2",
        "--minimum",
        "0,0",
        "--json",
    ]);
    assert_eq!(v["regime"]["predicted"], "fixed");
    assert_eq!(v["direction"]["predicted"][0], -1.0);
    assert_eq!(v["verdict"], "agrees");
    // Unstable: GD diverges, which agrees with the theorem.
    let v = json_of(&[
        "direction",
        "--expr",
        "x^2/2 + 2*y^2",
        "--lr",
        "0.6",
        "--x0",
        "0.3,0.2",
        "--json",
    ]);
    assert_eq!(v["regime"]["predicted"], "unstable");
    assert_eq!(v["trajectory"]["status"], "diverged");
    assert_eq!(v["verdict"], "agrees");
    assert!(v["direction"]["observed"].is_null());
}

#[test]
fn direction_human_output_and_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    gdscope()
        .args([
            "direction",
            "--objective",
            "paper-fig1",
            "--lr",
            "0.42",
            "--x0",
            "0.3,0.2",
            "--steps",
            "2000",
        ])
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .stdout(contains("verdict           agrees"));
    for f in [
        "config.toml",
        "metrics.parquet",
        "summary.json",
        "direction.png",
        "direction.svg",
    ] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    // A second run into the same directory is refused without --overwrite.
    gdscope()
        .args(["direction", "--objective", "paper-fig1", "--lr", "0.42"])
        .arg("--out")
        .arg(&out)
        .assert()
        .failure()
        .stderr(contains("--overwrite"));
}

#[test]
fn bad_flags_fail_with_a_clear_message() {
    gdscope()
        .args([
            "direction",
            "--objective",
            "paper-fig2",
            "--lr",
            "-1",
            "--json",
        ])
        .assert()
        .code(2)
        .stderr(contains("lr"));
    gdscope()
        .args([
            "direction",
            "--objective",
            "paper-fig2",
            "--lr",
            "0.1",
            "--x0",
            "1,2,3",
        ])
        .assert()
        .code(2)
        .stderr(contains("--x0 has 3 values"));
    gdscope()
        .args(["direction", "--expr", "x^2 + y^2", "--lr", "0.1"])
        .assert()
        .code(2)
        .stderr(contains("--x0"));
    gdscope()
        .args([
            "basin",
            "--objective",
            "paper-fig2",
            "--lr",
            "0.95",
            "--x-range",
            "1,0",
        ])
        .assert()
        .code(2)
        .stderr(contains("x range"));
    gdscope()
        .args(["direction", "--lr", "0.1"])
        .assert()
        .failure()
        .stderr(contains("no objective"));
    gdscope()
        .args(["reproduce", "paper-fig9"])
        .assert()
        .failure();
}

#[test]
fn basin_summary_counts() {
    let v = json_of(&[
        "basin",
        "--objective",
        "paper-fig2",
        "--lr",
        "0.95",
        "--resolution",
        "60",
        "--steps",
        "1000",
        "--json",
    ]);
    let c = &v["counts"];
    assert_eq!(c["total"], 3600);
    let sum: u64 = ["diverged", "plus_q1", "minus_q1", "alternating_qn", "other"]
        .iter()
        .map(|k| c[*k].as_u64().unwrap())
        .sum();
    assert_eq!(sum, 3600);
    assert!(c["alternating_qn"].as_u64().unwrap() > 0);
    let frac = v["converged_fraction"].as_f64().unwrap();
    assert!((frac - 0.808).abs() < 0.03, "{frac}");
}

#[test]
fn sweep_lr_table_and_reproduce_fig2() {
    let v = json_of(&[
        "sweep-lr",
        "--objective",
        "paper-fig1",
        "--x0",
        "0.3,0.2",
        "--lr-range",
        "0.05,0.6",
        "--count",
        "6",
        "--json",
    ]);
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["verdict"] == "agrees"), "{rows:?}");
    let dir = tempfile::tempdir().unwrap();
    gdscope()
        .args(["reproduce", "paper-fig2", "--out"])
        .arg(dir.path().join("fig2"))
        .assert()
        .success()
        .stdout(contains("all agree"));
    assert!(dir.path().join("fig2/summary.json").exists());
}

//! CLI tests of the Part-1 commands: direction, sweep-lr, basin, reproduce.

use assert_cmd::Command;
use predicates::prelude::*;
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
        "verdict_reason",
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
        .stderr(contains("learning rate = -1"));
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
    // Like every run, reproduce writes its configuration and the data behind each panel: the
    // trajectories, one row per step, with the panel they belong to.
    let config = std::fs::read_to_string(dir.path().join("fig2/config.toml")).unwrap();
    assert!(
        config.contains("paper-fig2") && config.contains("0.95"),
        "{config}"
    );
    let table = gdscope_io::read_parquet(&dir.path().join("fig2/metrics.parquet")).unwrap();
    let panels = table.column("panel").and_then(|c| c.as_str()).unwrap();
    let steps = table.column("step").and_then(|c| c.as_i64()).unwrap();
    for panel in ["panel1-paper-fig2-lr0.1", "panel2-paper-fig2-lr0.95"] {
        let rows = panels.iter().filter(|p| p.as_str() == panel).count();
        assert!(rows > 100, "{panel}: {rows} rows");
    }
    assert_eq!(steps[0], 0);
    assert!(table.f64_column("distance").is_some());
}

/// Starts that crashed before: a start that cannot be computed with is a clear error naming
/// x0; a finite start that blows up at step 0 is a result with status `diverged`.
#[test]
fn starts_that_diverge_at_step_0_are_results_or_clear_errors() {
    for x0 in ["nan,0.1", "inf,0.1"] {
        gdscope()
            .args([
                "direction",
                "--objective",
                "paper-fig2",
                "--lr",
                "0.1",
                "--x0",
                x0,
            ])
            .assert()
            .code(2)
            .stderr(contains("x0").and(contains("finite")));
    }
    for x0 in ["1e300,0.1", "2e8,0"] {
        let v = json_of(&[
            "direction",
            "--objective",
            "paper-fig2",
            "--lr",
            "0.1",
            "--x0",
            x0,
            "--json",
        ]);
        assert_eq!(v["trajectory"]["status"], "diverged", "{x0}: {v}");
        assert_eq!(v["trajectory"]["steps"], 0, "{x0}");
        assert_eq!(v["verdict"], "not_covered", "{x0}");
    }
    gdscope()
        .args([
            "sweep-lr",
            "--objective",
            "paper-fig2",
            "--x0",
            "nan,0.1",
            "--count",
            "3",
        ])
        .assert()
        .code(2)
        .stderr(contains("x0"));
    let v = json_of(&[
        "sweep-lr",
        "--objective",
        "paper-fig2",
        "--x0",
        "2e8,0",
        "--count",
        "3",
        "--json",
    ]);
    for row in v["rows"].as_array().unwrap() {
        assert_eq!(row["observed"], "diverged", "{row}");
    }
}

/// The README's sweep crosses 2/(λ1+λn) = 0.1818 at η ≈ 0.181, where |1 − ηλ1| ≈ |1 − ηλn|:
/// the reading comes before the competing direction has died out. That row is
/// `inconclusive` with its reason in JSON, the text table and sweep.parquet; no row disagrees.
#[test]
fn sweep_verdicts_explain_themselves() {
    let args = [
        "sweep-lr",
        "--objective",
        "quadratic",
        "--spectrum",
        "1,3,10",
        "--rotate-seed",
        "7",
        "--x0",
        "0.3,-0.2,0.1",
    ];
    let v = json_of(&[&args[..], &["--json"]].concat());
    let rows = v["rows"].as_array().unwrap();
    assert!(rows.iter().all(|r| r["verdict"] != "disagrees"), "{rows:?}");
    let row = rows
        .iter()
        .find(|r| (r["lr"].as_f64().unwrap() - 0.181).abs() < 1e-3)
        .unwrap();
    assert_eq!(row["verdict"], "inconclusive", "{row}");
    assert!(
        row["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("too early"),
        "{row}"
    );
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let text = gdscope()
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(text).unwrap();
    assert!(
        text.contains("inconclusive [1]") && text.contains("[1] η = 0.181"),
        "{text}"
    );
    let table = gdscope_io::read_parquet(&out.join("sweep.parquet")).unwrap();
    let reasons = table
        .column("verdict_reason")
        .and_then(|c| c.as_str())
        .unwrap();
    assert!(
        reasons.iter().any(|r| r.contains("too early")),
        "{reasons:?}"
    );
}

/// Text output uses the JSON's snake_case words, never Rust variant names.
#[test]
fn text_output_uses_the_json_words() {
    let out = gdscope()
        .args([
            "direction",
            "--objective",
            "paper-fig2",
            "--lr",
            "0.1",
            "--x0",
            "0.3,0.2",
            "--steps",
            "20",
        ])
        .assert()
        .success()
        .get_output()
        .stdout
        .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("max_steps"), "{text}");
    let camel = camel_case_words(&text);
    assert!(
        camel.is_empty(),
        "CamelCase words in text output: {camel:?}\n{text}"
    );
}

/// Words such as `MaxSteps` or `MonotoneFromAbove` (an upper-case letter after a lower-case
/// one inside a word).
fn camel_case_words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| {
            w.chars()
                .zip(w.chars().skip(1))
                .any(|(a, b)| a.is_ascii_lowercase() && b.is_ascii_uppercase())
        })
        .map(str::to_string)
        .collect()
}

/// JSON text read back as [`json_of`] reads the CLI's (so both see the same float parser).
fn reparsed(text: String) -> serde_json::Value {
    serde_json::from_str(&text).unwrap()
}

/// The CLI only parses flags into the library's spec: the spec it saves in `config.toml`,
/// run through `gdscope_runs`, gives exactly the numbers the CLI printed.
#[test]
fn cli_runs_are_the_library_entry_points_of_their_saved_specs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d");
    let cli = json_of(&[
        "direction",
        "--objective",
        "paper-fig2",
        "--lr",
        "0.95",
        "--x0",
        "0.2,0.2",
        "--steps",
        "3000",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let spec: gdscope_runs::direction::DirectionSpec =
        gdscope_runs::read_spec(&out, "direction").unwrap();
    assert_eq!((spec.lr, spec.steps), (0.95, 3000));
    let lib = gdscope_runs::direction::run(&spec, None).unwrap();
    assert_eq!(
        cli,
        reparsed(serde_json::to_string(&lib.report.summary()).unwrap())
    );

    let out = dir.path().join("b");
    let cli = json_of(&[
        "basin",
        "--objective",
        "paper-fig2",
        "--lr",
        "0.95",
        "--resolution",
        "7",
        "--steps",
        "300",
        "--json",
        "--out",
        out.to_str().unwrap(),
    ]);
    let spec: gdscope_runs::basin::BasinRunSpec = gdscope_runs::read_spec(&out, "basin").unwrap();
    let lib = gdscope_runs::basin::run(&spec, None, &gdscope_runs::Silent).unwrap();
    let mut lib = reparsed(serde_json::to_string(&lib.summary).unwrap());
    let mut cli = cli;
    for v in [&mut lib, &mut cli] {
        v.as_object_mut().unwrap().remove("elapsed_s");
    }
    assert_eq!(cli, lib);
}

//! `gdscope objectives` and the shared objective flags: evaluation, listing, and clear
//! errors (with a caret under the offending character) that never panic.

use assert_cmd::Command;
use predicates::prelude::*;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

#[test]
fn lists_every_builtin() {
    let out = gdscope().args(["objectives", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let names: Vec<&str> = v["objectives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "quadratic",
            "rosenbrock",
            "paper-fig1",
            "paper-fig1-perturbed",
            "paper-fig2"
        ]
    );
    gdscope()
        .arg("objectives")
        .assert()
        .success()
        .stdout(predicate::str::contains("x^2 + y^2/2 + x^2*y + x^3"));
}

#[test]
fn evaluates_paper_fig2_exactly() {
    let out = gdscope()
        .args([
            "objectives",
            "--objective",
            "paper-fig2",
            "--at",
            "0.1,-0.2",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let (x, y) = (0.1_f64, -0.2_f64);
    let g: Vec<f64> = serde_json::from_value(v["gradient"].clone()).unwrap();
    assert!((g[0] - (2.0 * x + 2.0 * x * y + 3.0 * x * x)).abs() < 1e-15);
    assert!((g[1] - (y + x * x)).abs() < 1e-15);
    let h: Vec<Vec<f64>> = serde_json::from_value(v["hessian"].clone()).unwrap();
    assert!(
        (h[0][0] - (2.0 + 2.0 * y + 6.0 * x)).abs() < 1e-14 && (h[0][1] - 2.0 * x).abs() < 1e-15
    );
    let eig: Vec<f64> = serde_json::from_value(v["eigenvalues"].clone()).unwrap();
    assert!(eig[0] <= eig[1]);
}

#[test]
fn rotated_quadratic_has_the_requested_spectrum_at_its_minimum() {
    let out = gdscope()
        .args([
            "objectives",
            "--objective",
            "quadratic",
            "--spectrum",
            "0.5,2,9",
            "--rotate-seed",
            "7",
            "--cubic",
            "-0.4",
            "--at",
            "0,0,0",
            "--json",
        ])
        .assert()
        .success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    let eig: Vec<f64> = serde_json::from_value(v["eigenvalues"].clone()).unwrap();
    for (a, b) in eig.iter().zip([0.5, 2.0, 9.0]) {
        assert!((a - b).abs() < 1e-12, "{eig:?}");
    }
}

#[test]
fn expression_with_explicit_variable_order() {
    gdscope()
        .args([
            "objectives",
            "--expr",
            "x*y^2",
            "--vars",
            "y,x",
            "--at",
            "2,3",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("gradient    [12, 4]"));
}

#[test]
fn parse_error_shows_caret_and_exits_nonzero() {
    gdscope()
        .args(["objectives", "--expr", "x + * y", "--at", "1,2"])
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("found `*`")
                .and(predicate::str::contains("  x + * y\n      ^")),
        );
}

#[test]
fn unknown_names_are_listed() {
    gdscope()
        .args([
            "objectives",
            "--expr",
            "foo(x) + y*bar",
            "--vars",
            "x,y",
            "--at",
            "1,2",
        ])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown names: foo, bar; known functions: exp, log",
        ));
}

#[test]
fn bad_input_gets_clear_errors() {
    let cases: &[(&[&str], &str)] = &[
        (
            &["objectives", "--objective", "nope"],
            "unknown objective `nope`",
        ),
        (
            &["objectives", "--expr", "x", "--objective", "paper-fig2"],
            "not both",
        ),
        (
            &["objectives", "--expr", "x^2 + y"],
            "give the point with --at",
        ),
        (
            &["objectives", "--expr", "x^2 + y", "--at", "1"],
            "--at has 1 values",
        ),
        (
            &["objectives", "--objective", "paper-fig1", "--cubic", "1"],
            "--cubic does not apply",
        ),
        (
            &[
                "objectives",
                "--objective",
                "quadratic",
                "--spectrum",
                "1,2",
                "--dim",
                "3",
            ],
            "--spectrum has 2 values",
        ),
        (
            &["objectives", "--expr", "log(x)", "--at", "-1"],
            "not finite",
        ),
        (&["objectives", "--at", "1,2"], "--at needs an objective"),
    ];
    for (args, msg) in cases {
        gdscope()
            .args(*args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(*msg).and(predicate::str::contains("panicked").not()));
    }
}

//! Whole-CLI behaviour: `info`, help examples, and a closed stdout (`gdscope … | head`).

use assert_cmd::cargo::cargo_bin;
use assert_cmd::Command;
use std::io::Read;
use std::process::Stdio;

#[test]
fn info_json_is_one_object() {
    let out = Command::cargo_bin("gdscope")
        .unwrap()
        .args(["info", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(v["threads"].as_u64().unwrap() >= 1);
    assert!(v["simd"].is_string());
}

#[test]
fn every_analysis_command_shows_examples_in_help() {
    for cmd in [
        "direction",
        "basin",
        "sweep-lr",
        "reproduce",
        "train",
        "curvature",
        "probe",
        "data",
        "objectives",
        "bench",
    ] {
        let out = Command::cargo_bin("gdscope")
            .unwrap()
            .args([cmd, "--help"])
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("Examples:\n  gdscope "),
            "{cmd} --help lacks examples:\n{text}"
        );
    }
}

#[test]
fn closed_stdout_ends_quietly_without_a_panic() {
    let mut child = std::process::Command::new(cargo_bin("gdscope"))
        .args([
            "sweep-lr",
            "--objective",
            "paper-fig2",
            "--x0",
            "0.2,0.2",
            "--count",
            "3",
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    assert!(!err.contains("panicked"), "stderr: {err}");
}

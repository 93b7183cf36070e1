//! `gdscope plot` and `gdscope inspect` on small files.

use assert_cmd::Command;
use gdscope_io::npy::{write_npz, NdArray};
use gdscope_io::{write_parquet, Table};
use predicates::prelude::*;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

fn metrics(dir: &std::path::Path) -> std::path::PathBuf {
    let mut t = Table::new();
    t.push_i64("step", (0..50).collect()).unwrap();
    t.push_f64(
        "loss",
        (0..50).map(|k| (-f64::from(k) / 10.0).exp()).collect(),
    )
    .unwrap();
    t.push_f64(
        "sharpness",
        (0..50)
            .map(|k| {
                if k % 5 == 0 {
                    10.0 + f64::from(k) / 10.0
                } else {
                    f64::NAN
                }
            })
            .collect(),
    )
    .unwrap();
    t.push_str("status", vec!["ok".to_string(); 50]).unwrap();
    let p = dir.join("metrics.parquet");
    write_parquet(&p, &t).unwrap();
    p
}

#[test]
fn plot_writes_png_and_svg_and_refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    let table = metrics(dir.path());
    let stem = dir.path().join("fig");
    gdscope()
        .arg("plot")
        .arg(&table)
        .args([
            "--y",
            "sharpness,loss",
            "--log-y",
            "--hline",
            "20=2/η",
            "--title",
            "EoS run",
            "--out",
        ])
        .arg(&stem)
        .assert()
        .success()
        .stdout(predicate::str::contains("fig.png").and(predicate::str::contains("fig.svg")));
    let png = std::fs::read(dir.path().join("fig.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let svg = std::fs::read_to_string(dir.path().join("fig.svg")).unwrap();
    assert!(svg.contains("EoS run") && svg.contains("2/η"));
    gdscope()
        .arg("plot")
        .arg(&table)
        .arg("--out")
        .arg(&stem)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("already exists; pass --overwrite"));
    // Default: every numeric column against step, named after them, next to the table.
    gdscope()
        .arg("plot")
        .arg(&table)
        .args(["--format", "svg"])
        .assert()
        .success();
    assert!(dir.path().join("loss-sharpness.svg").exists());
}

#[test]
fn plot_bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let table = metrics(dir.path());
    let cases: [(&[&str], &str); 4] = [
        (
            &["--y", "nope"],
            "no column 'nope'; its columns are: step, loss, sharpness, status",
        ),
        (&["--y", "status"], "holds str values"),
        (&["--hline", "abc"], "expected VALUE or VALUE=LABEL"),
        (&["--format", "jpg"], "unknown figure format 'jpg'"),
    ];
    for (flags, msg) in cases {
        gdscope()
            .arg("plot")
            .arg(&table)
            .args(flags)
            .arg("--out")
            .arg(dir.path().join("x"))
            .assert()
            .failure()
            .stderr(predicate::str::contains(msg));
    }
    gdscope()
        .args(["plot", "/no/such/file.parquet"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot open Parquet file /no/such/file.parquet",
        ));
}

#[test]
fn inspect_tables_and_arrays() {
    let dir = tempfile::tempdir().unwrap();
    let table = metrics(dir.path());
    let csv = dir.path().join("m.csv");
    gdscope()
        .arg("inspect")
        .arg(&table)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .success()
        .stdout(
            predicate::str::contains("50 rows, 4 columns").and(predicate::str::contains("NaN 40")),
        );
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("step,loss,sharpness,status\n0,1.0,10.0,ok\n1,"),
        "{text}"
    );

    let out = gdscope()
        .arg("inspect")
        .arg(&table)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["rows"], 50);
    assert_eq!(v["columns"][2]["stats"]["nan"], 40);
    assert_eq!(v["columns"][2]["stats"]["max"], 14.5);

    let npz = dir.path().join("d.npz");
    let x = NdArray::from_f64(vec![2, 2], vec![1.0, -3.0, f64::NAN, 2.0]).unwrap();
    write_npz(&npz, &[("x", &x)]).unwrap();
    let out = gdscope()
        .arg("inspect")
        .arg(&npz)
        .arg("--json")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["arrays"]["x"]["shape"], serde_json::json!([2, 2]));
    assert_eq!(v["arrays"]["x"]["stats"]["min"], -3.0);

    gdscope()
        .arg("inspect")
        .arg(&npz)
        .arg("--csv")
        .arg(&csv)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--csv converts Parquet tables only",
        ));
    let bad = dir.path().join("bad.npy");
    std::fs::write(&bad, b"not numpy").unwrap();
    gdscope()
        .arg("inspect")
        .arg(&bad)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("bad.npy").and(predicate::str::contains("magic")));
}

/// Every command that writes a single file refuses to replace an existing one unless given
/// `--overwrite` (the same rule as run directories).
#[test]
fn single_output_files_are_not_replaced_silently() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let table = metrics(d);
    gdscope()
        .current_dir(d)
        .args([
            "data",
            "export",
            "synthetic-linear:n=20,d=3,k=2",
            "--out",
            "d.npz",
        ])
        .assert()
        .success();
    let model = "mlp:3-4-2:tanh";
    let p = gdscope_nn::Model::<f64>::from_spec(model)
        .unwrap()
        .num_params();
    gdscope_io::npy::write_npy(&d.join("w.npy"), &[p], &vec![0.1; p]).unwrap();
    let commands: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "data",
                "export",
                "synthetic-linear:n=20,d=3,k=2",
                "--out",
                "d.npz",
            ],
            "d.npz",
        ),
        (
            vec![
                "probe", "--model", model, "--data", "d.npz", "--params", "w.npy", "--out", "p.npz",
            ],
            "p.npz",
        ),
        (
            vec!["inspect", table.to_str().unwrap(), "--csv", "m.csv"],
            "m.csv",
        ),
        (
            vec![
                "plot",
                table.to_str().unwrap(),
                "--y",
                "loss",
                "--out",
                "fig",
            ],
            "fig.png",
        ),
    ];
    for (args, file) in commands {
        if !d.join(file).exists() {
            gdscope().current_dir(d).args(&args).assert().success();
        }
        let before = std::fs::metadata(d.join(file)).unwrap().modified().unwrap();
        gdscope()
            .current_dir(d)
            .args(&args)
            .assert()
            .code(2)
            .stderr(
                predicate::str::contains("already exists")
                    .and(predicate::str::contains("--overwrite")),
            );
        assert_eq!(
            std::fs::metadata(d.join(file)).unwrap().modified().unwrap(),
            before,
            "{file}"
        );
        gdscope()
            .current_dir(d)
            .args(&args)
            .arg("--overwrite")
            .assert()
            .success();
    }
}

/// `plot` without `--y`: a short default name, a panel per column, and columns never
/// measured (all NaN) stay out of the figure.
#[test]
fn plot_defaults_name_and_legend() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = Table::new();
    t.push_i64("step", (0..10).collect()).unwrap();
    for name in [
        "loss",
        "grad_norm",
        "update_cosine",
        "sharpness",
        "train_accuracy",
    ] {
        t.push_f64(name, (0..10).map(f64::from).collect()).unwrap();
    }
    t.push_f64("test_loss", vec![f64::NAN; 10]).unwrap();
    let path = dir.path().join("metrics.parquet");
    write_parquet(&path, &t).unwrap();
    let out = gdscope()
        .args(["plot", path.to_str().unwrap(), "--format", "svg"])
        .assert()
        .success()
        .get_output()
        .clone();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.trim().ends_with("metrics-5-columns.svg"), "{stdout}");
    assert!(String::from_utf8(out.stderr).unwrap().contains("test_loss"));
    let svg = std::fs::read_to_string(dir.path().join("metrics-5-columns.svg")).unwrap();
    assert!(svg.contains("train_accuracy") && !svg.contains("test_loss"));
    // One panel per column (their scales are unrelated), three to a row: 5 columns → 3 × 2.
    let size = |svg: &str| {
        let attr = |name: &str| {
            let key = format!("{name}=\"");
            let at = svg.find(&key).unwrap() + key.len();
            svg[at..].split('"').next().unwrap().parse::<u32>().unwrap()
        };
        (attr("width"), attr("height"))
    };
    assert_eq!(size(&svg), (3 * 900, 2 * 600));
    // Columns named with --y share one panel.
    gdscope()
        .args([
            "plot",
            path.to_str().unwrap(),
            "--y",
            "loss,sharpness",
            "--format",
            "svg",
        ])
        .assert()
        .success();
    let svg = std::fs::read_to_string(dir.path().join("loss-sharpness.svg")).unwrap();
    assert_eq!(size(&svg), (900, 600));
}

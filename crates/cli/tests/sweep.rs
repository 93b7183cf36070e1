//! CLI tests of `gdscope sweep` with the local backend, `status`, `collect`, resuming after
//! SIGKILL and SIGTERM, and the Slurm script of a dry run (no Slurm needed; the tests against
//! a real Slurm are in `sweep_slurm.rs`).

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use gdscope_io::{read_parquet, Column};
use predicates::str::contains;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

/// Tiny members: a 5-8-3 MLP on 40 examples, 30 steps, sharpness every 5 steps.
const TINY: &str = r#"
steps = 30
dtype = "f64"
[model]
spec = "mlp:5-8-3:tanh"
[data]
kind = "synthetic-linear"
n = 40
d = 5
k = 3
[optimizer]
kind = "gd"
lr = 0.2
[tracking]
every = 5
eval_every = 5
[checkpoint]
every = 10
"#;

fn write_config(dir: &Path, text: &str) -> String {
    let p = dir.join("base.toml");
    std::fs::write(&p, text).unwrap();
    p.to_str().unwrap().to_string()
}

fn status_json(dir: &Path) -> serde_json::Value {
    let out = gdscope()
        .args(["sweep", "status", "--json", dir.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn member_file(dir: &Path, id: &str) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("runs").join(id).join("member.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// Four members; the last has data of width 7 for a model of input width 5, so it fails.
/// The other three complete, the table has their swept values, and a re-run touches only
/// the failed member.
#[test]
fn local_sweep_of_four_with_one_failure_then_collect_and_rerun() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), TINY);
    let out = tmp.path().join("sw");
    let out_s = out.to_str().unwrap();
    gdscope()
        .args([
            "sweep",
            "--config",
            &config,
            "--out",
            out_s,
            "--workers",
            "2",
        ])
        .args([
            "--zip",
            "optimizer.lr=0.05,0.1,0.2,0.1",
            "--zip",
            "data.d=5,5,5,7",
        ])
        .assert()
        .success()
        .stderr(contains("4 of 4 members to run"))
        .stderr(contains("[4/4]"))
        .stdout(contains("3 completed, 1 failed"))
        .stdout(contains("sweep.parquet (4 rows)"));

    let v = status_json(&out);
    assert_eq!(v["counts"]["completed"], 3);
    assert_eq!(v["counts"]["failed"], 1);
    let failed = &v["members"][3];
    assert_eq!(failed["state"], "failed");
    assert_eq!(failed["id"], "003-lr0.1-d7");
    let reason = failed["reason"].as_str().unwrap();
    assert!(reason.contains("expected n × d = 40 × 5"), "{reason}");

    gdscope()
        .args(["sweep", "collect", out_s, "--format", "png,svg"])
        .assert()
        .success()
        .stdout(contains("sweep-sharpness.png"))
        .stdout(contains("sweep-sharpness_final-vs-optimizer.lr.svg"));
    let runs = read_parquet(&out.join("sweep.parquet")).unwrap();
    assert_eq!(runs.nrows(), 4);
    assert_eq!(
        runs.column("optimizer.lr"),
        Some(&Column::F64(vec![0.05, 0.1, 0.2, 0.1]))
    );
    assert_eq!(runs.column("data.d"), Some(&Column::I64(vec![5, 5, 5, 7])));
    let status: Vec<&str> = runs
        .column("status")
        .and_then(Column::as_str)
        .unwrap()
        .iter()
        .map(String::as_str)
        .collect();
    assert_eq!(status, ["completed", "completed", "completed", "failed"]);
    let reasons = runs.column("reason").and_then(Column::as_str).unwrap();
    assert!(reasons[3].contains("input width is 5"), "{}", reasons[3]);
    let steps = runs.f64_column("steps_run").unwrap();
    assert_eq!(&steps[..3], [30.0, 30.0, 30.0]);
    assert!(steps[3].is_nan());
    assert!(runs.f64_column("sharpness_final").unwrap()[0] > 0.0);

    let long = read_parquet(&out.join("metrics.parquet")).unwrap();
    assert_eq!(long.nrows(), 90, "three members of 30 steps");
    let lr = long.f64_column("optimizer.lr").unwrap();
    assert_eq!((lr[0], lr[30], lr[89]), (0.05, 0.1, 0.2));
    let step = long.column("step").and_then(Column::as_i64).unwrap();
    assert_eq!((step[0], step[29], step[30]), (0, 29, 0));
    let member0 = read_parquet(&out.join("runs/000-lr0.05-d5/metrics.parquet")).unwrap();
    assert_eq!(
        &long.f64_column("loss").unwrap()[..30],
        member0.f64_column("loss").unwrap()
    );
    for f in [
        "sweep-sharpness.png",
        "sweep-sharpness_final-vs-optimizer.lr.png",
    ] {
        assert!(
            std::fs::metadata(out.join(f)).unwrap().len() > 10_000,
            "{f}"
        );
    }

    // Running the same command again continues the sweep: only the failed member runs.
    gdscope()
        .args(["sweep", "--config", &config, "--out", out_s])
        .args([
            "--zip",
            "optimizer.lr=0.05,0.1,0.2,0.1",
            "--zip",
            "data.d=5,5,5,7",
        ])
        .assert()
        .success()
        .stderr(contains("1 of 4 members to run"));
    assert_eq!(member_file(&out, "000-lr0.05-d5")["attempt"], 1);
    assert_eq!(member_file(&out, "003-lr0.1-d7")["attempt"], 2);
    // A different sweep in the same directory is refused.
    gdscope()
        .args([
            "sweep", "--config", &config, "--out", out_s, "--grid", "seed=0,1",
        ])
        .assert()
        .code(2)
        .stderr(contains("already holds a different sweep"));
}

/// With one swept setting the summary figure's legend names the field and the threshold
/// (drawn as points, since 2/η is not linear between grid values).
#[test]
fn one_axis_summary_figure_has_a_full_legend() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), TINY);
    let out = tmp.path().join("s");
    gdscope()
        .args(["sweep", "--config", &config, "--set", "steps=5"])
        .args([
            "--grid",
            "optimizer.lr=0.05,0.1",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    gdscope()
        .args(["sweep", "collect", out.to_str().unwrap(), "--format", "svg"])
        .assert()
        .success();
    let svg =
        std::fs::read_to_string(out.join("sweep-sharpness_final-vs-optimizer.lr.svg")).unwrap();
    let texts: Vec<&str> = svg
        .split("<text")
        .skip(1)
        .filter_map(|t| t.split('>').nth(1)?.split('<').next())
        .map(str::trim)
        .collect();
    assert_eq!(
        texts.iter().filter(|t| **t == "sharpness_final").count(),
        2,
        "y label and legend entry: {texts:?}"
    );
    assert!(
        texts.contains(&"stability threshold of the run"),
        "{texts:?}"
    );
}

#[test]
fn grid_ranges_and_toml_axes() {
    let tmp = tempfile::tempdir().unwrap();
    let text =
        format!("{TINY}\n[sweep]\nname = \"tiny-grid\"\n[sweep.grid]\nseed = \"range(0,2)\"\n");
    let config = write_config(tmp.path(), &text);
    let out = tmp.path().join("g");
    gdscope()
        .args(["sweep", "--config", &config, "--set", "steps=5"])
        .args(["--grid", "optimizer.lr=logspace(0.01,1,3)", "--no-collect"])
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .success()
        .stdout(contains("6 completed"));
    let manifest = std::fs::read_to_string(out.join("sweep.toml")).unwrap();
    assert!(manifest.contains("name = \"tiny-grid\""), "{manifest}");
    for id in [
        "000-seed0-lr0.01",
        "001-seed0-lr0.1",
        "002-seed0-lr1",
        "005-seed1-lr1",
    ] {
        let cfg = std::fs::read_to_string(out.join("runs").join(id).join("config.toml")).unwrap();
        assert!(cfg.contains("steps = 5"), "{id}: {cfg}");
    }
    assert!(!out.join("sweep.parquet").exists(), "--no-collect");
}

#[test]
fn bad_axes_and_options_are_clear_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), TINY);
    let out = tmp.path().join("x");
    let out = out.to_str().unwrap();
    for (args, needle) in [
        (vec!["--grid", "optimizer.lr"], "path.to.field=VALUES"),
        (vec!["--grid", "optimizer.lrr=0.1"], "lrr"),
        (
            vec!["--zip", "seed=0,1", "--zip", "optimizer.lr=0.1"],
            "same number of values",
        ),
        (vec![], "at least one axis"),
        (
            vec!["--grid", "seed=0,1", "--partition", "a"],
            "need --backend slurm",
        ),
        (
            vec!["--grid", "seed=0,1", "--backend", "slurm", "--workers", "2"],
            "apply to the local backend",
        ),
    ] {
        gdscope()
            .args(["sweep", "--config", &config, "--out", out])
            .args(&args)
            .assert()
            .code(2)
            .stderr(contains(needle));
    }
    gdscope()
        .args(["sweep", "status", "/nonexistent/sweep"])
        .assert()
        .code(2)
        .stderr(contains("gdscope sweep directory"));
}

/// The Slurm script of a dry run: array over the members, resources, the member command,
/// logs in the member directories; nothing is submitted.
#[test]
fn slurm_dry_run_writes_the_array_script() {
    let tmp = tempfile::tempdir().unwrap();
    let text = format!("{TINY}\n[slurm]\npartition = \"short\"\nextra = [\"--qos=low\"]\n");
    let config = write_config(tmp.path(), &text);
    let out = tmp.path().join("s");
    gdscope()
        .args(["sweep", "--config", &config, "--out", out.to_str().unwrap()])
        .args([
            "--grid",
            "seed=range(0,5)",
            "--backend",
            "slurm",
            "--dry-run",
        ])
        .args(["--time", "00:10:00", "--mem", "1G", "--cpus-per-task", "2"])
        .args([
            "--max-concurrent",
            "2",
            "--sbatch",
            "--account=proj",
            "--setup",
            "echo ready",
        ])
        .assert()
        .success()
        .stdout(contains("dry run: not submitted"));
    let script = std::fs::read_to_string(out.join("slurm/submit-1.sh")).unwrap();
    let dir = out.canonicalize().unwrap();
    let dir = dir.display();
    for line in [
        "#SBATCH --array=0-4%2".to_string(),
        "#SBATCH --partition=short".into(),
        "#SBATCH --time=00:10:00".into(),
        "#SBATCH --mem=1G".into(),
        "#SBATCH --cpus-per-task=2".into(),
        "#SBATCH --qos=low".into(),
        "#SBATCH --account=proj".into(),
        format!("#SBATCH --output={dir}/slurm/tasks/%a/slurm-%A_%a.log"),
        "echo ready".into(),
        format!("'sweep' 'run-member' '{dir}' \"$SLURM_ARRAY_TASK_ID\""),
    ] {
        assert!(script.contains(&line), "missing `{line}` in\n{script}");
    }
    let link = std::fs::read_link(out.join("slurm/tasks/3")).unwrap();
    assert_eq!(link, Path::new("../../runs/003-seed3"));
    let v = status_json(&out);
    assert_eq!(v["counts"]["pending"], 5, "a dry run submits nothing");
}

/// `run-member` runs one member by index and reports it; an index out of range is an error.
#[test]
fn run_member_by_index() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), TINY);
    let out = tmp.path().join("m");
    let out_s = out.to_str().unwrap();
    gdscope()
        .args([
            "sweep", "--config", &config, "--out", out_s, "--grid", "seed=0,1",
        ])
        .args(["--backend", "slurm", "--dry-run"])
        .assert()
        .success();
    gdscope()
        .args(["sweep", "run-member", out_s, "1", "--threads", "1"])
        .assert()
        .success()
        .stdout(contains("member 1 (001-seed1): completed"));
    gdscope()
        .args(["sweep", "run-member", out_s, "7"])
        .assert()
        .code(2)
        .stderr(contains("there is no member 7"));
    let v = status_json(&out);
    assert_eq!(v["members"][1]["state"], "completed");
    assert_eq!(v["members"][0]["state"], "pending");
}

/// A member long enough to be interrupted: 6000 steps, checkpoint every 300.
const SLOW: &str = r#"
steps = 6000
dtype = "f64"
[model]
spec = "mlp:10-32-3:tanh"
[data]
kind = "synthetic-linear"
n = 200
d = 10
k = 3
[optimizer]
kind = "gd"
lr = 0.1
[tracking]
every = 0
eval_every = 0
projection = false
[checkpoint]
every = 300
"#;

fn spawn_sweep(args: &[&str]) -> Child {
    std::process::Command::new(assert_cmd::cargo::cargo_bin("gdscope"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Waits until the member (`runs/<id>`) has checkpointed past `after` steps, with `status`
/// showing at least as many steps; returns the checkpoint's step.
/// The step of member `id`'s checkpoint on disk (0 without one).
fn latest_checkpoint(sweep: &Path, id: &str) -> u64 {
    let dir = sweep.join("runs").join(id);
    gdscope_train::checkpoint::Checkpoint::load(&dir).map_or(0, |c| c.driver.step)
}

fn wait_for_checkpoint(sweep: &Path, id: &str, after: u64) -> u64 {
    let start = Instant::now();
    loop {
        let step = latest_checkpoint(sweep, id);
        if step > after {
            let v = status_json(sweep);
            let logged = v["members"][0]["steps_done"].as_u64().unwrap_or(0);
            assert!(
                logged >= step,
                "status shows {logged} steps, checkpoint {step}: {v}"
            );
            return step;
        }
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "no checkpoint past step {after} within 120 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// SIGKILL leaves `running` in member.json; status sees the dead pid and says failed
/// (interrupted). SIGTERM is recorded as cancelled. Each re-run resumes from the checkpoint,
/// and the result equals an uninterrupted run bit for bit.
#[test]
fn interrupted_members_resume_from_their_checkpoints() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), SLOW);
    let out = tmp.path().join("slow");
    let out_s = out.to_str().unwrap();
    let id = "000-seed3";
    // One compute thread, here and in the uninterrupted reference: the engine's parallel loss
    // reduction is reproducible to the last bit only for a fixed thread pool.
    let create = [
        "sweep",
        "--config",
        &config,
        "--out",
        out_s,
        "--grid",
        "seed=3",
        "--no-collect",
        "--threads-per-worker",
        "1",
    ];

    let mut child = spawn_sweep(&create);
    wait_for_checkpoint(&out, id, 0);
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The killed process may have written another checkpoint between the wait and the kill:
    // the resumed run starts from the last one on disk, and only a checkpoint past it shows
    // that the resumed run is under way.
    let first = latest_checkpoint(&out, id);
    let v = status_json(&out);
    assert_eq!(v["members"][0]["state"], "failed", "{v}");
    let reason = v["members"][0]["reason"].as_str().unwrap();
    assert!(reason.starts_with("interrupted: process"), "{reason}");
    assert!(
        first < 6000,
        "the member finished before it could be interrupted"
    );

    let resume = [
        "sweep",
        "--resume",
        out_s,
        "--no-collect",
        "--threads-per-worker",
        "1",
    ];
    let mut child = spawn_sweep(&resume);
    let second = wait_for_checkpoint(&out, id, first);
    sigterm(child.id());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(128 + 15), "exit code after SIGTERM");
    let v = status_json(&out);
    assert_eq!(v["members"][0]["state"], "cancelled", "{v}");
    assert!(v["members"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("SIGTERM"));
    let m = member_file(&out, id);
    assert_eq!(m["attempt"], 2);
    assert!(m["resumed_from_step"].as_u64().unwrap() >= first);
    assert!(second < 6000);

    gdscope()
        .args(resume)
        .assert()
        .success()
        .stdout(contains("1 completed"));
    let m = member_file(&out, id);
    assert_eq!(
        (m["attempt"].as_u64(), m["state"].as_str()),
        (Some(3), Some("completed"))
    );

    // The same sweep run in one go, on the same single compute thread.
    let reference = tmp.path().join("ref");
    let mut once = create.to_vec();
    once[4] = reference.to_str().unwrap();
    gdscope().args(&once).assert().success();
    let reference = reference.join("runs").join(id);
    let a = read_parquet(&out.join("runs").join(id).join("metrics.parquet")).unwrap();
    let b = read_parquet(&reference.join("metrics.parquet")).unwrap();
    assert_eq!(a.nrows(), 6000);
    for (name, column) in b.columns() {
        let (Some(x), Some(y)) = (a.f64_column(name), column.as_f64()) else {
            continue;
        };
        let first_difference = x
            .iter()
            .zip(y)
            .position(|(p, q)| p.to_bits() != q.to_bits());
        assert_eq!(
            first_difference, None,
            "resumed at steps {first} and {second}: `{name}` differs from the uninterrupted run"
        );
    }
    assert_eq!(
        std::fs::read(out.join("runs").join(id).join("weights.npy")).unwrap(),
        std::fs::read(reference.join("weights.npy")).unwrap()
    );
}

fn sigterm(pid: u32) {
    let ok = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill -TERM {pid}");
}

/// A sweep of forks, `--fork-from P --at-step T --grid optimizer.lr=…` (the checkpoint-
/// perturbation experiment): each member is the single fork `gdscope train --resume P --fork
/// … --at-step T --set optimizer.lr=…` — its rows before T bit for bit, the later ones to
/// rounding (a member computes inside its own one-thread pool, `gdscope train` from the main
/// thread, and the engine's parallel loss sum splits differently then; sweep members are
/// bitwise reproducible among themselves, see `interrupted_members_resume_…`). The tables
/// carry the lineage columns and every member's rows before T are the parent's.
#[test]
fn sweep_of_forks_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    let config = write_config(tmp.path(), TINY);
    let parent = tmp.path().join("parent");
    let p = parent.to_str().unwrap();
    gdscope()
        .args(["train", "--config", &config, "--out", p])
        .args(["--set", "checkpoint.keep_every=10"])
        .assert()
        .success();
    let out = tmp.path().join("kick");
    let out_s = out.to_str().unwrap();
    gdscope()
        .args(["sweep", "--fork-from", p, "--at-step", "10", "--out", out_s])
        .args([
            "--grid",
            "optimizer.lr=0.1,0.4",
            "--threads-per-worker",
            "1",
        ])
        .assert()
        .success()
        .stdout(contains("2 completed"))
        .stdout(contains("sweep.parquet (2 rows)"));
    let single = tmp.path().join("single");
    gdscope()
        .env("RAYON_NUM_THREADS", "1")
        .args(["train", "--resume", p, "--fork", single.to_str().unwrap()])
        .args(["--at-step", "10", "--set", "optimizer.lr=0.4"])
        .assert()
        .success();
    let member = read_parquet(&out.join("runs/001-lr0.4/metrics.parquet")).unwrap();
    let fork = read_parquet(&single.join("metrics.parquet")).unwrap();
    for name in ["loss", "sharpness", "lr", "train_loss", "update_cosine"] {
        let (a, b) = (
            member.f64_column(name).unwrap(),
            fork.f64_column(name).unwrap(),
        );
        assert_eq!(a.len(), 30);
        for (t, (x, y)) in a.iter().zip(b).enumerate() {
            if t < 10 {
                assert_eq!(x.to_bits(), y.to_bits(), "{name} at step {t}");
            } else {
                assert!(
                    x.to_bits() == y.to_bits() || (x - y).abs() <= 1e-12 * y.abs().max(1.0),
                    "{name} at step {t}: {x} vs {y}"
                );
            }
        }
    }

    let runs = read_parquet(&out.join("sweep.parquet")).unwrap();
    assert_eq!(
        runs.column("optimizer.lr"),
        Some(&Column::F64(vec![0.1, 0.4]))
    );
    assert_eq!(runs.column("fork.step"), Some(&Column::I64(vec![10, 10])));
    assert_eq!(
        runs.column("fork.changes.optimizer.lr"),
        Some(&Column::F64(vec![0.1, 0.4]))
    );
    let long = read_parquet(&out.join("metrics.parquet")).unwrap();
    assert_eq!(long.nrows(), 60);
    let parent_loss = read_parquet(&parent.join("metrics.parquet"))
        .unwrap()
        .f64_column("loss")
        .unwrap()
        .to_vec();
    let (loss, step) = (
        long.f64_column("loss").unwrap(),
        long.column("step").and_then(Column::as_i64).unwrap(),
    );
    for (i, s) in step.iter().enumerate() {
        if *s <= 10 {
            assert_eq!(loss[i], parent_loss[*s as usize], "step {s}");
        }
    }

    gdscope()
        .args([
            "sweep",
            "--fork-from",
            p,
            "--at-step",
            "99",
            "--grid",
            "seed=1,2",
        ])
        .args(["--out", tmp.path().join("late").to_str().unwrap()])
        .assert()
        .code(2)
        .stderr(contains("last checkpoint is at step 30"));
    gdscope()
        .args([
            "sweep",
            "--fork-from",
            p,
            "--config",
            &config,
            "--grid",
            "seed=1",
        ])
        .assert()
        .code(2)
        .stderr(contains("cannot be used with"));
}

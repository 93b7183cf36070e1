//! `gdscope sweep --backend slurm` against a real Slurm cluster: submission of an array,
//! status while it runs, `scancel` of one running task (recorded as cancelled), collect, and a
//! re-submission that runs only the cancelled member, resumed from its checkpoint.
//!
//! Needs a running Slurm (`scripts/slurm/local-cluster.sh up` starts one on this machine as
//! root), so it is ignored by a plain `cargo test` — visibly, with the reason — and run by CI
//! with:
//!
//! ```bash
//! eval "$(bash scripts/slurm/local-cluster.sh env)"
//! cargo test -p gdscope-cli --test sweep_slurm -- --ignored
//! ```
//!
//! When run, it fails (never skips) if Slurm does not answer.

use std::path::Path;
use std::process::Command as Process;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use gdscope_io::{read_parquet, Column};
use predicates::str::contains;

fn gdscope() -> Command {
    Command::cargo_bin("gdscope").unwrap()
}

/// Members of a few seconds: 3000 steps, a checkpoint every 300.
const MEMBER: &str = r#"
steps = 3000
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
every = 100
eval_every = 100
[checkpoint]
every = 300
[slurm]
cpus_per_task = 1
max_concurrent = 2
"#;

fn status(dir: &Path) -> serde_json::Value {
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

fn member(v: &serde_json::Value, i: usize) -> &serde_json::Value {
    &v["members"][i]
}

/// Polls `cond` on the status every 50 ms for at most `limit`.
fn wait_until(
    dir: &Path,
    what: &str,
    limit: u64,
    cond: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = Instant::now();
    loop {
        let v = status(dir);
        if cond(&v) {
            return v;
        }
        assert!(
            start.elapsed() < Duration::from_secs(limit),
            "not {what} within {limit} s; status: {v:#}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn queue_empty(job: &str) -> bool {
    let out = Process::new("squeue")
        .args(["-h", "-j", job])
        .output()
        .unwrap();
    out.status.success() && out.stdout.iter().all(u8::is_ascii_whitespace)
}

fn job_of(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("submitted: job "))
        .and_then(|rest| rest.split(',').next())
        .unwrap_or_else(|| panic!("no job id in:\n{stdout}"))
        .to_string()
}

#[test]
#[ignore = "needs a running Slurm: bash scripts/slurm/local-cluster.sh up, then run with --ignored (CI does)"]
fn slurm_array_sweep_status_scancel_collect_and_resubmit() {
    let sinfo = Process::new("sinfo").arg("-h").output();
    assert!(
        sinfo.as_ref().is_ok_and(|o| o.status.success()),
        "Slurm does not answer (sinfo: {sinfo:?}); start it with `bash scripts/slurm/local-cluster.sh up` and export SLURM_CONF"
    );
    let tmp = tempfile::tempdir().unwrap();
    let config = tmp.path().join("base.toml");
    std::fs::write(&config, MEMBER).unwrap();
    let dir = tmp.path().join("sw");
    let dir_s = dir.to_str().unwrap();

    let out = gdscope()
        .args([
            "sweep",
            "--config",
            config.to_str().unwrap(),
            "--out",
            dir_s,
        ])
        .args([
            "--grid",
            "optimizer.lr=0.05,0.1,0.2,0.3",
            "--backend",
            "slurm",
        ])
        .assert()
        .success()
        .stdout(contains("members [0, 1, 2, 3]"));
    let job = job_of(&String::from_utf8_lossy(&out.get_output().stdout));
    let script = std::fs::read_to_string(dir.join("slurm/submit-1.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0-3%2"), "{script}");
    assert!(script.contains("#SBATCH --cpus-per-task=1"), "{script}");
    let manifest = std::fs::read_to_string(dir.join("sweep.toml")).unwrap();
    assert!(
        manifest.contains(&format!("job_id = \"{job}\"")),
        "{manifest}"
    );

    // Status while it runs: member 0 running past its first checkpoint (step 300; steps_done
    // counts the rows streamed to metrics.csv), members 2 and 3 queued.
    let v = wait_until(&dir, "running with a checkpoint", 120, |v| {
        member(v, 0)["state"] == "running" && member(v, 0)["steps_done"].as_u64().unwrap_or(0) > 300
    });
    assert_eq!(member(&v, 0)["slurm_task"], format!("{job}_0"));
    assert!(
        ["pending", "running"].contains(&member(&v, 3)["state"].as_str().unwrap()),
        "{v:#}"
    );

    // Cancel the running task 0: SIGTERM, recorded as cancelled; the others go on.
    let ok = Process::new("scancel")
        .arg(format!("{job}_0"))
        .status()
        .unwrap();
    assert!(ok.success());
    let start = Instant::now();
    while !queue_empty(&job) {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "job {job} still queued"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let v = status(&dir);
    assert_eq!(member(&v, 0)["state"], "cancelled", "{v:#}");
    let reason = member(&v, 0)["reason"].as_str().unwrap();
    assert!(reason.contains("SIGTERM"), "{reason}");
    for i in 1..4 {
        assert_eq!(member(&v, i)["state"], "completed", "member {i}: {v:#}");
    }
    let log = std::fs::read_dir(dir.join("runs/001-lr0.1"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!("slurm-{job}_1"))
        });
    assert!(
        log.is_some(),
        "the Slurm log of task 1 is in its run directory"
    );

    gdscope()
        .args(["sweep", "collect", dir_s])
        .assert()
        .success()
        .stdout(contains("sweep.parquet (4 rows)"));
    let runs = read_parquet(&dir.join("sweep.parquet")).unwrap();
    let states = runs
        .column("status")
        .and_then(Column::as_str)
        .unwrap()
        .to_vec();
    assert_eq!(states, ["cancelled", "completed", "completed", "completed"]);
    assert_eq!(
        runs.column("optimizer.lr"),
        Some(&Column::F64(vec![0.05, 0.1, 0.2, 0.3]))
    );

    // Re-submission runs only member 0, from its checkpoint.
    let out = gdscope()
        .args(["sweep", "--resume", dir_s, "--backend", "slurm"])
        .assert()
        .success()
        .stdout(contains("members [0]"))
        .stdout(contains("skipped:   1 completed, 2 completed, 3 completed"));
    let job2 = job_of(&String::from_utf8_lossy(&out.get_output().stdout));
    let script = std::fs::read_to_string(dir.join("slurm/submit-2.sh")).unwrap();
    assert!(script.contains("#SBATCH --array=0%2"), "{script}");
    wait_until(&dir, "completed after re-submission", 180, |v| {
        member(v, 0)["state"] == "completed"
    });
    let m: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("runs/000-lr0.05/member.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(m["attempt"], 2);
    assert_eq!(m["slurm_task"], format!("{job2}_0"));
    assert!(m["resumed_from_step"].as_u64().unwrap() >= 300, "{m}");
    let runs_before: Vec<u64> = (1..4)
        .map(|i| status(&dir)["members"][i]["attempt"].as_u64().unwrap())
        .collect();
    assert_eq!(
        runs_before,
        [1, 1, 1],
        "completed members were not run again"
    );

    gdscope()
        .args(["sweep", "collect", dir_s])
        .assert()
        .success();
    let runs = read_parquet(&dir.join("sweep.parquet")).unwrap();
    let states = runs
        .column("status")
        .and_then(Column::as_str)
        .unwrap()
        .to_vec();
    assert_eq!(states, ["completed"; 4]);
    // Every member has a summary now, so the integer field is an integer column.
    assert_eq!(runs.column("steps_run"), Some(&Column::I64(vec![3000; 4])));
}

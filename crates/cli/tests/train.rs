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
        .stderr(contains("cannot be used with --resume"))
        .stderr(contains("--fork NEWDIR"));
}

/// `--resume PARENT --fork NEWDIR --at-step T --set …`: the child run, its lineage on stdout
/// and in config.toml, `--print-config` of a fork, and the flags' rules.
#[test]
fn fork_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let (parent, child) = (dir.path().join("parent"), dir.path().join("child"));
    let (p, c) = (parent.to_str().unwrap(), child.to_str().unwrap());
    gdscope()
        .args([
            "train",
            "--out",
            p,
            "--set",
            "steps=20",
            "--set",
            "checkpoint.keep_every=5",
        ])
        .args(TINY)
        .assert()
        .success();
    assert!(parent.join("checkpoints/step-00000010.bin").is_file());
    gdscope()
        .args([
            "train",
            "--resume",
            p,
            "--fork",
            c,
            "--at-step",
            "10",
            "--print-config",
        ])
        .args(["--set", "optimizer.lr=0.1"])
        .assert()
        .success()
        .stdout(contains("[fork]"))
        .stdout(contains("step = 10"))
        .stdout(contains("\"optimizer.lr\" = 0.1"));
    assert!(!child.exists(), "--print-config writes nothing");
    gdscope()
        .args(["train", "--resume", p, "--fork", c, "--at-step", "10"])
        .args(["--set", "optimizer.lr=0.1"])
        .assert()
        .success()
        .stdout(contains("fork of:"))
        .stdout(contains("at step 10 (optimizer.lr=0.1)"));
    let config = std::fs::read_to_string(child.join("config.toml")).unwrap();
    assert!(
        config.contains("[fork]") && config.contains("lr = 0.1"),
        "{config}"
    );
    let tc = gdscope_io::read_parquet(&child.join("metrics.parquet")).unwrap();
    let tp = gdscope_io::read_parquet(&parent.join("metrics.parquet")).unwrap();
    assert_eq!(tc.nrows(), 20);
    let (lc, lp) = (
        tc.f64_column("loss").unwrap(),
        tp.f64_column("loss").unwrap(),
    );
    assert_eq!(
        lc[..11],
        lp[..11],
        "the parent's rows, and the same loss at step 10"
    );
    assert_ne!(lc[11], lp[11]);
    gdscope()
        .args(["train", "--fork", c])
        .assert()
        .code(2)
        .stderr(contains("--resume"));
    gdscope()
        .args(["train", "--resume", p, "--fork", c, "--at-step", "10"])
        .assert()
        .code(2)
        .stderr(contains("already holds a run"));
    gdscope()
        .args([
            "train",
            "--resume",
            p,
            "--fork",
            c,
            "--at-step",
            "30",
            "--overwrite",
        ])
        .assert()
        .code(2)
        .stderr(contains("last checkpoint is at step 20"));
}

/// Issue 12 item 5 (docs/engine.md §"Reproducibility"): identical runs with tracking on
/// (eigenpairs, trace, evaluation, two processes) write the same bits — repeated, and with 1, 2
/// and 3 threads. The network and data are large enough (3000 examples, 64-wide layers) that
/// GEMMs, activation kernels and loss reductions all take their multi-threaded paths; before
/// the loss was summed in a fixed order, the `loss` column differed in its last bit between
/// thread counts and from run to run.
#[test]
fn identical_runs_are_bitwise_identical_for_every_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str, threads: &str| {
        let out = dir.path().join(name);
        gdscope()
            .env("RAYON_NUM_THREADS", threads)
            .args(["train", "--out", out.to_str().unwrap()])
            .args(["--set", "model.spec=mlp:20-64-64-4:gelu-tanh"])
            .args(["--set", "data.n=3000", "--set", "steps=40"])
            .args([
                "--set",
                "tracking.every=5",
                "--set",
                "tracking.eval_every=5",
            ])
            .args([
                "--set",
                "tracking.trace_every=10",
                "--set",
                "tracking.trace_probes=4",
            ])
            .args(["--set", "processes=[\"discrete\", \"midpoint\"]"])
            .assert()
            .success();
        // metrics.csv holds every float in shortest round-trip form: equal text = equal bits.
        ["metrics.csv", "weights.npy", "checkpoint.bin"]
            .map(|f| std::fs::read(out.join(f)).unwrap_or_else(|e| panic!("{name}/{f}: {e}")))
    };
    let reference = run("two", "2");
    let log = String::from_utf8(reference[0].clone()).unwrap();
    // Tracking really ran: at step 10 every measured column holds a number.
    let header: Vec<&str> = log.lines().next().unwrap().split(',').collect();
    let step10: Vec<&str> = log.lines().nth(11).unwrap().split(',').collect();
    for column in ["loss", "sharpness", "trace", "train_loss", "midpoint.eig_1"] {
        let at = header.iter().position(|h| *h == column).unwrap();
        assert!(step10[at].parse::<f64>().unwrap().is_finite(), "{column}");
    }
    for (name, threads) in [("two-again", "2"), ("one", "1"), ("three", "3")] {
        let again = run(name, threads);
        for (file, (a, b)) in ["metrics.csv", "weights.npy", "checkpoint.bin"]
            .iter()
            .zip(reference.iter().zip(&again))
        {
            assert!(a == b, "{file} differs with {threads} thread(s) ({name})");
        }
    }
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

/// Starts a long tiny run with every process, waits until its log holds `rows` rows and
/// `checkpoint.bin` exists, sends `signal`, and returns its output.
fn interrupt_after(out: &std::path::Path, rows: usize, signal: i32) -> std::process::Output {
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("gdscope"))
        .args(["train", "--out", out.to_str().unwrap()])
        .args(TINY)
        .args([
            "--set",
            "steps=10000000",
            "--set",
            "processes=[\"discrete\", \"midpoint\", \"stable\"]",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let clock = std::time::Instant::now();
    loop {
        let n = std::fs::read_to_string(out.join("metrics.csv")).map_or(0, |t| t.lines().count());
        if n > rows && out.join("checkpoint.bin").is_file() {
            break;
        }
        assert!(clock.elapsed().as_secs() < 120, "the run did not start");
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    // SAFETY: kill(2) on the pid of our own child.
    unsafe { libc::kill(child.id() as i32, signal) };
    child.wait_with_output().unwrap()
}

/// Resumes the interrupted run `out` to its checkpoint's step + `more` and checks that its
/// metrics log equals, byte for byte (floats in shortest round-trip form), that of an
/// uninterrupted run of as many steps with every process.
fn resumed_equals_uninterrupted(out: &std::path::Path, more: u64) {
    let ckpt = gdscope_train::checkpoint::Checkpoint::load(out).unwrap();
    let steps = ckpt.driver.step + more;
    gdscope()
        .args(["train", "--resume", out.to_str().unwrap()])
        .args(["--set", &format!("steps={steps}")])
        .assert()
        .success();
    let reference = out.with_extension("reference");
    gdscope()
        .args(["train", "--out", reference.to_str().unwrap()])
        .args(TINY)
        .args([
            "--set",
            &format!("steps={steps}"),
            "--set",
            "processes=[\"discrete\", \"midpoint\", \"stable\"]",
        ])
        .assert()
        .success();
    let log = |d: &std::path::Path| std::fs::read(d.join("metrics.csv")).unwrap();
    assert_eq!(log(&reference), log(out));
}

/// SIGINT and SIGTERM: a final checkpoint and the metrics so far, a message with the resume
/// command, exit 128 + signal; resuming ends bit for bit as an uninterrupted run.
#[test]
fn sigint_and_sigterm_lose_nothing() {
    for (signal, code) in [(libc::SIGINT, 130), (libc::SIGTERM, 143)] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("run");
        let o = interrupt_after(&out, 30, signal);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{stderr}");
        assert!(
            stderr.contains("resume with: gdscope train --resume"),
            "{stderr}"
        );
        for f in [
            "checkpoint.bin",
            "metrics.parquet",
            "summary.json",
            "loss.png",
        ] {
            assert!(out.join(f).is_file(), "missing {f}");
        }
        let ckpt = gdscope_train::checkpoint::Checkpoint::load(&out).unwrap();
        let rows = gdscope_io::read_parquet(&out.join("metrics.parquet"))
            .unwrap()
            .nrows();
        assert_eq!(
            rows as u64, ckpt.driver.step,
            "metrics so far = steps checkpointed"
        );
        resumed_equals_uninterrupted(&out, 15);
    }
}

/// SIGKILL between checkpoints: `--resume` continues from the last checkpoint, the rows the
/// killed run wrote after it are replaced, and the result equals an uninterrupted run.
#[test]
fn sigkill_resumes_from_the_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = interrupt_after(&out, 45, libc::SIGKILL);
    assert_eq!(o.status.code(), None);
    resumed_equals_uninterrupted(&out, 25);
}

/// Progress lines on a non-terminal stderr (Slurm logs); config errors with field and line.
#[test]
fn progress_lines_and_config_errors_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    gdscope()
        .args(["train", "--out", dir.path().join("p").to_str().unwrap()])
        .args(TINY)
        .args(["--set", "steps=40"])
        .assert()
        .success()
        .stderr(contains("step 20/40  loss"))
        .stderr(contains("step 40/40"));
    let cfg = dir.path().join("bad.toml");
    std::fs::write(
        &cfg,
        "steps = 10\n[optimizer]\nkind = \"gd\"\nlr = \"fast\"\n",
    )
    .unwrap();
    gdscope()
        .args(["train", "--config", cfg.to_str().unwrap(), "--print-config"])
        .assert()
        .code(2)
        .stderr(contains("optimizer.lr"))
        .stderr(contains("line 4"));
}

/// The stable-flow example runs GD beside its gradient flow and midpoints (quick version).
#[test]
fn stable_flow_example_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("flow");
    gdscope()
        .args(["train", "--config", "../../examples/stable-flow.toml"])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--set",
            "steps=30",
            "--json",
        ])
        .assert()
        .success()
        .stdout(contains(
            "\"processes\":[\"discrete\",\"midpoint\",\"stable\"]",
        ));
    let t = gdscope_io::read_parquet(&out.join("metrics.parquet")).unwrap();
    let wanted = [
        "loss",
        "stable.loss",
        "midpoint.loss",
        "distance.discrete-stable",
    ];
    let missing: Vec<&str> = wanted
        .into_iter()
        .filter(|c| t.column(c).is_none())
        .collect();
    assert!(missing.is_empty(), "missing columns {missing:?}");
    assert!(out.join("distance.png").is_file());
}

//! Run directories end to end on a tiny network: bounded checkpoints with checksums, resume
//! bit for bit with three processes, minibatches and a schedule, starts that fail early,
//! `--overwrite`, and initial weights from a `.npy`.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gdscope_train::checkpoint::{Checkpoint, CHECKPOINT_FILE};
use gdscope_train::config::TrainConfig;
use gdscope_train::run::{self, RunOptions};

/// A 5-8-3 MLP on 40 examples in f64 with every process.
fn tiny(extra: &str) -> TrainConfig {
    let text = format!(
        "steps = 40\ndtype = \"f64\"\nbatch_size = 8\nprocesses = [\"discrete\", \"midpoint\", \"stable\"]\n\
         [model]\nspec = \"mlp:5-8-3:tanh\"\n[data]\nkind = \"synthetic-linear\"\nn = 40\nd = 5\nk = 3\n\
         [optimizer]\nkind = \"gd\"\nlr = 0.2\n[schedule]\nkind = \"cosine\"\nwarmup_steps = 5\nfinal_factor = 0.3\n\
         [tracking]\nevery = 5\neval_every = 5\n[checkpoint]\nevery = 10\n{extra}"
    );
    TrainConfig::from_toml(&text, &[]).unwrap()
}

fn bits(dir: &Path) -> Vec<(String, Vec<u64>)> {
    let t = gdscope_io::read_parquet(&dir.join("metrics.parquet")).unwrap();
    t.columns()
        .map(|(name, col)| {
            let v = match (col.as_f64(), col.as_i64()) {
                (Some(x), _) => x.iter().map(|f| f.to_bits()).collect(),
                (None, Some(x)) => x.iter().map(|&i| i as u64).collect(),
                _ => panic!("unexpected column type {name}"),
            };
            (name.to_string(), v)
        })
        .collect()
}

/// Checkpoints hold state only: after 1000 steps the file is within 1% of its size after
/// 100 steps (the metrics live in `metrics.csv`).
#[test]
fn checkpoint_size_does_not_grow_with_steps() {
    let dir = tempfile::tempdir().unwrap();
    let mut sizes = Vec::new();
    for steps in [100u64, 1000] {
        let mut c = tiny("");
        c.steps = steps;
        c.checkpoint.every = 0;
        let out = dir.path().join(format!("s{steps}"));
        run::start(c, &out, false, false).unwrap();
        sizes.push(std::fs::metadata(out.join(CHECKPOINT_FILE)).unwrap().len() as f64);
    }
    eprintln!(
        "checkpoint.bin after 100 steps: {} bytes, after 1000: {} bytes",
        sizes[0], sizes[1]
    );
    assert!((sizes[1] - sizes[0]).abs() < 0.01 * sizes[0], "{sizes:?}");
}

/// A flipped bit anywhere in the checkpoint is caught by the checksum, with a clear error.
#[test]
fn corrupted_checkpoint_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run::start(tiny(""), &out, false, false).unwrap();
    let path = out.join(CHECKPOINT_FILE);
    let good = std::fs::read(&path).unwrap();
    for at in [9, good.len() / 2, good.len() - 6] {
        let mut bad = good.clone();
        bad[at] ^= 0x10;
        std::fs::write(&path, &bad).unwrap();
        let e = format!("{:#}", run::resume(&out, None, false).unwrap_err());
        assert!(
            e.contains("corrupted") && e.contains("checkpoint.bin"),
            "{e}"
        );
    }
    std::fs::write(&path, &good).unwrap();
    assert!(Checkpoint::load(&out).is_ok());
}

/// Runs `config` into `dir` and raises the stop flag (as the CLI's SIGINT/SIGTERM handler
/// does) once the metrics log holds `rows` rows; returns whether the run was interrupted.
fn run_and_stop_after(config: TrainConfig, dir: &Path, rows: usize) -> bool {
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (stop, log) = (stop.clone(), dir.join("metrics.csv"));
        std::thread::spawn(move || loop {
            let n = std::fs::read_to_string(&log).map_or(0, |t| t.lines().count());
            if n > rows || stop.load(Ordering::SeqCst) {
                stop.store(true, Ordering::SeqCst);
                return;
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        })
    };
    let options = RunOptions {
        stop: Some(stop.clone()),
        ..RunOptions::default()
    };
    let report = run::start_with(config, dir, &options).unwrap();
    stop.store(true, Ordering::SeqCst);
    watcher.join().unwrap();
    report.interrupted
}

/// `dir/a`: a 600-step run; `dir/b`: the same run stopped after about 20 steps.
fn uninterrupted_and_stopped(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let (a, b) = (dir.join("a"), dir.join("b"));
    let config = tiny("").with_steps(600);
    run::start(config.clone(), &a, false, false).unwrap();
    assert!(
        run_and_stop_after(config, &b, 20),
        "the run finished before the stop"
    );
    (a, b)
}

/// Interrupted (stop flag, as SIGINT/SIGTERM) and resumed: metrics, weights and the final
/// checkpoint equal those of an uninterrupted run, bit for bit — with discrete + midpoint +
/// stable, minibatches and a cosine schedule.
#[test]
fn interrupted_and_resumed_equals_uninterrupted() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = uninterrupted_and_stopped(dir.path());
    let ckpt = Checkpoint::load(&b).unwrap();
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(b.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted_at"], ckpt.driver.step);
    assert!(b.join("metrics.parquet").is_file());
    let resumed = run::resume(&b, None, false).unwrap();
    assert!(!resumed.interrupted && resumed.summary.steps_run == 600);
    assert_eq!(bits(&a), bits(&b));
    assert_eq!(
        std::fs::read(a.join("weights.npy")).unwrap(),
        std::fs::read(b.join("weights.npy")).unwrap()
    );
    assert_eq!(
        std::fs::read(a.join(CHECKPOINT_FILE)).unwrap(),
        std::fs::read(b.join(CHECKPOINT_FILE)).unwrap()
    );
    for col in [
        "distance.discrete-stable",
        "midpoint.loss",
        "stable.substeps",
        "eig_1",
    ] {
        assert!(bits(&a).iter().any(|(n, _)| n == col), "missing {col}");
    }
}

/// A run killed between checkpoints (its log holds rows past the checkpoint, the last one
/// cut off) resumes from the checkpoint with the metrics up to it intact and ends bit for bit
/// as an uninterrupted run.
#[test]
fn killed_run_resumes_from_its_last_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = uninterrupted_and_stopped(dir.path());
    // What a kill after the checkpoint leaves: more rows and half a row in the log.
    let log = b.join("metrics.csv");
    let mut text = std::fs::read_to_string(&log).unwrap();
    let last = text.lines().last().unwrap().to_string();
    text.push_str(&format!("{last}\n{last}\n17,0.5"));
    std::fs::write(&log, text).unwrap();
    run::resume(&b, None, false).unwrap();
    assert_eq!(bits(&a), bits(&b));
}

trait WithSteps {
    fn with_steps(self, steps: u64) -> Self;
}

impl WithSteps for TrainConfig {
    fn with_steps(mut self, steps: u64) -> Self {
        self.steps = steps;
        self.checkpoint.every = 7;
        self.tracking.every = 25;
        self.tracking.eval_every = 25;
        self.process.stable.tracking.every = Some(25);
        self
    }
}

/// A run that fails before its first step leaves the directory usable; a directory left by
/// such a run of an older version (only `config.toml`) is too.
#[test]
fn failed_start_does_not_block_a_corrected_rerun() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let mut bad = tiny("");
    bad.batch_size = 1000;
    let e = format!("{:#}", run::start(bad, &out, false, false).unwrap_err());
    assert!(
        e.contains("batch_size = 1000") && !e.contains("optimizer.batch_size"),
        "{e}"
    );
    assert!(!out.exists() || std::fs::read_dir(&out).unwrap().next().is_none());
    run::start(tiny(""), &out, false, false).unwrap();

    let legacy = dir.path().join("legacy");
    std::fs::create_dir_all(&legacy).unwrap();
    std::fs::write(legacy.join("config.toml"), "steps = 1\n").unwrap();
    run::start(tiny(""), &legacy, false, false).unwrap();
}

/// `--overwrite` removes the old run's files (no stale figures) and nothing else; without it
/// a run directory is never replaced.
#[test]
fn overwrite_removes_the_old_runs_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    run::start(tiny(""), &out, false, false).unwrap();
    assert!(out.join("distance.png").is_file());
    std::fs::write(out.join("notes.txt"), "mine").unwrap();
    let e = format!(
        "{:#}",
        run::start(tiny(""), &out, false, false).unwrap_err()
    );
    assert!(
        e.contains("already holds a run") && e.contains("--overwrite"),
        "{e}"
    );
    let mut single = tiny("");
    single.processes = vec![gdscope_train::dynamics::ProcessName::Discrete];
    run::start(single, &out, true, false).unwrap();
    assert!(
        !out.join("distance.png").exists(),
        "stale figure of the old run"
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "mine"
    );
    assert!(out.join("metrics.parquet").is_file() && out.join("loss.png").is_file());
}

/// `model.init = "npy:PATH"` starts from the user's weights (f32 or f64), `weights_init.npy`
/// records them, and a wrong length names the expected count and the layout.
#[test]
fn initial_weights_from_npy() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("seeded");
    run::start(tiny(""), &out, false, false).unwrap();
    let w0 = gdscope_io::npy::read_npy(&out.join("weights_init.npy")).unwrap();
    assert_eq!(w0.shape, vec![5 * 8 + 8 + 8 * 3 + 3]);
    let mine: Vec<f64> = w0.data.iter().map(|x| 0.5 * x).collect();
    let path = dir.path().join("w.npy");
    let arr = gdscope_io::npy::NdArray::from_f64(vec![mine.len()], mine.clone())
        .unwrap()
        .with_dtype("float32")
        .unwrap();
    gdscope_io::npy::write_npy_array(&path, &arr).unwrap();
    let init = format!(
        "[model]\nspec = \"mlp:5-8-3:tanh\"\ninit = \"npy:{}\"\n",
        path.display()
    );
    let mut c = tiny("");
    c.model = TrainConfig::from_toml(&init, &[]).unwrap().model;
    let out2 = dir.path().join("mine");
    run::start(c.clone(), &out2, false, false).unwrap();
    let got = gdscope_io::npy::read_npy(&out2.join("weights_init.npy")).unwrap();
    for (g, m) in got.data.iter().zip(&mine) {
        assert_eq!(*g, *m as f32 as f64);
    }
    let short = gdscope_io::npy::NdArray::from_f64(vec![10], vec![0.0; 10]).unwrap();
    gdscope_io::npy::write_npy_array(&path, &short).unwrap();
    let e = format!(
        "{:#}",
        run::start(c, &dir.path().join("bad"), false, false).unwrap_err()
    );
    assert!(
        e.contains("75 parameters") && e.contains("layer0.weight [5, 8]") && e.contains("[10]"),
        "{e}"
    );
}

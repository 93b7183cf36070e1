//! Forks end to end on a tiny network: a fork at step T with a changed learning rate equals,
//! step for step and bit for bit, a fresh run started from the parent's step-T state with
//! that rate — with three processes, minibatches (the batch order is a function of (seed,
//! epoch)) and a schedule; forks at steps without a kept checkpoint (replayed) equal it too;
//! the parent is untouched; lineage; kept checkpoints; refusals.

use std::collections::BTreeMap;
use std::path::Path;

use gdscope_train::checkpoint::{retained_path, retained_steps, Checkpoint};
use gdscope_train::config::TrainConfig;
use gdscope_train::dynamics::{Driver, DriverState, Status};
use gdscope_train::metrics::read_log;
use gdscope_train::network::NetworkProblem;
use gdscope_train::run::{self, RunOptions};

/// A 5-8-3 MLP on 40 examples in f64, every process, batches of 8 (5 per epoch), a cosine
/// schedule; checkpoints every 4 steps, the latest 2 kept, and every multiple of 6 kept for good.
fn parent_config() -> TrainConfig {
    let text = "steps = 40\ndtype = \"f64\"\nbatch_size = 8\nprocesses = [\"discrete\", \"midpoint\", \"stable\"]\n\
         [model]\nspec = \"mlp:5-8-3:tanh\"\n[data]\nkind = \"synthetic-linear\"\nn = 40\nd = 5\nk = 3\n\
         [optimizer]\nkind = \"gd\"\nlr = 0.2\n[schedule]\nkind = \"cosine\"\nwarmup_steps = 5\nfinal_factor = 0.3\n\
         [tracking]\nevery = 5\neval_every = 5\n[checkpoint]\nevery = 4\nkeep = 2\nkeep_every = 6\n";
    TrainConfig::from_toml(text, &[]).unwrap()
}

fn quiet() -> RunOptions {
    RunOptions::default()
}

/// Every step's record as bits: step → values.
type Rows = BTreeMap<u64, Vec<u64>>;

fn log_rows(dir: &Path) -> (Vec<String>, Rows) {
    let t = read_log(&dir.join("metrics.csv"), None).unwrap();
    let names: Vec<String> = t
        .names()
        .map(String::from)
        .filter(|n| n != "step")
        .collect();
    let steps = t.column("step").unwrap().as_i64().unwrap().to_vec();
    let mut rows = Rows::new();
    for (i, s) in steps.iter().enumerate() {
        let v = names
            .iter()
            .map(|n| t.f64_column(n).unwrap()[i].to_bits())
            .collect();
        rows.insert(*s as u64, v);
    }
    (names, rows)
}

/// A fresh run, in memory, of `config` started from `state` (the parent's state after T
/// steps): its records and final weights, as bits.
fn fresh_run_from(config: &TrainConfig, mut state: DriverState) -> (Vec<String>, Rows, Vec<u64>) {
    state.status = Status::Running;
    let net = NetworkProblem::build(config).unwrap();
    let mut driver = Driver::resume(config.run_spec(), net.problem(), state).unwrap();
    let names = driver.schema().names().to_vec();
    let mut rows = Rows::new();
    while let Some(r) = driver.step(net.problem()).unwrap() {
        rows.insert(r.step, r.values.iter().map(|v| v.to_bits()).collect());
    }
    let w = driver.weights().iter().map(|v| v.to_bits()).collect();
    (names, rows, w)
}

/// The parent's state after `t` steps, computed in memory from its start.
fn parent_state_in_memory(parent: &TrainConfig, t: u64) -> DriverState {
    let net = NetworkProblem::build(parent).unwrap();
    let w0 = net.init_weights(parent).unwrap();
    let mut driver = Driver::new(parent.run_spec(), net.problem(), w0).unwrap();
    for _ in 0..t {
        driver.step(net.problem()).unwrap().unwrap();
    }
    driver.save().unwrap()
}

fn weight_bits(dir: &Path) -> Vec<u64> {
    gdscope_io::npy::read_npy(&dir.join("weights.npy"))
        .unwrap()
        .data
        .iter()
        .map(|v| v.to_bits())
        .collect()
}

/// Every file of a directory tree with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in walk(dir) {
        out.insert(
            e.strip_prefix(dir).unwrap().display().to_string(),
            std::fs::read(&e).unwrap(),
        );
    }
    out
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}

/// Asserts the child's log: the parent's rows before `t`, then exactly `expected` from `t`.
fn assert_fork_rows(child: &Path, parent: &Path, t: u64, expected: &(Vec<String>, Rows, Vec<u64>)) {
    let (names, rows) = log_rows(child);
    let (pnames, prows) = log_rows(parent);
    assert_eq!(names, expected.0);
    assert_eq!(names, pnames);
    for s in 0..t {
        assert_eq!(rows[&s], prows[&s], "row {s} is not the parent's");
    }
    let own: Rows = rows.range(t..).map(|(k, v)| (*k, v.clone())).collect();
    assert_eq!(own.len(), 40 - t as usize);
    assert_eq!(
        own, expected.1,
        "the fork's rows differ from the fresh run's"
    );
    assert_eq!(weight_bits(child), expected.2);
}

/// The test the issue asks for: a fork at step T with a changed learning rate equals, step
/// for step and bit for bit, a fresh run started from the parent's step-T state with that
/// rate. T = 18 is inside an epoch (5 batches per epoch), so the fork must continue the
/// parent's epoch permutation at batch 3. Also: forks at steps without a kept checkpoint
/// (replayed from the nearest earlier one, or from the start), the parent untouched, and a
/// fork without changes is the parent's own continuation.
#[test]
fn fork_equals_a_fresh_run_from_the_parents_state() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent");
    let pc = parent_config();
    run::start_with(pc.clone(), &parent, &quiet()).unwrap();
    // Kept for good: the multiples of 6; the rolling two: 32 and the final 40 (4 … 28 dropped).
    assert_eq!(
        retained_steps(&parent),
        [0, 6, 12, 18, 24, 30, 32, 36, 40],
        "kept checkpoints"
    );
    let before = snapshot(&parent);

    // At a kept checkpoint.
    let lr = ["optimizer.lr=0.1".to_string()];
    let child = dir.path().join("lr01");
    let report = run::fork_with(&parent, Some(18), &lr, &child, &quiet()).unwrap();
    assert_eq!(report.summary.status, Status::Completed);
    let mut cc = pc.clone();
    cc.optimizer = TrainConfig::from_toml("", &lr).unwrap().optimizer;
    let kept = Checkpoint::load_file(&retained_path(&parent, 18)).unwrap();
    assert_eq!(kept.driver.step, 18);
    let fresh = fresh_run_from(&cc, kept.driver.clone());
    assert_fork_rows(&child, &parent, 18, &fresh);
    // The child saw the parent's batch at step 18: same weights, same examples, same loss
    // (the loss is measured before the update, so the rate does not enter it).
    let (names, rows) = log_rows(&child);
    let (_, prows) = log_rows(&parent);
    let loss = names.iter().position(|n| n == "loss").unwrap();
    let lr_col = names.iter().position(|n| n == "lr").unwrap();
    assert_eq!(rows[&18][loss], prows[&18][loss]);
    assert_ne!(rows[&18][lr_col], prows[&18][lr_col]);
    assert_ne!(rows[&19][loss], prows[&19][loss]);

    // Between kept checkpoints: replayed from 18 (and from the start for 3), the same.
    for (t, from) in [(21u64, 18u64), (3, 0)] {
        let out = dir.path().join(format!("lr01-at{t}"));
        let r = run::fork_with(&parent, Some(t), &lr, &out, &quiet()).unwrap();
        let f = r.summary.fork.as_ref().unwrap();
        assert_eq!((f.step, f.replayed_from), (t, Some(from)));
        let fresh = fresh_run_from(&cc, parent_state_in_memory(&pc, t));
        assert_fork_rows(&out, &parent, t, &fresh);
    }

    // No changes: the fork is the parent's own continuation.
    let same = dir.path().join("same");
    run::fork_with(&parent, Some(24), &[], &same, &quiet()).unwrap();
    assert_eq!(log_rows(&same), log_rows(&parent));
    assert_eq!(weight_bits(&same), weight_bits(&parent));

    assert_eq!(snapshot(&parent), before, "the parent was modified");
}

/// The fork's config and summary record the lineage; a fork of a fork; the fork's figures
/// and tables cover the whole history; a fork resumes like any run.
#[test]
fn lineage_is_recorded_and_forks_resume() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent");
    run::start_with(parent_config(), &parent, &quiet()).unwrap();
    let child = dir.path().join("child");
    let sets = ["optimizer.lr=0.1".to_string(), "steps=50".to_string()];
    run::fork_with(&parent, Some(12), &sets, &child, &quiet()).unwrap();
    let config = TrainConfig::load(&child.join("config.toml"), &[]).unwrap();
    let fork = config.fork.clone().unwrap();
    assert_eq!(fork.parent, std::path::absolute(&parent).unwrap());
    assert_eq!(fork.step, 12);
    assert_eq!(fork.replayed_from, None);
    let keys: Vec<&str> = fork.changes.keys().map(String::as_str).collect();
    assert_eq!(keys, ["optimizer.lr", "steps"]);
    let text = std::fs::read_to_string(child.join("config.toml")).unwrap();
    assert!(
        text.contains("[fork]") && text.contains("step = 12"),
        "{text}"
    );
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(child.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["fork"]["step"], 12);
    assert_eq!(summary["fork"]["changes"]["optimizer.lr"], 0.1);
    assert_eq!(summary["steps_run"], 50);
    let table = gdscope_io::read_parquet(&child.join("metrics.parquet")).unwrap();
    assert_eq!(table.nrows(), 50);

    // A fork of the fork, with smaller batches and another seed from step 30.
    let grandchild = dir.path().join("grandchild");
    let sets = ["batch_size=4".to_string(), "seed=3".to_string()];
    run::fork_with(&child, Some(30), &sets, &grandchild, &quiet()).unwrap();
    let g = TrainConfig::load(&grandchild.join("config.toml"), &[]).unwrap();
    assert_eq!(
        g.fork.as_ref().unwrap().parent,
        std::path::absolute(&child).unwrap()
    );
    assert_eq!(g.steps, 50);
    let (_, grows) = log_rows(&grandchild);
    let (_, crows) = log_rows(&child);
    let (_, prows) = log_rows(&parent);
    assert_eq!(grows[&11], prows[&11]);
    assert_eq!(grows[&29], crows[&29]);

    // Stopped after its start and resumed, the fork ends as the uninterrupted one.
    let again = dir.path().join("again");
    let config = gdscope_train::fork::fork_config(
        &parent,
        Some(12),
        &["optimizer.lr=0.1".into(), "steps=50".into()],
    )
    .unwrap();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let options = RunOptions {
        stop: Some(stop),
        ..RunOptions::default()
    };
    let r = run::start_with(config, &again, &options).unwrap();
    assert!(r.interrupted && r.summary.steps_run == 12);
    run::resume(&again, None, false).unwrap();
    assert_eq!(log_rows(&again), log_rows(&child));
    assert_eq!(weight_bits(&again), weight_bits(&child));
}

/// What a fork refuses, with messages that say why and what to do.
#[test]
fn forks_refuse_what_cannot_continue_the_parent() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent");
    let mut pc = parent_config();
    pc.steps = 12;
    run::start_with(pc, &parent, &quiet()).unwrap();
    let out = dir.path().join("child");
    let fork = |at: Option<u64>, sets: &[&str]| {
        let sets: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        format!(
            "{:#}",
            run::fork_with(&parent, at, &sets, &out, &quiet()).unwrap_err()
        )
    };
    let e = fork(Some(13), &["steps=20"]);
    assert!(
        e.contains("last checkpoint is at step 12") && e.contains("0 to 12"),
        "{e}"
    );
    let e = fork(None, &[]);
    assert!(
        e.contains("would take no steps") && e.contains("--set steps="),
        "{e}"
    );
    let e = fork(Some(6), &["model.spec=mlp:5-9-3:tanh"]);
    assert!(e.contains("`model.spec` cannot change"), "{e}");
    let e = fork(Some(6), &["processes=[\"discrete\"]"]);
    assert!(e.contains("`processes` cannot change"), "{e}");
    let e = fork(Some(6), &["tracking.trace_every=2"]);
    assert!(e.contains("columns added: [\"trace\""), "{e}");
    let e = fork(Some(6), &["steps=20", "tracking.top_k=3"]);
    assert!(e.contains("eigen-solver of process `discrete`"), "{e}");
    let e = fork(Some(6), &["steps=20", "optimizer.kind=rmsprop"]);
    assert!(e.contains("cannot restore the optimizer"), "{e}");
    assert!(!out.exists(), "nothing written by a refused fork");
    let e = format!(
        "{:#}",
        run::fork_with(&parent, Some(6), &["steps=20".into()], &parent, &quiet()).unwrap_err()
    );
    assert!(e.contains("is its parent's"), "{e}");
    // A damaged kept checkpoint is refused by its checksum.
    let kept = retained_path(&parent, 6);
    let mut bytes = std::fs::read(&kept).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::remove_file(&kept).unwrap(); // a hard link: do not damage checkpoint.bin's past
    std::fs::write(&kept, &bytes).unwrap();
    let e = fork(Some(6), &["steps=20"]);
    assert!(
        e.contains("corrupted") && e.contains("step-00000006.bin"),
        "{e}"
    );
    // Frequencies may change.
    run::fork_with(
        &parent,
        Some(12),
        &["steps=16".into(), "tracking.every=2".into()],
        &out,
        &quiet(),
    )
    .unwrap();
    let (names, rows) = log_rows(&out);
    let sharp = names.iter().position(|n| n == "sharpness").unwrap();
    assert!(f64::from_bits(rows[&14][sharp]).is_finite());
}

/// For full-batch GD at a constant rate the step counter enters nothing but the row number,
/// so a fork at T equals a fresh `gdscope train` run from the parent's weights at T
/// (`model.init = "npy:…"`) with the same rate: its loss at step T + k and its final weights,
/// bit for bit.
#[test]
fn full_batch_gd_fork_equals_a_fresh_run_from_the_weights() {
    let dir = tempfile::tempdir().unwrap();
    let parent = dir.path().join("parent");
    let text = "steps = 30\ndtype = \"f64\"\n[model]\nspec = \"mlp:5-8-3:tanh\"\n\
                [data]\nkind = \"synthetic-linear\"\nn = 40\nd = 5\nk = 3\n\
                [optimizer]\nkind = \"gd\"\nlr = 0.2\n[tracking]\nevery = 0\neval_every = 0\n\
                [checkpoint]\nevery = 0\nkeep_every = 10\n";
    let pc = TrainConfig::from_toml(text, &[]).unwrap();
    run::start_with(pc.clone(), &parent, &quiet()).unwrap();
    let child = dir.path().join("child");
    run::fork_with(
        &parent,
        Some(10),
        &["optimizer.lr=0.3".into()],
        &child,
        &quiet(),
    )
    .unwrap();
    let state = Checkpoint::load_file(&retained_path(&parent, 10))
        .unwrap()
        .driver;
    let w10 = state.processes[0].get().point().to_vec();
    let npy = dir.path().join("w10.npy");
    gdscope_io::npy::write_npy(&npy, &[w10.len()], &w10).unwrap();
    let fresh = dir.path().join("fresh");
    let sets = [
        "optimizer.lr=0.3".to_string(),
        "steps=20".to_string(),
        format!("model.init=\"npy:{}\"", npy.display()),
    ];
    let fc = TrainConfig::from_toml(text, &sets).unwrap();
    run::start_with(fc, &fresh, &quiet()).unwrap();
    let (names, crows) = log_rows(&child);
    let (fnames, frows) = log_rows(&fresh);
    assert_eq!(names, fnames);
    let loss = names.iter().position(|n| n == "loss").unwrap();
    for k in 0..20 {
        assert_eq!(
            crows[&(10 + k)][loss],
            frows[&k][loss],
            "loss at step {}",
            10 + k
        );
    }
    assert_eq!(weight_bits(&child), weight_bits(&fresh));
}

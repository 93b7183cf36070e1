//! Run specs: every entry point saves its spec (defaults filled in) in `config.toml`, the
//! saved spec reads back equal and re-runs to the same numbers, TOML specs take defaults and
//! refuse unknown keys, and progress reaches the reporter.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use gdscope_io::npy::{write_npy, write_npz, NdArray};
use gdscope_runs::basin::{self, BasinRunSpec};
use gdscope_runs::curvature::{self, CurvatureSpec, TraceMethod};
use gdscope_runs::direction::{self, DirectionSpec};
use gdscope_runs::sweep_lr::{self, SweepLrSpec};
use gdscope_runs::{read_spec, NetworkSpec, ObjectiveSpec, Output, Reporter, Silent};

fn builtin(name: &str) -> ObjectiveSpec {
    ObjectiveSpec {
        objective: Some(name.into()),
        ..ObjectiveSpec::default()
    }
}

/// Counts the units and records the phases it is told about.
#[derive(Default)]
struct Counting {
    phases: Mutex<Vec<(String, u64)>>,
    done: AtomicU64,
    finished: AtomicU64,
}

impl Reporter for Counting {
    fn start(&self, label: &str, total: u64, _unit: &str) {
        self.phases.lock().unwrap().push((label.to_string(), total));
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
    }
    fn finish(&self) {
        self.finished.fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn direction_spec_is_saved_read_back_and_reruns_bit_for_bit() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig2");
    let spec = DirectionSpec {
        x0: Some(vec![0.2, 0.2]),
        steps: 3000,
        ..DirectionSpec::new(builtin("paper-fig2"), 0.95)
    };
    let first = direction::run(&spec, Some(&Output::new(&out))).unwrap();
    for f in [
        "config.toml",
        "metrics.parquet",
        "summary.json",
        "direction.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(config.contains("command = \"direction\""), "{config}");
    assert!(config.contains("x^2 + y^2/2 + x^2*y + x^3"), "{config}");
    let saved: DirectionSpec = read_spec(&out, "direction").unwrap();
    assert_eq!(saved, spec);
    let again = direction::run(&saved, None).unwrap();
    assert_eq!(
        serde_json::to_string(&first.report.summary()).unwrap(),
        serde_json::to_string(&again.report.summary()).unwrap()
    );
    assert_eq!(
        first.report.observation.series.x,
        again.report.observation.series.x
    );
    let e = read_spec::<BasinRunSpec>(&out, "basin")
        .unwrap_err()
        .to_string();
    assert!(e.contains("config of a `direction` run"), "{e}");
}

#[test]
fn toml_specs_take_every_default_and_refuse_unknown_keys() {
    let d: DirectionSpec =
        toml::from_str("lr = 0.95\n[objective]\nobjective = \"paper-fig2\"\n").unwrap();
    assert_eq!(d, DirectionSpec::new(builtin("paper-fig2"), 0.95));
    assert_eq!(d.steps, 100_000);
    let b: BasinRunSpec = toml::from_str("lr = 0.5\n[objective]\nexpr = \"x^2 + y^2\"\n").unwrap();
    assert_eq!((b.x_range, b.resolution, b.steps), ([-0.5, 0.5], 200, 1000));
    let c: CurvatureSpec = toml::from_str("trace = true\n[network]\nrun = \"runs/eos\"\n").unwrap();
    assert_eq!(c.trace_method, TraceMethod::Hutchpp);
    assert_eq!((c.top_k, c.trace_hvps, c.tol), (1, 99, None));
    let e = toml::from_str::<DirectionSpec>("lr = 0.1\nstep = 3\n[objective]\nexpr = \"x^2\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `step`"), "{e}");
    let e = toml::from_str::<SweepLrSpec>("[objective]\nexpression = \"x^2\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("unknown field `expression`"), "{e}");
}

#[test]
fn sweep_lr_and_basin_report_every_unit_and_save_their_specs() {
    let dir = tempfile::tempdir().unwrap();
    let spec = SweepLrSpec {
        count: 5,
        steps: 2000,
        x0: Some(vec![0.2, 0.2]),
        ..SweepLrSpec::new(builtin("paper-fig2"))
    };
    let counting = Counting::default();
    let out = dir.path().join("sweep");
    let s = sweep_lr::run(&spec, Some(&Output::new(&out)), &counting).unwrap();
    assert_eq!(s.rows.len(), 5);
    assert_eq!(counting.done.load(Ordering::Relaxed), 5);
    assert_eq!(
        *counting.phases.lock().unwrap(),
        [("sweep-lr".to_string(), 5)]
    );
    assert_eq!(read_spec::<SweepLrSpec>(&out, "sweep-lr").unwrap(), spec);
    assert!(out.join("sweep.parquet").is_file());

    let spec = BasinRunSpec {
        resolution: 9,
        steps: 200,
        ..BasinRunSpec::new(builtin("paper-fig2"), 0.95)
    };
    let counting = Counting::default();
    let out = dir.path().join("basin");
    let b = basin::run(&spec, Some(&Output::new(&out)), &counting).unwrap();
    assert_eq!(b.summary.counts.total, 81);
    assert_eq!(counting.done.load(Ordering::Relaxed), 81);
    assert_eq!(counting.finished.load(Ordering::Relaxed), 1);
    assert_eq!(read_spec::<BasinRunSpec>(&out, "basin").unwrap(), spec);
    assert!(out.join("outcomes.parquet").is_file());
    // A basin needs two variables: the message names the problem.
    let bad = BasinRunSpec::new(
        ObjectiveSpec {
            objective: Some("quadratic".into()),
            dim: Some(3),
            ..ObjectiveSpec::default()
        },
        0.5,
    );
    let e = basin::run(&bad, None, &Silent).unwrap_err().to_string();
    assert!(e.contains("2 variables"), "{e}");
}

/// A 3-5-2 tanh MLP on 12 examples with fixed parameters.
fn write_network(dir: &Path) -> NetworkSpec {
    let (n, p) = (12, 3 * 5 + 5 + 5 * 2 + 2);
    let x: Vec<f64> = (0..n * 3)
        .map(|i| ((i * 7 % 11) as f64 / 5.0 - 1.0) * 1.3)
        .collect();
    let y: Vec<f64> = (0..n).map(|i| (i % 2) as f64).collect();
    let w: Vec<f64> = (0..p)
        .map(|i| ((i * 13 % 17) as f64 / 8.0 - 1.0) * 0.9)
        .collect();
    let xa = NdArray::from_f64(vec![n, 3], x).unwrap();
    let ya = NdArray::from_f64(vec![n], y)
        .unwrap()
        .with_dtype("int64")
        .unwrap();
    write_npz(&dir.join("data.npz"), &[("x", &xa), ("y", &ya)]).unwrap();
    write_npy(&dir.join("w.npy"), &[p], &w).unwrap();
    NetworkSpec {
        model: Some("mlp:3-5-2:tanh".into()),
        data: Some(dir.join("data.npz")),
        params: Some(dir.join("w.npy")),
        ..NetworkSpec::default()
    }
}

#[test]
fn curvature_reports_its_phases_and_saves_its_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = CurvatureSpec {
        top_k: 2,
        trace: true,
        ..CurvatureSpec::new(write_network(dir.path()))
    };
    let counting = Counting::default();
    let out = dir.path().join("curv");
    let c = curvature::run(&spec, Some(&Output::new(&out)), &counting).unwrap();
    let top: Vec<f64> = c.report["top"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(top.len(), 2);
    assert!(top[0] >= top[1], "{top:?}");
    assert_eq!(c.report["trace"]["method"], "hutchpp");
    let phases: Vec<String> = counting
        .phases
        .lock()
        .unwrap()
        .iter()
        .map(|(l, _)| l.clone())
        .collect();
    assert_eq!(phases, ["top 2 eigenvalues", "trace"]);
    assert_eq!(counting.finished.load(Ordering::Relaxed), 2);
    assert_eq!(read_spec::<CurvatureSpec>(&out, "curvature").unwrap(), spec);
    let config = std::fs::read_to_string(out.join("config.toml")).unwrap();
    assert!(
        config.contains("mlp:3-5-2:tanh") && config.contains("loss = \"mse\""),
        "{config}"
    );
    // An occupied directory is refused before any computation.
    let e = curvature::run(&spec, Some(&Output::new(&out)), &Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&out.display().to_string()), "{e}");
}

#[test]
fn paper_figure_two_agrees_panel_by_panel() {
    use gdscope_runs::paper::{self, PaperFigure};
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("fig2");
    let done = paper::run(PaperFigure::PaperFig2, &Output::new(&out)).unwrap();
    assert!(done.all_agree);
    let stems: Vec<&str> = done.panels.iter().map(|p| p.stem.as_str()).collect();
    assert_eq!(
        stems,
        ["panel1-paper-fig2-lr0.1", "panel2-paper-fig2-lr0.95"]
    );
    for f in [
        "config.toml",
        "metrics.parquet",
        "summary.json",
        "panel2-paper-fig2-lr0.95.png",
    ] {
        assert!(out.join(f).is_file(), "{f} missing");
    }
}

//! Tests of the training loop on small exact objectives.

use gdscope_core::linalg::sym_eigen;
use gdscope_core::objective::DenseQuadratic;
use gdscope_core::Objective;
use nalgebra::DMatrix;

use crate::checkpoint::Checkpoint;
use crate::config::TrainConfig;
use crate::testing::TanhRegression;
use crate::trainer::{Problem, Status, Trainer};

fn run_to_end(trainer: &mut Trainer, obj: &dyn Objective) {
    let problem = Problem {
        objective: obj,
        evaluator: None,
    };
    while trainer.step(problem).unwrap().is_some() {}
}

fn sgd_config() -> TrainConfig {
    let mut c = TrainConfig::from_toml(
        "steps = 60\nbatch_size = 4\nseed = 7\n[optimizer]\nkind = \"nesterov\"\nlr = 0.3\n\
         [tracking]\nevery = 10\ntop_k = 2\nadaptive_k = true\nmax_k = 3\nadaptive_fraction = 0.01\n\
         flow = true\neval_every = 5\nprojection_step = 10\n[checkpoint]\nevery = 0\n",
        &[],
    )
    .unwrap();
    c.schedule = crate::schedule::LrSchedule::Cosine {
        warmup_steps: 5,
        final_factor: 0.2,
    };
    c
}

/// Interrupted (checkpoint to bytes at step 23, decoded, resumed) == uninterrupted, bit for bit:
/// weights, Nesterov buffer, minibatch RNG, eigenvector cache, flow, metrics.
#[test]
fn resume_is_bit_for_bit() {
    let obj = TanhRegression::new(24, 5);
    let w0 = vec![0.1, -0.3, 0.2, 0.05, -0.1];
    let cfg = sgd_config();
    let mut full = Trainer::new(cfg.clone(), w0.clone(), obj.num_examples()).unwrap();
    run_to_end(&mut full, &obj);
    assert_eq!(full.state().status, Status::Completed);

    let mut first = Trainer::new(cfg.clone(), w0, obj.num_examples()).unwrap();
    let problem = Problem {
        objective: &obj,
        evaluator: None,
    };
    for _ in 0..23 {
        first.step(problem).unwrap();
    }
    let bytes = Checkpoint {
        config: first.config().clone(),
        state: first.into_state(),
    }
    .to_bytes()
    .unwrap();
    let restored = Checkpoint::from_bytes(&bytes).unwrap();
    let mut resumed = Trainer::resume(restored.config, restored.state).unwrap();
    run_to_end(&mut resumed, &obj);

    let a = postcard::to_stdvec(full.state()).unwrap();
    let b = postcard::to_stdvec(resumed.state()).unwrap();
    assert_eq!(a, b, "resumed state differs from the uninterrupted one");
    let rows = &full.state().metrics.rows;
    assert_eq!(rows.len(), 60);
    assert!(rows.iter().filter(|r| !r.eigenvalues.is_empty()).count() == 6);
    assert!(rows[30].flow_distance > 0.0 && rows[11].projection.is_finite());
}

/// Tracked eigenvalues equal dense `eigh` of the Hessian at the same weights, including a
/// spectrum with a large negative eigenvalue (largest algebraic, not largest magnitude).
#[test]
fn tracking_matches_dense_eigh() {
    let obj = TanhRegression::new(30, 6);
    let mut cfg = TrainConfig::from_toml("steps = 21\n[optimizer]\nkind = \"gd\"\nlr = 0.2\n[tracking]\nevery = 10\ntop_k = 3\ntol = 1e-10", &[]).unwrap();
    cfg.checkpoint.every = 0;
    let mut t = Trainer::new(cfg, vec![0.4, -0.6, 0.3, 0.9, -0.2, 0.1], None).unwrap();
    let problem = Problem {
        objective: &obj,
        evaluator: None,
    };
    for _ in 0..21 {
        let w = t.state().weights.clone();
        let row = t.step(problem).unwrap().unwrap().clone();
        if row.eigenvalues.is_empty() {
            continue;
        }
        let dense = sym_eigen(&obj.hessian(&w)).values;
        for (i, got) in row.eigenvalues.iter().enumerate() {
            let want = dense[dense.len() - 1 - i];
            assert!(
                (got - want).abs() < 1e-8 * want.abs().max(1.0),
                "step {}: {got} vs {want}",
                row.step
            );
        }
        assert!(row.eig_residual < 1e-10 && row.eig_hvps > 0.0);
    }

    let q = DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::dvector![
        3.0, 1.0, -50.0, 0.5
    ]));
    let cfg = TrainConfig::from_toml(
        "steps = 1\n[optimizer]\nkind = \"gd\"\nlr = 0.1\n[tracking]\nevery = 1\ntop_k = 2",
        &[],
    )
    .unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0, 0.0, 1.0], None).unwrap();
    let row = t
        .step(Problem {
            objective: &q,
            evaluator: None,
        })
        .unwrap()
        .unwrap();
    assert!(
        (row.eigenvalues[0] - 3.0).abs() < 1e-8 && (row.eigenvalues[1] - 1.0).abs() < 1e-8,
        "{:?}",
        row.eigenvalues
    );
    assert_eq!(row.threshold, 20.0);
}

/// Hutchinson with Rademacher probes is exact on a diagonal Hessian.
#[test]
fn trace_is_recorded() {
    let q = DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::dvector![3.0, 1.0, -0.5]));
    let cfg = TrainConfig::from_toml(
        "steps = 3
[tracking]
every = 0
trace_every = 2
trace_probes = 4",
        &[],
    )
    .unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0, 1.0], None).unwrap();
    run_to_end(&mut t, &q);
    let rows = &t.state().metrics.rows;
    assert_eq!(
        (rows[0].trace, rows[0].trace_se, rows[2].trace),
        (3.5, 0.0, 3.5)
    );
    assert!(rows[1].trace.is_nan());
}

/// Adam's tracked sharpness is that of `P^{-1/2} H P^{-1/2}` with the optimizer's own `P`,
/// and its threshold is (2+2β1)/((1−β1)η).
#[test]
fn adam_tracks_the_preconditioned_hessian() {
    let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 2.0, 0.5, 0.0, 0.5, 1.0]);
    let q = DenseQuadratic::new(a.clone());
    let cfg = TrainConfig::from_toml("steps = 6\n[optimizer]\nkind = \"adam\"\nlr = 0.01\n[tracking]\nevery = 5\ntop_k = 1\ntol = 1e-12", &[]).unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, -1.0, 0.5], None).unwrap();
    let problem = Problem {
        objective: &q,
        evaluator: None,
    };
    let first = t.step(problem).unwrap().unwrap().clone();
    assert!(
        first.eigenvalues.is_empty(),
        "no ν before the first Adam step: nothing to precondition with"
    );
    for _ in 1..5 {
        t.step(problem).unwrap();
    }
    let opt = gdscope_core::optimizer::Optimizer::with_state(
        t.config().optimizer.clone(),
        t.state().optimizer.clone(),
    )
    .unwrap();
    let p = opt.preconditioner().unwrap();
    let row = t.step(problem).unwrap().unwrap();
    let s = DMatrix::from_fn(3, 3, |i, j| a[(i, j)] / (p[i] * p[j]).sqrt());
    let want = *sym_eigen(&s).values.last().unwrap();
    assert!(
        (row.sharpness() - want).abs() < 1e-9 * want,
        "{} vs {want}",
        row.sharpness()
    );
    assert!((row.threshold - 3.8 / (0.1 * 0.01)).abs() < 1e-9);
}

/// GD above 2/λ on a quadratic diverges: the run records it and stops, no panic;
/// a loss goal stops a convergent run early.
#[test]
fn divergence_and_loss_goal_are_recorded() {
    let q = DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::dvector![1.0, 4.0]));
    let cfg = TrainConfig::from_toml(
        "steps = 500\n[optimizer]\nkind = \"gd\"\nlr = 0.6\n[tracking]\nevery = 0",
        &[],
    )
    .unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0], None).unwrap();
    run_to_end(&mut t, &q);
    let Status::Diverged { reason } = &t.state().status else {
        panic!("{:?}", t.state().status)
    };
    assert!(reason.contains("divergence_factor"), "{reason}");
    assert!(t.state().metrics.rows.len() < 500);

    let cfg = TrainConfig::from_toml("steps = 5000\n[optimizer]\nkind = \"gd\"\nlr = 0.1\n[stop]\nloss_below = 1e-6\n[tracking]\nevery = 0", &[]).unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0], None).unwrap();
    run_to_end(&mut t, &q);
    assert_eq!(t.state().status, Status::LossGoal);
    assert!(t.state().metrics.rows.last().unwrap().loss <= 1e-6);

    let mut inf = DMatrix::from_diagonal(&nalgebra::dvector![1.0, 4.0]);
    inf[(0, 0)] = f64::INFINITY;
    let cfg = TrainConfig::from_toml("steps = 5\n[tracking]\nevery = 0", &[]).unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0], None).unwrap();
    run_to_end(&mut t, &DenseQuadratic::new(inf));
    assert!(matches!(t.state().status, Status::Diverged { .. }));
}

/// The logged threshold follows the scheduled learning rate; the gradient-flow baseline
/// stays on the exact flow of a quadratic while GD oscillates away from it.
#[test]
fn schedule_threshold_and_flow_distance() {
    let q = DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::dvector![1.0, 4.0]));
    let cfg = TrainConfig::from_toml(
        "steps = 30\n[optimizer]\nkind = \"gd\"\nlr = 0.45\n[schedule]\nkind = \"step\"\nevery = 10\ngamma = 0.5\n\
         [tracking]\nevery = 5\ntop_k = 1\nflow = true",
        &[],
    )
    .unwrap();
    let mut t = Trainer::new(cfg, vec![1.0, 1.0], None).unwrap();
    run_to_end(&mut t, &q);
    let rows = &t.state().metrics.rows;
    assert_eq!(
        (rows[0].threshold, rows[10].threshold, rows[29].threshold),
        (2.0 / 0.45, 2.0 / 0.225, 2.0 / 0.1125)
    );
    // Exact flow at t = 10 (η = 0.45 throughout): y(t) = exp(−4ηt).
    let exact_y: f64 = (-4.0_f64 * 0.45 * 10.0).exp();
    let gd_y = (1.0_f64 - 4.0 * 0.45).powi(10);
    let exact_x: f64 = (-0.45_f64 * 10.0).exp();
    let gd_x = (1.0_f64 - 0.45).powi(10);
    let want = ((gd_x - exact_x).powi(2) + (gd_y - exact_y).powi(2)).sqrt();
    assert!(
        (rows[10].flow_distance - want).abs() < 1e-3 * want,
        "{} vs {want}",
        rows[10].flow_distance
    );
    assert!(
        rows.iter().skip(1).take(9).all(|r| r.update_cosine < 0.0),
        "period-2 oscillation along y"
    );
}

//! Tests of the driver, processes and observers on small exact objectives.

use gdscope_core::linalg::sym_eigen;
use gdscope_core::objective::DenseQuadratic;
use gdscope_core::optimizer::OptimizerConfig;
use gdscope_core::rules::{Adam, Nesterov, Polyak, Rmsprop};
use gdscope_core::schedule::LrSchedule;
use gdscope_core::Objective;
use nalgebra::DMatrix;

use crate::config::{StepCurvatureConfig, StopConfig, TrackingConfig};
use crate::driver::{Driver, RunSpec, Status};
use crate::montecarlo::MonteCarlo;
use crate::noise::{GradientNoise, NoiseKind};
use crate::problem::Problem;
use crate::process::{ProcessName, ProcessSettings};
use crate::record::{Record, Schema};
use crate::testing::TanhRegression;

use ProcessName::{Discrete, Midpoint, Stable};

pub(crate) fn spec(steps: u64, optimizer: OptimizerConfig, processes: &[ProcessName]) -> RunSpec {
    RunSpec {
        seed: 0,
        steps,
        batch_size: 0,
        optimizer,
        schedule: LrSchedule::Constant,
        processes: processes.to_vec(),
        process: ProcessSettings::default(),
        tracking: TrackingConfig::default(),
        stop: StopConfig::default(),
        noise: GradientNoise::default(),
    }
}

fn no_tracking() -> TrackingConfig {
    TrackingConfig {
        every: 0,
        eval_every: 0,
        ..TrackingConfig::default()
    }
}

/// The records of a run, by column.
pub(crate) struct Rows {
    pub(crate) schema: Schema,
    pub(crate) rows: Vec<Record>,
}

impl Rows {
    pub(crate) fn col(&self, name: &str) -> Vec<f64> {
        let i = self
            .schema
            .index(name)
            .unwrap_or_else(|| panic!("no column {name} in {:?}", self.schema.names()));
        self.rows.iter().map(|r| r.get(i)).collect()
    }
}

fn run_to_end(driver: &mut Driver, obj: &dyn Objective, rows: &mut Vec<Record>) {
    while let Some(r) = driver.step(Problem::objective(obj)).unwrap() {
        rows.push(r.clone());
    }
}

pub(crate) fn run(spec: RunSpec, obj: &dyn Objective, w0: Vec<f64>) -> (Driver, Rows) {
    let mut d = Driver::new(spec, Problem::objective(obj), w0).unwrap();
    let mut rows = Vec::new();
    run_to_end(&mut d, obj, &mut rows);
    let schema = d.schema().clone();
    (d, Rows { schema, rows })
}

fn diag(values: &[f64]) -> DenseQuadratic {
    DenseQuadratic::new(DMatrix::from_diagonal(&nalgebra::DVector::from_vec(
        values.to_vec(),
    )))
}

/// Interrupted (state saved to bytes at step 23, decoded, resumed) == uninterrupted, bit for
/// bit, for `spec`: every process, observer memory and record.
pub(crate) fn assert_resume_is_bit_for_bit(
    spec: RunSpec,
    obj: &dyn Objective,
    w0: Vec<f64>,
) -> Rows {
    let (mut full, full_rows) = run(spec.clone(), obj, w0.clone());
    assert_eq!(*full.status(), Status::Completed);
    let mut first = Driver::new(spec.clone(), Problem::objective(obj), w0).unwrap();
    let mut rows = Vec::new();
    for _ in 0..23 {
        rows.push(
            first
                .step(Problem::objective(obj))
                .unwrap()
                .unwrap()
                .clone(),
        );
    }
    let bytes = postcard::to_stdvec(&first.save().unwrap()).unwrap();
    drop(first);
    let saved = postcard::from_bytes(&bytes).unwrap();
    let mut resumed = Driver::resume(spec, Problem::objective(obj), saved).unwrap();
    run_to_end(&mut resumed, obj, &mut rows);
    let a = postcard::to_stdvec(&full.save().unwrap()).unwrap();
    let b = postcard::to_stdvec(&resumed.save().unwrap()).unwrap();
    assert_eq!(a, b, "resumed state differs from the uninterrupted one");
    assert_eq!(rows.len(), full_rows.rows.len());
    for (x, y) in rows.iter().zip(&full_rows.rows) {
        let bits = |r: &Record| r.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(x), bits(y), "record of step {}", x.step);
    }
    full_rows
}

fn sgd_spec() -> RunSpec {
    let mut s = spec(
        60,
        OptimizerConfig::Nesterov(Nesterov(Polyak { lr: 0.3, beta: 0.9 })),
        &[Discrete, Midpoint],
    );
    s.batch_size = 4;
    s.seed = 7;
    s.schedule = LrSchedule::Cosine {
        warmup_steps: 5,
        final_factor: 0.2,
    };
    s.tracking = TrackingConfig {
        every: 10,
        top_k: 2,
        adaptive_k: true,
        max_k: 3,
        adaptive_fraction: 0.01,
        eval_every: 5,
        projection_step: Some(10),
        step_curvature: every_step_curvature(),
        ..TrackingConfig::default()
    };
    s
}

/// Every step-curvature observer on, at staggered frequencies (memories across the resume
/// point: the pending realized edge, the critical step's warm start, the pilot direction).
fn every_step_curvature() -> StepCurvatureConfig {
    StepCurvatureConfig {
        batch_sharpness_every: 5,
        gni_every: 7,
        generalized_every: 5,
        directional_every: 3,
        realized_edge_every: 1,
        critical_every: 2,
        mean_square_every: 10,
        mean_square_pilot_batches: 2,
        monte_carlo: MonteCarlo {
            rel_se: 0.01,
            min_samples: 5,
            max_samples: 30,
        },
        ..StepCurvatureConfig::default()
    }
}

/// Nesterov with minibatches, a cosine schedule, adaptive k, the midpoint process and every
/// step-curvature observer.
#[test]
fn resume_is_bit_for_bit() {
    let obj = TanhRegression::new(24, 5);
    let rows = assert_resume_is_bit_for_bit(sgd_spec(), &obj, vec![0.1, -0.3, 0.2, 0.05, -0.1]);
    assert_eq!(rows.rows.len(), 60);
    for (col, t) in [
        ("batch_sharpness", 25),
        ("batch_sharpness_rom_hi", 25),
        ("gni", 28),
        ("generalized_sharpness", 25),
        ("directional_sharpness", 24),
        ("realized_edge", 24),
        ("critical_sharpness", 24),
        ("mean_square", 30),
        ("mean_square_pilot", 30),
    ] {
        assert!(rows.col(col)[t].is_finite(), "{col} at step {t}");
    }
    assert!(rows.col("batch_sharpness_n")[25] >= 5.0);
    let sharp = rows.col("sharpness");
    assert_eq!(sharp.iter().filter(|v| v.is_finite()).count(), 6);
    assert!(rows.col("projection")[11].is_finite());
    assert!(rows.col("distance.discrete-midpoint")[30] > 0.0);
    assert!(rows.col("midpoint.eig_1")[30].is_finite());
}

/// The three processes together, GD with minibatches and a cosine schedule; then RMSProp
/// (a state ODE beside the weights) full batch.
#[test]
fn resume_is_bit_for_bit_with_discrete_midpoint_and_stable() {
    let obj = TanhRegression::new(24, 5);
    let w0 = vec![0.1, -0.3, 0.2, 0.05, -0.1];
    let mut s = sgd_spec();
    s.optimizer = OptimizerConfig::gd(0.3);
    s.processes = vec![Discrete, Midpoint, Stable];
    s.process.stable.tracking.every = Some(5);
    let rows = assert_resume_is_bit_for_bit(s, &obj, w0.clone());
    for col in [
        "distance.discrete-stable",
        "distance.midpoint-stable",
        "stable.loss",
        "stable.substeps",
    ] {
        assert!(rows.col(col).iter().all(|v| v.is_finite()), "{col}");
    }
    let mut s = spec(
        40,
        OptimizerConfig::Rmsprop(Rmsprop {
            lr: 0.01,
            beta2: 0.9,
            eps: 1e-8,
        }),
        &[Discrete, Midpoint, Stable],
    );
    s.tracking.every = 5;
    let rows = assert_resume_is_bit_for_bit(s, &obj, w0);
    assert!(rows.col("stable.sharpness")[5].is_finite());
}

/// Full-batch GD plus each gradient-noise control, with the midpoint process and the
/// step-curvature observers: resumed bit for bit, and the noise changes the trajectory.
#[test]
fn resume_is_bit_for_bit_with_gradient_noise() {
    let obj = TanhRegression::new(24, 5);
    let w0 = vec![0.1, -0.3, 0.2, 0.05, -0.1];
    let mut plain = spec(40, OptimizerConfig::gd(0.3), &[Discrete, Midpoint]);
    plain.tracking.step_curvature = every_step_curvature();
    plain.tracking.step_curvature.batch_size = 4;
    let (_, clean) = run(plain.clone(), &obj, w0.clone());
    for kind in [
        NoiseKind::Minibatch,
        NoiseKind::Diagonal,
        NoiseKind::Isotropic,
    ] {
        let mut s = plain.clone();
        s.noise = GradientNoise {
            kind,
            batch_size: 4,
        };
        let rows = assert_resume_is_bit_for_bit(s, &obj, w0.clone());
        assert_ne!(rows.col("loss")[30], clean.col("loss")[30], "{kind:?}");
        assert!(rows.col("batch_sharpness")[30].is_finite());
    }
    let mut bad = plain;
    bad.batch_size = 4;
    bad.noise.kind = NoiseKind::Isotropic;
    let e = Driver::new(bad, Problem::objective(&obj), w0)
        .err()
        .unwrap();
    assert!(e.to_string().contains("batch_size = 0"), "{e}");
}

/// Tracked eigenvalues equal dense `eigh` of the Hessian at the same weights, including a
/// spectrum with a large negative eigenvalue (largest algebraic, not largest magnitude).
#[test]
fn tracking_matches_dense_eigh() {
    let obj = TanhRegression::new(30, 6);
    let mut s = spec(21, OptimizerConfig::gd(0.2), &[Discrete]);
    s.tracking = TrackingConfig {
        every: 10,
        top_k: 3,
        tol: 1e-10,
        ..TrackingConfig::default()
    };
    let mut d = Driver::new(
        s,
        Problem::objective(&obj),
        vec![0.4, -0.6, 0.3, 0.9, -0.2, 0.1],
    )
    .unwrap();
    let cols: Vec<usize> = ["eig_1", "eig_2", "eig_3", "eig_residual", "eig_hvps"]
        .iter()
        .map(|c| d.schema().index(c).unwrap())
        .collect();
    for _ in 0..21 {
        let w = d.weights().to_vec();
        let r = d.step(Problem::objective(&obj)).unwrap().unwrap();
        if r.get(cols[0]).is_nan() {
            continue;
        }
        let dense = sym_eigen(&obj.hessian(&w)).values;
        for i in 0..3 {
            let (got, want) = (r.get(cols[i]), dense[dense.len() - 1 - i]);
            assert!(
                (got - want).abs() < 1e-8 * want.abs().max(1.0),
                "step {}: {got} vs {want}",
                r.step
            );
        }
        assert!(r.get(cols[3]) < 1e-10 && r.get(cols[4]) > 0.0);
    }

    let q = diag(&[3.0, 1.0, -50.0, 0.5]);
    let mut s = spec(1, OptimizerConfig::gd(0.1), &[Discrete]);
    s.tracking.every = 1;
    s.tracking.top_k = 2;
    let (_, rows) = run(s, &q, vec![1.0, 1.0, 0.0, 1.0]);
    assert!((rows.col("eig_1")[0] - 3.0).abs() < 1e-8 && (rows.col("eig_2")[0] - 1.0).abs() < 1e-8);
    assert_eq!(rows.col("threshold")[0], 20.0);
}

/// Hutchinson with Rademacher probes is exact on a diagonal Hessian.
#[test]
fn trace_is_recorded() {
    let q = diag(&[3.0, 1.0, -0.5]);
    let mut s = spec(3, OptimizerConfig::gd(0.08), &[Discrete]);
    s.tracking = TrackingConfig {
        every: 0,
        trace_every: 2,
        trace_probes: 4,
        ..TrackingConfig::default()
    };
    let (_, rows) = run(s, &q, vec![1.0, 1.0, 1.0]);
    let (tr, se) = (rows.col("trace"), rows.col("trace_se"));
    assert_eq!((tr[0], se[0], tr[2]), (3.5, 0.0, 3.5));
    assert!(tr[1].is_nan());
}

/// Adam's tracked sharpness is that of `P^{-1/2} H P^{-1/2}` with the optimizer's own `P`,
/// and its threshold is (2+2β1)/((1−β1)η).
#[test]
fn adam_tracks_the_preconditioned_hessian() {
    let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 2.0, 0.5, 0.0, 0.5, 1.0]);
    let q = DenseQuadratic::new(a.clone());
    let adam = Adam {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    };
    let mut s = spec(6, OptimizerConfig::Adam(adam.clone()), &[Discrete]);
    s.tracking = TrackingConfig {
        every: 5,
        top_k: 1,
        tol: 1e-12,
        ..TrackingConfig::default()
    };
    let mut d = Driver::new(s, Problem::objective(&q), vec![1.0, -1.0, 0.5]).unwrap();
    let sharp = d.schema().index("sharpness").unwrap();
    let thr = d.schema().index("threshold").unwrap();
    let first = d.step(Problem::objective(&q)).unwrap().unwrap();
    assert!(
        first.get(sharp).is_nan(),
        "no ν before the first Adam step: nothing to precondition with"
    );
    for _ in 1..5 {
        d.step(Problem::objective(&q)).unwrap();
    }
    let opt = gdscope_core::optimizer::Optimizer::with_state(
        OptimizerConfig::Adam(adam),
        d.processes()[0].get().state().clone(),
    )
    .unwrap();
    let p = opt.preconditioner().unwrap();
    let row = d.step(Problem::objective(&q)).unwrap().unwrap();
    let m = DMatrix::from_fn(3, 3, |i, j| a[(i, j)] / (p[i] * p[j]).sqrt());
    let want = *sym_eigen(&m).values.last().unwrap();
    assert!(
        (row.get(sharp) - want).abs() < 1e-9 * want,
        "{} vs {want}",
        row.get(sharp)
    );
    assert!((row.get(thr) - 3.8 / (0.1 * 0.01)).abs() < 1e-9);
}

/// GD above 2/λ on a quadratic diverges: the run records it and stops, no panic; a loss goal
/// stops a convergent run early.
#[test]
fn divergence_and_loss_goal_are_recorded() {
    let q = diag(&[1.0, 4.0]);
    let mut s = spec(500, OptimizerConfig::gd(0.6), &[Discrete]);
    s.tracking = no_tracking();
    let (d, rows) = run(s, &q, vec![1.0, 1.0]);
    let Status::Diverged { reason } = d.status() else {
        panic!("{:?}", d.status())
    };
    assert!(reason.contains("divergence_factor"), "{reason}");
    assert!(rows.rows.len() < 500);

    let mut s = spec(5000, OptimizerConfig::gd(0.1), &[Discrete]);
    s.tracking = no_tracking();
    s.stop.loss_below = Some(1e-6);
    let (d, rows) = run(s, &q, vec![1.0, 1.0]);
    assert_eq!(*d.status(), Status::LossGoal);
    assert!(*rows.col("loss").last().unwrap() <= 1e-6);

    let mut inf = DMatrix::from_diagonal(&nalgebra::dvector![1.0, 4.0]);
    inf[(0, 0)] = f64::INFINITY;
    let mut s = spec(5, OptimizerConfig::gd(0.08), &[Discrete]);
    s.tracking = no_tracking();
    let (d, _) = run(s, &DenseQuadratic::new(inf), vec![1.0, 1.0]);
    assert!(matches!(d.status(), Status::Diverged { .. }));
}

/// The logged threshold follows the scheduled learning rate; the stable process (gradient
/// flow for GD) stays on the exact flow of a quadratic while GD oscillates away from it.
#[test]
fn schedule_threshold_and_stable_flow_distance() {
    let q = diag(&[1.0, 4.0]);
    let mut s = spec(30, OptimizerConfig::gd(0.45), &[Discrete, Stable]);
    s.schedule = LrSchedule::Step {
        every: 10,
        gamma: 0.5,
    };
    s.tracking.every = 5;
    s.tracking.top_k = 1;
    let (_, rows) = run(s, &q, vec![1.0, 1.0]);
    let thr = rows.col("threshold");
    assert_eq!(
        (thr[0], thr[10], thr[29]),
        (2.0 / 0.45, 2.0 / 0.225, 2.0 / 0.1125)
    );
    // Exact flow at t = 10 (η = 0.45 throughout): y(t) = exp(−4ηt).
    let exact_y: f64 = (-4.0_f64 * 0.45 * 10.0).exp();
    let gd_y = (1.0_f64 - 4.0 * 0.45).powi(10);
    let exact_x: f64 = (-0.45_f64 * 10.0).exp();
    let gd_x = (1.0_f64 - 0.45).powi(10);
    let want = ((gd_x - exact_x).powi(2) + (gd_y - exact_y).powi(2)).sqrt();
    let got = rows.col("distance.discrete-stable")[10];
    assert!((got - want).abs() < 1e-3 * want, "{got} vs {want}");
    let cos = rows.col("update_cosine");
    assert!(
        cos[1..10].iter().all(|c| *c < 0.0),
        "period-2 oscillation along y"
    );
    // The stable flow's own sharpness is H's (GD: P = I/η) and its loss is the flow's.
    assert!((rows.col("stable.sharpness")[5] - 4.0).abs() < 1e-6);
    let flow_loss = 0.5 * (exact_x * exact_x + 4.0 * exact_y * exact_y);
    let got = rows.col("stable.loss")[10];
    assert!(
        (got - flow_loss).abs() < 1e-3 * flow_loss,
        "{got} vs {flow_loss}"
    );
}

/// Columns: `discrete` keeps the historic names, the others are prefixed, one distance per
/// pair in alphabetical order; a process alone is prefixed too unless it is `discrete`.
#[test]
fn column_names() {
    let q = diag(&[1.0, 2.0]);
    let s = spec(2, OptimizerConfig::gd(0.1), &[Stable, Discrete, Midpoint]);
    let (_, rows) = run(s, &q, vec![1.0, 1.0]);
    let names = rows.schema.names();
    for c in [
        "loss",
        "sharpness",
        "eig_1",
        "stable.loss",
        "stable.eig_1",
        "midpoint.sharpness",
        "distance.discrete-stable",
        "distance.discrete-midpoint",
        "distance.midpoint-stable",
    ] {
        assert!(names.iter().any(|n| n == c), "missing {c} in {names:?}");
    }
    let s = spec(2, OptimizerConfig::gd(0.1), &[Stable]);
    let (_, rows) = run(s, &q, vec![1.0, 1.0]);
    assert!(rows.schema.index("loss").is_none() && rows.schema.index("stable.loss").is_some());
}

/// GD on `λw²/2` with ηλ = 1.9: `w_t = (1−ηλ)^t`, so the midpoint is
/// `w*_t = w_t (r⁻¹ + 2 + r)/4` with `r = 1 − ηλ`, far closer to 0 than `w_t`.
#[test]
fn midpoints_follow_the_three_tap_filter() {
    let (lambda, lr) = (1.0, 1.9);
    let mut s = spec(8, OptimizerConfig::gd(lr), &[Discrete, Midpoint]);
    s.tracking = no_tracking();
    let (_, rows) = run(s, &diag(&[lambda]), vec![1.0]);
    let r: f64 = 1.0 - lr * lambda;
    let d = rows.col("distance.discrete-midpoint");
    let mid_loss = rows.col("midpoint.loss");
    for t in 1..8 {
        let w = r.powi(t as i32);
        let mid = w * (1.0 / r + 2.0 + r) / 4.0;
        assert!((d[t] - (w - mid).abs()).abs() < 1e-14, "t={t}");
        assert!((mid_loss[t] - 0.5 * lambda * mid * mid).abs() < 1e-15);
    }
    assert_eq!(d[0], 0.0);
}

/// RMSProp's stable flow (weights and ν) is integrated accurately: halving the rate bound
/// changes the trajectory by far less than the flow moves; the state ODE drives ν towards
/// the squared gradient.
#[test]
fn rmsprop_stable_flow_converges_in_the_step_size() {
    let obj = TanhRegression::new(20, 4);
    let w0 = vec![0.3, -0.2, 0.4, 0.1];
    let rms = OptimizerConfig::Rmsprop(Rmsprop {
        lr: 0.02,
        beta2: 0.9,
        eps: 1e-8,
    });
    let flow_at = |rate: f64| {
        let mut s = spec(30, rms.clone(), &[Stable]);
        s.process.stable.rate = rate;
        let (d, rows) = run(s, &obj, w0.clone());
        (d.processes()[0].get().point().to_vec(), rows)
    };
    let (coarse, rows) = flow_at(0.5);
    let (fine, _) = flow_at(0.05);
    let dist = |a: &[f64], b: &[f64]| -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    let (moved, err) = (dist(&coarse, &w0), dist(&coarse, &fine));
    assert!(
        moved > 0.05 && err < 1e-4 * moved,
        "moved {moved}, err {err}"
    );
    assert!(rows.col("stable.substeps").iter().all(|m| *m >= 1.0));
}

/// A flow past its cost cap stops for good, says why, and records NaN from then on; a rule
/// without a flow is refused before the run starts.
#[test]
fn stable_flow_cap_and_rules_without_flow() {
    let q = diag(&[1.0, 30.0]);
    let mut s = spec(10, OptimizerConfig::gd(0.1), &[Discrete, Stable]);
    s.process.stable.max_sharpness = 2.5;
    let (d, rows) = run(s, &q, vec![1.0, 1.0]);
    let halted = d.halted();
    assert_eq!(halted.len(), 1);
    assert!(halted[0].1.contains("max_sharpness"), "{}", halted[0].1);
    assert!(rows.col("stable.loss").iter().all(|v| v.is_nan()));
    assert!(rows.col("loss").iter().all(|v| v.is_finite()));
    let s = spec(
        10,
        OptimizerConfig::Nesterov(Nesterov(Polyak { lr: 0.1, beta: 0.9 })),
        &[Discrete, Stable],
    );
    let e = Driver::new(s, Problem::objective(&q), vec![1.0, 1.0])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("stable") && e.contains("nesterov"), "{e}");
}

//! Single-precision runs (docs/ARCHITECTURE.md "Run precision"): the `discrete` process keeps
//! weights, gradient, update and optimizer state in `f32` when the objective computes in
//! `f32` and the rule has an `f32` step; it resumes bit for bit, follows the `f64` run to
//! single-precision rounding, and its `f64` views are its `f32` vectors widened.

use gdscope_core::linalg::norm;
use gdscope_core::optimizer::OptimizerConfig;
use gdscope_core::rules::{Adam, Nesterov, Polyak};
use gdscope_core::Values;

use crate::driver::RunSpec;
use crate::process::ProcessName;
use crate::testing::{SinglePrecision, TanhRegression};
use crate::tests::{assert_resume_is_bit_for_bit, run, spec};

use ProcessName::{Discrete, Midpoint};

fn w0() -> Vec<f64> {
    vec![0.1, -0.3, 0.2, 0.05, -0.1]
}

fn tracked(optimizer: OptimizerConfig) -> RunSpec {
    let mut s = spec(40, optimizer, &[Discrete, Midpoint]);
    s.tracking.every = 5;
    s.tracking.eval_every = 5;
    s.tracking.trace_every = 10;
    s
}

fn adam() -> OptimizerConfig {
    OptimizerConfig::Adam(Adam {
        lr: 0.02,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    })
}

fn polyak() -> OptimizerConfig {
    OptimizerConfig::Polyak(Polyak { lr: 0.1, beta: 0.9 })
}

/// GD, heavy ball and Adam (effective Hessian), full batch and minibatch, beside an `f64`
/// midpoint process: interrupted and resumed == uninterrupted, bit for bit.
#[test]
fn single_precision_runs_resume_bit_for_bit() {
    let obj = SinglePrecision(TanhRegression::new(24, 5));
    for optimizer in [OptimizerConfig::gd(0.3), polyak(), adam()] {
        let mut s = tracked(optimizer);
        s.tracking.effective_hessian = true;
        let rows = assert_resume_is_bit_for_bit(s.clone(), &obj, w0());
        assert!(rows.col("sharpness")[35].is_finite());
        assert!(rows.col("update_cosine")[30].is_finite());
        s.batch_size = 4;
        s.seed = 3;
        assert_resume_is_bit_for_bit(s, &obj, w0());
    }
}

/// The same run in `f32` and in `f64`: the `f32` one holds `f32` vectors (unless the rule has
/// no `f32` step) and follows the other to single-precision rounding.
#[test]
fn single_precision_follows_the_double_precision_run() {
    let inner = TanhRegression::new(24, 5);
    let single = SinglePrecision(TanhRegression::new(24, 5));
    for optimizer in [OptimizerConfig::gd(0.3), polyak(), adam()] {
        let (d64, r64) = run(tracked(optimizer.clone()), &inner, w0());
        let (d32, r32) = run(tracked(optimizer), &single, w0());
        assert!(matches!(d64.processes()[0].get().values(), Values::F64(_)));
        assert!(matches!(d32.processes()[0].get().values(), Values::F32(_)));
        assert!(matches!(d32.processes()[1].get().values(), Values::F64(_)));
        for col in ["loss", "grad_norm", "sharpness", "midpoint.loss"] {
            for (t, (a, b)) in r64.col(col).iter().zip(r32.col(col)).enumerate() {
                if a.is_finite() {
                    assert!(
                        (a - b).abs() <= 1e-4 * a.abs().max(1e-3),
                        "{col}[{t}]: {a} vs {b}"
                    );
                }
            }
        }
    }
    let nesterov = OptimizerConfig::Nesterov(Nesterov(Polyak { lr: 0.1, beta: 0.9 }));
    let (d, _) = run(tracked(nesterov), &single, w0());
    assert!(matches!(d.processes()[0].get().values(), Values::F64(_)));
}

/// The `f64` accessors of an `f32` process are its vectors widened, and the typed readers
/// (gradient norm) agree with them.
#[test]
fn f64_views_of_a_single_precision_process_are_its_vectors_widened() {
    let obj = SinglePrecision(TanhRegression::new(24, 5));
    let (mut d, rows) = run(tracked(adam()), &obj, w0());
    let s = d.save().unwrap();
    let p = s.processes[0].get();
    let Values::F32(w) = p.values() else {
        panic!("an f32 process")
    };
    let wide: Vec<f64> = w.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(p.point(), &wide[..]);
    assert_eq!(d.weights(), &wide[..]);
    let state = p.state();
    assert_eq!(state.t, 40.0);
    assert_eq!(state.buffers.len(), 10);
    let Values::F32(g) = p.grad_values() else {
        panic!("an f32 gradient")
    };
    let wide_g: Vec<f64> = g.iter().map(|&v| f64::from(v)).collect();
    assert_eq!(p.grad(), &wide_g[..]);
    let recorded = *rows.col("grad_norm").last().unwrap();
    assert!((norm(p.grad()) - recorded).abs() <= 1e-12 * recorded);
    let update: Vec<f64> = p.update().unwrap().to_vec();
    assert_eq!(update.len(), 5);
}

/// A saved run resumed on an objective of the other precision (a fork that changes `dtype`)
/// continues in the new run's precision, its vectors converted once.
#[test]
fn resuming_with_the_other_precision_converts_the_state_once() {
    use crate::driver::Driver;
    use crate::problem::Problem;
    let inner = TanhRegression::new(24, 5);
    let single = SinglePrecision(TanhRegression::new(24, 5));
    let s = tracked(adam());
    let objectives: [(&dyn gdscope_core::Objective, &dyn gdscope_core::Objective); 2] =
        [(&single, &inner), (&inner, &single)];
    for (first, second) in objectives {
        let mut d = Driver::new(s.clone(), Problem::objective(first), w0()).unwrap();
        for _ in 0..10 {
            d.step(Problem::objective(first)).unwrap();
        }
        let saved = d.save().unwrap();
        let before: Vec<f64> = d.weights().to_vec();
        let mut resumed = Driver::resume(s.clone(), Problem::objective(second), saved).unwrap();
        let p = resumed.processes()[0].get();
        assert_eq!(
            matches!(p.values(), Values::F32(_)),
            second.single_precision()
        );
        let after: Vec<f64> = resumed.weights().to_vec();
        let rounded: Vec<f64> = before.iter().map(|&v| f64::from(v as f32)).collect();
        assert_eq!(
            after, rounded,
            "converted once: exact widening or one rounding"
        );
        assert_eq!(resumed.processes()[0].get().state().t, 10.0);
        while resumed.step(Problem::objective(second)).unwrap().is_some() {}
        assert!(resumed.weights().iter().all(|v| v.is_finite()));
    }
}

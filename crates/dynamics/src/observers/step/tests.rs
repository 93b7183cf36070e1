//! The step-curvature estimators against closed forms on least squares, where every
//! minibatch Hessian `H_B = X_BᵀX_B/b` is known and the expectation over batches is a finite
//! average over all `C(m, b)` subsets; the coverage of their 95% intervals over repeated
//! seeds; critical sharpness, realized edge and directional sharpness through the driver.

use gdscope_core::linalg::{dot, sym_eigen};
use gdscope_core::objective::DenseQuadratic;
use gdscope_core::optimizer::{OptimizerConfig, Rule};
use gdscope_core::rules::Polyak;
use gdscope_core::Objective;
use nalgebra::{DMatrix, DVector};

use super::{batch_sharpness, generalized, gni, mean_square, Draws};
use crate::config::{StepCurvatureConfig, TrackingConfig};
use crate::driver::{Driver, RunSpec};
use crate::montecarlo::MonteCarlo;
use crate::noise::GradientNoise;
use crate::problem::Problem;
use crate::process::{ProcessName, ProcessSettings};
use crate::subsets::RandomBatches;
use crate::testing::LinearRegression;

const W: [f64; 4] = [0.3, -0.5, 0.8, 0.1];

fn problem() -> LinearRegression {
    LinearRegression::random(8, 4, 5)
}

fn draws(obj: &LinearRegression, b: usize, seed: u64) -> Draws {
    let mut r = RandomBatches::new(obj.y.len(), b, "b").unwrap();
    r.start(seed);
    Draws::Random(r)
}

fn grad_on(obj: &LinearRegression, idx: &[usize]) -> DVector<f64> {
    let mut g = vec![0.0; 4];
    obj.value_grad_subset(&W, idx, &mut g);
    DVector::from_vec(g)
}

fn full(obj: &LinearRegression) -> Vec<usize> {
    (0..obj.y.len()).collect()
}

/// Exact `(mean of ratios, ratio of means)` of batch sharpness: averages over all subsets.
fn exact_batch_sharpness(obj: &LinearRegression, b: usize) -> (f64, f64) {
    let subsets = obj.subsets(b);
    let (mut ratios, mut x, mut y) = (0.0, 0.0, 0.0);
    for s in &subsets {
        let g = grad_on(obj, s);
        let num = g.dot(&(obj.hessian_on(s) * &g));
        ratios += num / g.dot(&g);
        x += num;
        y += g.dot(&g);
    }
    let k = subsets.len() as f64;
    (ratios / k, x / y)
}

fn tight() -> MonteCarlo {
    MonteCarlo {
        rel_se: 2e-3,
        min_samples: 50,
        max_samples: 200_000,
    }
}

#[test]
fn batch_sharpness_matches_the_average_over_all_batches() {
    let obj = problem();
    let (mor, rom) = exact_batch_sharpness(&obj, 3);
    let (mut g, mut hg) = (Vec::new(), Vec::new());
    let e = batch_sharpness::estimate(&obj, &W, &mut draws(&obj, 3, 1), &tight(), &mut g, &mut hg);
    for (est, exact) in [(e.mean_of_ratios, mor), (e.ratio_of_means, rom)] {
        assert!(
            (est.value - exact).abs() < est.hi - est.lo,
            "{est:?} vs exact {exact}"
        );
        assert!((est.value / exact - 1.0).abs() < 0.02, "{est:?} vs {exact}");
    }
    // Batches of the whole set: one exact evaluation of gᵀHg/‖g‖².
    let g_full = grad_on(&obj, &full(&obj));
    let h = obj.hessian_on(&full(&obj));
    let exact = g_full.dot(&(&h * &g_full)) / g_full.dot(&g_full);
    let e = batch_sharpness::estimate(&obj, &W, &mut Draws::Whole, &tight(), &mut g, &mut hg);
    assert_eq!(e.mean_of_ratios.samples, 1);
    assert!((e.mean_of_ratios.value - exact).abs() < 1e-12 * exact);
    assert_eq!(
        (e.mean_of_ratios.lo, e.mean_of_ratios.hi),
        (e.mean_of_ratios.value, e.mean_of_ratios.value)
    );
}

fn exact_gni(obj: &LinearRegression, b: usize) -> f64 {
    let subsets = obj.subsets(b);
    let h = obj.hessian_on(&full(obj));
    let g = grad_on(obj, &full(obj));
    let mean: f64 = subsets
        .iter()
        .map(|s| {
            let gb = grad_on(obj, s);
            gb.dot(&(&h * &gb))
        })
        .sum::<f64>()
        / subsets.len() as f64;
    mean / g.dot(&g)
}

#[test]
fn gni_matches_the_average_over_all_batches() {
    let obj = problem();
    let exact = exact_gni(&obj, 2);
    let g_full: Vec<f64> = grad_on(&obj, &full(&obj)).iter().copied().collect();
    let (mut g, mut hg) = (Vec::new(), Vec::new());
    let e = gni::estimate(
        &obj,
        &W,
        &g_full,
        &mut draws(&obj, 2, 3),
        &tight(),
        &mut g,
        &mut hg,
    );
    assert!((e.value - exact).abs() < e.hi - e.lo, "{e:?} vs {exact}");
    assert!(
        exact > 1.0,
        "noise raises the curvature seen along the gradient: {exact}"
    );
}

/// Generalized batch sharpness for heavy ball frozen with a non-zero buffer `v`:
/// `s_B = −η(βv + g_B)`; and for GD it is η times the ratio-of-means batch sharpness.
#[test]
fn generalized_sharpness_matches_the_average_over_all_batches() {
    let obj = problem();
    let (lr, beta) = (0.2, 0.7);
    let rule = Rule::constant(OptimizerConfig::Polyak(Polyak { lr, beta })).unwrap();
    let mut state = rule.zero_state(4);
    state.buffers = vec![0.4, -0.2, 0.1, 0.3];
    state.t = 3.0;
    let v = DVector::from_vec(state.buffers.clone());
    let subsets = obj.subsets(3);
    let (mut x, mut y) = (0.0, 0.0);
    for s in &subsets {
        let g = grad_on(&obj, s);
        let step = -(&v * beta + &g) * lr;
        x += step.dot(&(obj.hessian_on(s) * &step));
        y -= step.dot(&g);
    }
    let exact = x / y;
    let mut buffers = generalized::Buffers::default();
    let e = generalized::estimate(
        &obj,
        &rule,
        &state,
        &W,
        &mut draws(&obj, 3, 4),
        &tight(),
        &mut buffers,
    )
    .unwrap();
    assert!((e.value - exact).abs() < e.hi - e.lo, "{e:?} vs {exact}");

    let gd = Rule::constant(OptimizerConfig::gd(lr)).unwrap();
    let gd_state = gd.zero_state(4);
    let e = generalized::estimate(
        &obj,
        &gd,
        &gd_state,
        &W,
        &mut Draws::Whole,
        &tight(),
        &mut buffers,
    )
    .unwrap();
    let g = grad_on(&obj, &full(&obj));
    let h = obj.hessian_on(&full(&obj));
    assert!((e.value - lr * g.dot(&(&h * &g)) / g.dot(&g)).abs() < 1e-12);
}

/// `E_B[H_B²]` over all batches, and the same from the closed form
/// `c₂H² + c₁(1/m)Σᵢ Hᵢ²`, `c₁ = (m−b)/(b(m−1))`, `c₂ = m(b−1)/(b(m−1))` (docs/curvature.md).
fn second_moment(obj: &LinearRegression, b: usize) -> DMatrix<f64> {
    let subsets = obj.subsets(b);
    let mut e = DMatrix::zeros(4, 4);
    for s in &subsets {
        let hb = obj.hessian_on(s);
        e += &hb * &hb;
    }
    let e = e / subsets.len() as f64;
    let (m, bf) = (obj.y.len() as f64, b as f64);
    let h = obj.hessian_on(&full(obj));
    let mut per_example = DMatrix::zeros(4, 4);
    for i in 0..obj.y.len() {
        let hi = obj.hessian_on(&[i]);
        per_example += &hi * &hi / m;
    }
    let closed =
        &h * &h * (m * (bf - 1.0) / (bf * (m - 1.0))) + per_example * ((m - bf) / (bf * (m - 1.0)));
    assert!((&e - &closed).abs().max() < 1e-12 * e.abs().max());
    e
}

/// Largest eigenvalue of a symmetric matrix.
fn top(m: &DMatrix<f64>) -> f64 {
    *sym_eigen(m).values.last().expect("non-empty")
}

fn exact_mean_square(obj: &LinearRegression, b: usize, lr: f64) -> f64 {
    let h = obj.hessian_on(&full(obj));
    let m = DMatrix::identity(4, 4) - &h * (2.0 * lr) + second_moment(obj, b) * (lr * lr);
    top(&m)
}

#[test]
fn mean_square_stability_matches_the_closed_form() {
    let obj = problem();
    let h = obj.hessian_on(&full(&obj));
    let lr = 1.6 / top(&h);
    let exact = exact_mean_square(&obj, 3, lr);
    // A large pilot finds the top eigenvector; the Monte Carlo value along it is then the
    // top eigenvalue up to the interval.
    let e = mean_square::estimate(&obj, &W, lr, 400, &mut draws(&obj, 3, 6), &tight(), None, 1)
        .unwrap();
    assert!(
        (e.value.value - exact).abs() < (e.value.hi - e.value.lo) + 1e-3 * exact,
        "{:?} vs {exact}",
        e.value
    );
    assert!(
        e.value.value <= exact + (e.value.hi - e.value.lo),
        "a Rayleigh quotient: below λmax"
    );
    // Full batch: max (1 − ηλᵢ)², exactly.
    let full_batch = e_full(&obj, lr);
    let exact = sym_eigen(&h)
        .values
        .iter()
        .map(|l| (1.0 - lr * l).powi(2))
        .fold(f64::MIN, f64::max);
    assert!((full_batch - exact).abs() < 1e-8, "{full_batch} vs {exact}");
}

fn e_full(obj: &LinearRegression, lr: f64) -> f64 {
    let e = mean_square::estimate(obj, &W, lr, 4, &mut Draws::Whole, &tight(), None, 1).unwrap();
    assert_eq!(e.value.samples, 1);
    e.value.value
}

/// Binomial check of a 95% interval: over `trials` seeds the number of intervals covering the
/// exact value lies within 4 standard deviations of 0.95·trials.
fn assert_nominal_coverage(name: &str, covered: usize, trials: usize) {
    let (n, p) = (trials as f64, 0.95);
    let sd = (n * p * (1.0 - p)).sqrt();
    assert!(
        (covered as f64 - n * p).abs() <= 4.0 * sd,
        "{name}: {covered}/{trials} intervals cover the exact value (nominal 95%)"
    );
}

/// The intervals cover the exact values at their nominal rate over repeated seeds (batch
/// sharpness both ways, GNI, generalized batch sharpness, mean-square stability).
#[test]
fn intervals_cover_at_the_nominal_rate() {
    let obj = problem();
    let b = 3;
    let (mor, rom) = exact_batch_sharpness(&obj, b);
    let gni_exact = exact_gni(&obj, b);
    let g_full: Vec<f64> = grad_on(&obj, &full(&obj)).iter().copied().collect();
    let rule = Rule::constant(OptimizerConfig::Polyak(Polyak { lr: 0.2, beta: 0.7 })).unwrap();
    let mut state = rule.zero_state(4);
    state.buffers = vec![0.4, -0.2, 0.1, 0.3];
    let gbs = {
        let (mut x, mut y) = (0.0, 0.0);
        let v = DVector::from_vec(state.buffers.clone());
        for s in obj.subsets(b) {
            let g = grad_on(&obj, &s);
            let step = -(&v * 0.7 + &g) * 0.2;
            x += step.dot(&(obj.hessian_on(&s) * &step));
            y -= step.dot(&g);
        }
        x / y
    };
    // Mean-square stability: the interval is for the Rayleigh quotient at the pilot
    // direction v, 1 + vᵀ(−2ηH + η²E_B[H_B²])v, known exactly once v is.
    let lr_ms = 0.5;
    let h = obj.hessian_on(&full(&obj));
    let ms_operator =
        DMatrix::identity(4, 4) - &h * (2.0 * lr_ms) + second_moment(&obj, b) * (lr_ms * lr_ms);
    let mc = MonteCarlo {
        rel_se: 0.03,
        min_samples: 20,
        max_samples: 500,
    };
    let trials = 400;
    let mut covered = [0usize; 5];
    let (mut g, mut hg) = (Vec::new(), Vec::new());
    let mut buffers = generalized::Buffers::default();
    for seed in 0..trials as u64 {
        let e =
            batch_sharpness::estimate(&obj, &W, &mut draws(&obj, b, seed), &mc, &mut g, &mut hg);
        covered[0] += usize::from(e.mean_of_ratios.covers(mor));
        covered[1] += usize::from(e.ratio_of_means.covers(rom));
        let e = gni::estimate(
            &obj,
            &W,
            &g_full,
            &mut draws(&obj, b, seed),
            &mc,
            &mut g,
            &mut hg,
        );
        covered[2] += usize::from(e.covers(gni_exact));
        let e = generalized::estimate(
            &obj,
            &rule,
            &state,
            &W,
            &mut draws(&obj, b, seed),
            &mc,
            &mut buffers,
        )
        .unwrap();
        covered[3] += usize::from(e.covers(gbs));
        let e = mean_square::estimate(
            &obj,
            &W,
            lr_ms,
            4,
            &mut draws(&obj, b, seed),
            &mc,
            None,
            seed,
        )
        .unwrap();
        let v = DVector::from_column_slice(&e.direction);
        let ms_exact = v.dot(&(&ms_operator * &v));
        covered[4] += usize::from(e.value.covers(ms_exact));
    }
    for (name, c) in [
        "batch sharpness",
        "ratio of means",
        "gni",
        "generalized",
        "mean square",
    ]
    .iter()
    .zip(covered)
    {
        assert_nominal_coverage(name, c, trials);
    }
}

// ---- through the driver --------------------------------------------------------------------

fn step_spec(optimizer: OptimizerConfig, steps: u64, step: StepCurvatureConfig) -> RunSpec {
    RunSpec {
        seed: 1,
        steps,
        batch_size: 0,
        optimizer,
        schedule: gdscope_core::schedule::LrSchedule::Constant,
        processes: vec![ProcessName::Discrete],
        process: ProcessSettings::default(),
        tracking: TrackingConfig {
            every: 0,
            eval_every: 0,
            step_curvature: step,
            ..TrackingConfig::default()
        },
        stop: crate::config::StopConfig::default(),
        noise: GradientNoise::default(),
    }
}

fn columns(spec: RunSpec, obj: &dyn Objective, w0: Vec<f64>, names: &[&str]) -> Vec<Vec<f64>> {
    let mut d = Driver::new(spec, Problem::objective(obj), w0).unwrap();
    let idx: Vec<usize> = names
        .iter()
        .map(|n| {
            d.schema()
                .index(n)
                .unwrap_or_else(|| panic!("no column {n}"))
        })
        .collect();
    let mut out = vec![Vec::new(); names.len()];
    while let Some(r) = d.step(Problem::objective(obj)).unwrap() {
        for (o, &i) in out.iter_mut().zip(&idx) {
            o.push(r.get(i));
        }
    }
    out
}

fn quadratic() -> DenseQuadratic {
    let a = DMatrix::from_row_slice(3, 3, &[4.0, 1.0, 0.0, 1.0, 3.0, 0.5, 0.0, 0.5, 1.0]);
    DenseQuadratic::new(a)
}

/// On a quadratic the critical sharpness (found with forward passes only) equals the
/// directional sharpness `uᵀHu/(gᵀu)` of the executed update, for GD and for heavy ball
/// (whose update is not along the gradient).
#[test]
fn critical_sharpness_on_a_quadratic_is_exact() {
    for optimizer in [
        OptimizerConfig::gd(0.1),
        OptimizerConfig::Polyak(Polyak {
            lr: 0.05,
            beta: 0.8,
        }),
    ] {
        let step = StepCurvatureConfig {
            critical_every: 1,
            directional_every: 1,
            critical_tol: 1e-12,
            ..StepCurvatureConfig::default()
        };
        let cols = columns(
            step_spec(optimizer, 30, step),
            &quadratic(),
            vec![1.0, -0.7, 0.4],
            &[
                "critical_sharpness",
                "directional_sharpness",
                "critical_passes",
            ],
        );
        for (t, (&c, &d)) in cols[0].iter().zip(&cols[1]).enumerate() {
            if d > 0.0 {
                assert!(
                    (c - d).abs() < 1e-9 * d,
                    "step {t}: critical {c} vs directional {d}"
                );
            } else {
                // The update ascends (momentum): every step raises the loss, η_c = 0.
                assert_eq!(c, f64::INFINITY, "step {t}: directional {d}");
            }
        }
        // Warm-started from the previous η_c, later searches need few passes at the default
        // tolerance; here (1e-12) about 40.
        assert!(cols[2][29] < 60.0, "{}", cols[2][29]);
    }
    // GD on a quadratic: uᵀHu/gᵀu is the gradient's Rayleigh quotient, ≤ λmax.
    let q = quadratic();
    let w = [1.0, -0.7, 0.4];
    let mut g = vec![0.0; 3];
    q.value_grad(&w, &mut g);
    let mut hg = vec![0.0; 3];
    q.hvp(&w, &g, &mut hg);
    let step = StepCurvatureConfig {
        directional_every: 1,
        ..StepCurvatureConfig::default()
    };
    let cols = columns(
        step_spec(OptimizerConfig::gd(0.1), 1, step),
        &q,
        w.to_vec(),
        &["directional_sharpness", "directional_rayleigh"],
    );
    let rq = dot(&g, &hg) / dot(&g, &g);
    assert!((cols[0][0] - rq).abs() < 1e-12 && (cols[1][0] - rq).abs() < 1e-12);
}

/// `ζ = 1` on a quadratic at `η = 2/λ` along `λ`'s eigenvector (the loss returns to its value
/// each step), and `ζ = ηλ/2` at other rates.
#[test]
fn realized_edge_on_a_quadratic() {
    let q = DenseQuadratic::new(DMatrix::from_diagonal(&DVector::from_vec(vec![
        5.0, 2.0, 0.5,
    ])));
    for (lr, expected) in [(2.0 / 5.0, 1.0), (0.1, 0.25), (0.3, 0.75)] {
        let step = StepCurvatureConfig {
            realized_edge_every: 1,
            ..StepCurvatureConfig::default()
        };
        let cols = columns(
            step_spec(OptimizerConfig::gd(lr), 6, step),
            &q,
            vec![0.7, 0.0, 0.0],
            &["realized_edge"],
        );
        assert!(cols[0][0].is_nan(), "row 0 has no previous update");
        for (t, zeta) in cols[0].iter().enumerate().skip(1) {
            assert!((zeta - expected).abs() < 1e-12, "η {lr}, row {t}: {zeta}");
        }
    }
}

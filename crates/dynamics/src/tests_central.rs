//! Tests of the `central` process and its comparisons with the optimizer, on Berthier's
//! analytic example (arXiv 2609.01034; docs/central-flows.md) and the small tanh regression.

use gdscope_core::optimizer::OptimizerConfig;
use gdscope_core::rules::{Adam, Rmsprop, ScalarRmsprop};
use gdscope_expr::ExprObjective;

use crate::config::TrackingConfig;
use crate::driver::Driver;
use crate::problem::Problem;
use crate::process::ProcessName::{Central, Discrete, Midpoint, Stable};
use crate::testing::TanhRegression;
use crate::tests::{assert_resume_is_bit_for_bit, run, spec};

const ETA: f64 = 0.3;
const EPS: f64 = 0.01;

/// `f = ½(y + x)x² − ε(x + y)`: in the valley `x = 0` the sharpness is `y`, which grows at
/// rate `ηε` under gradient flow; GD locks `ηy` near 2 and its time average of `x²` is `2ε`.
fn minimal() -> ExprObjective {
    let vars = ["x".to_string(), "y".to_string()];
    ExprObjective::new(&format!("0.5*(y + x)*x^2 - {EPS}*(x + y)"), Some(&vars)).unwrap()
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

/// GD, its gradient flow and its central flow in lockstep from `(0.05, 1.99/η)`: the
/// central flow holds the sharpness at `2/η` with one critical eigenvalue, the gradient flow
/// sharpens past it, the central flow stays near GD and far from the gradient flow, its
/// predicted loss and oscillation variance match GD's time averages.
#[test]
fn berthier_minimal_example_in_lockstep() {
    let obj = minimal();
    let mut s = spec(400, OptimizerConfig::gd(ETA), &[Discrete, Stable, Central]);
    s.tracking = TrackingConfig {
        every: 1,
        top_k: 1,
        tol: 1e-10,
        eval_every: 0,
        ..TrackingConfig::default()
    };
    let (d, rows) = run(s, &obj, vec![0.05, 1.99 / ETA]);
    assert!(d.halted().is_empty(), "{:?}", d.halted());
    assert_eq!(rows.rows.len(), 400);
    // ηS = 2.035 at the start (x₀ = 0.05 adds 3x₀ to the curvature): the flow lowers it at once.
    let central = rows.col("central.sharpness");
    assert!(
        central[1..].iter().all(|s| ETA * s <= 2.0 + 1e-6),
        "{central:?}"
    );
    assert!((ETA * central[399] - 2.0).abs() < 1e-6);
    let k = rows.col("central.critical_k");
    let onset = k
        .iter()
        .position(|&k| k == 1.0)
        .expect("the flow reaches the edge");
    assert!(
        onset < 100 && k[onset..].iter().all(|&k| k == 1.0),
        "onset {onset}"
    );
    assert!(ETA * rows.col("stable.sharpness")[399] > 2.3);
    let to_central = rows.col("distance.central-discrete")[399];
    let to_stable = rows.col("distance.discrete-stable")[399];
    assert!(to_central < 0.2 * to_stable, "{to_central} vs {to_stable}");
    // Time averages over steps 100–399 (GD's self-stabilization loops last ~100 steps, so
    // shorter windows still fluctuate). The loss is ≈ 0 at the edge (½ηy⟨x²⟩ = εy), so its
    // error is measured against the size εy of either term.
    let window = 100..400;
    let gd_loss = mean(&rows.col("loss")[window.clone()]);
    let predicted = mean(&rows.col("central.predicted_loss")[window.clone()]);
    let scale = EPS * 2.0 / ETA;
    assert!(
        (predicted - gd_loss).abs() < 0.05 * scale,
        "{predicted} vs {gd_loss}"
    );
    let delta = mean(&rows.col("delta_sq_1")[window.clone()]);
    let sigma = mean(&rows.col("central.sigma_1")[window.clone()]);
    // ⟨x²⟩ = 2ε along GD, Σ_xx = η·X for GD: sigma_1 → 2ε/η.
    assert!((sigma - 2.0 * EPS / ETA).abs() < 0.02 * sigma, "{sigma}");
    assert!((delta / sigma - 1.0).abs() < 0.1, "{delta} vs {sigma}");
    // tr Σ = η tr X and the SDCP converged.
    let trace = rows.col("central.sigma_trace");
    assert!((trace[399] - ETA * rows.col("central.sigma_1")[399]).abs() < 1e-9);
    assert!(rows.col("central.sdcp_residual")[onset..]
        .iter()
        .all(|r| *r < 1e-10));
    assert!(rows
        .col("central.sdcp_not_converged")
        .iter()
        .all(|&c| c == 0.0 || c.is_nan()));
}

/// Below the edge no eigenvalue is critical and the central flow is the stable flow up to
/// the discretization error: forward Euler with dt = 1/n here, RK4 there, so the largest gap
/// shrinks fourfold from n = 4 to n = 16 (first order).
#[test]
fn below_the_edge_the_central_flow_is_the_stable_flow() {
    let obj = TanhRegression::new(24, 5);
    let w0 = vec![0.1, -0.3, 0.2, 0.05, -0.1];
    let gap = |nsubsteps: usize| {
        let mut s = spec(40, OptimizerConfig::gd(0.2), &[Discrete, Stable, Central]);
        s.tracking.every = 0;
        s.process.central.nsubsteps = nsubsteps;
        let (d, rows) = run(s, &obj, w0.clone());
        assert!(rows.col("central.critical_k").iter().all(|&k| k == 0.0));
        assert!(rows.col("central.sharpness").iter().all(|s| 0.2 * s < 1.0));
        let end = d.processes()[2].get().point().to_vec();
        let moved = end
            .iter()
            .zip(&w0)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let gap = rows
            .col("distance.central-stable")
            .into_iter()
            .fold(0.0, f64::max);
        (moved, gap)
    };
    let (moved, coarse) = gap(4);
    let (_, fine) = gap(16);
    assert!(coarse < 0.05 * moved, "moved {moved}, gap {coarse}");
    let ratio = coarse / fine;
    assert!(
        (3.5..4.5).contains(&ratio),
        "gap ratio {ratio} ({coarse} vs {fine})"
    );
}

/// All four processes, interrupted at step 23 and resumed from the serialized state, equal
/// the uninterrupted run bit for bit: GD, scalar RMSProp and RMSProp (ν beside the weights).
#[test]
fn resume_is_bit_for_bit_with_all_four_processes() {
    let obj = TanhRegression::new(24, 5);
    let w0 = vec![0.1, -0.3, 0.2, 0.05, -0.1];
    let rules = [
        OptimizerConfig::gd(1.2),
        OptimizerConfig::ScalarRmsprop(ScalarRmsprop(Rmsprop {
            lr: 0.05,
            beta2: 0.9,
            eps: 0.0,
        })),
        OptimizerConfig::Rmsprop(Rmsprop {
            lr: 0.02,
            beta2: 0.9,
            eps: 1e-8,
        }),
    ];
    for rule in rules {
        let name = rule.name();
        let mut s = spec(40, rule, &[Discrete, Central, Stable, Midpoint]);
        s.tracking.every = 5;
        s.process.stable.tracking.every = Some(5);
        let rows = assert_resume_is_bit_for_bit(s, &obj, w0.clone());
        for col in [
            "central.loss",
            "central.predicted_loss",
            "central.eig_1",
            "distance.central-discrete",
        ] {
            assert!(rows.col(col).iter().all(|v| v.is_finite()), "{name}: {col}");
        }
        match name {
            "scalar_rmsprop" => {
                assert!(rows.col("effective_lr")[10].is_finite());
                assert!(rows.col("central.edge_lr")[10].is_finite());
                assert!(rows.col("central.effective_lr")[10].is_finite());
            }
            "rmsprop" => {
                assert!(rows.col("central.nu[3]")[10] > 0.0 && rows.col("nu[3]")[10] > 0.0);
                assert!(rows.col("stable.nu[0]")[10] > 0.0);
            }
            _ => assert!(rows.schema.index("effective_lr").is_none()),
        }
    }
}

/// A rule without a flow, and tracking overrides the central flow decides itself, are
/// refused before the run starts, naming the field.
#[test]
fn central_settings_are_checked() {
    let obj = TanhRegression::new(8, 3);
    let adam = OptimizerConfig::Adam(Adam {
        lr: 0.01,
        beta1: 0.9,
        beta2: 0.999,
        eps: 1e-8,
    });
    let e = Driver::new(
        spec(5, adam, &[Discrete, Central]),
        Problem::objective(&obj),
        vec![0.1; 3],
    )
    .err()
    .unwrap()
    .to_string();
    assert!(e.contains("central") && e.contains("adam"), "{e}");
    let mut s = spec(5, OptimizerConfig::gd(0.1), &[Discrete, Central]);
    s.process.central.tracking.every = Some(3);
    let e = Driver::new(s, Problem::objective(&obj), vec![0.1; 3])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("process.central.tracking.every"), "{e}");
    let mut s = spec(5, OptimizerConfig::gd(0.1), &[Discrete, Central]);
    s.process.central.k_max = 11;
    let e = Driver::new(s, Problem::objective(&obj), vec![0.1; 3])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("k_max"), "{e}");
    let mut s = spec(5, OptimizerConfig::gd(0.1), &[Discrete, Central]);
    s.process.central.nu_coordinates = vec![7];
    let e = Driver::new(s, Problem::objective(&obj), vec![0.1; 3])
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("nu_coordinates"), "{e}");
}

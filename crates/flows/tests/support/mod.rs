//! Shared by the integration tests and the `analytic_checks` example: Berthier's analytic
//! objectives (arXiv 2609.01034) and one substep at a given state.
#![allow(dead_code)] // each test binary uses a part

use gdscope_core::optimizer::{Flow, Rule};
use gdscope_core::rules::{Gd, OptimizerConfig};
use gdscope_core::Objective;
use gdscope_expr::ExprObjective;
use gdscope_flows::driver::discrete_average;
use gdscope_flows::substep::{central_velocity, Scratch, Substep};
use gdscope_flows::{CentralSettings, EigenSolver, FlowState};

/// The learning rate of Berthier's examples.
pub const ETA: f64 = 0.3;

/// GD at [`ETA`] with a constant learning rate.
pub fn gd() -> Rule {
    Rule::constant(OptimizerConfig::Gd(Gd { lr: ETA })).expect("valid rule")
}

/// An expression objective over `vars` (in that order).
pub fn objective(src: &str, vars: &[&str]) -> ExprObjective {
    let vars: Vec<String> = vars.iter().map(|v| v.to_string()).collect();
    ExprObjective::new(src, Some(&vars)).expect("valid expression")
}

/// The minimal example `f = ½(y + x)x² − ε(x + y)` over `(x, y)`.
pub fn minimal(eps: f64) -> ExprObjective {
    objective(&format!("0.5*(y + x)*x^2 - {eps}*(x + y)"), &["x", "y"])
}

/// The variables of [`codim2`].
pub const CODIM2_VARS: [&str; 5] = ["x1", "x2", "y1", "y2", "y3"];

/// The codimension-2 example in ℝ⁵: `g = ½xᵀH[y]x + ½(x₁³ + x₂³)`,
/// `H[y] = [[y₁, y₃/√2], [y₃/√2, y₂]]`, `h = −x₁ − 2y₁ − y₂ − y₃`, `f = g + εh`.
pub fn codim2(eps: f64) -> ExprObjective {
    objective(
        &format!(
            "0.5*(y1*x1^2 + sqrt(2)*y3*x1*x2 + y2*x2^2) + 0.5*(x1^3 + x2^3) \
             - {eps}*(x1 + 2*y1 + y2 + y3)"
        ),
        &CODIM2_VARS,
    )
}

/// `‖a − b‖₂`.
pub fn dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

/// One central-flow substep of size `dt` at `state` with the default settings and cold
/// eigen-solver.
pub fn substep(obj: &dyn Objective, flow: Flow<'_>, state: &FlowState, dt: f64) -> Substep {
    let settings = CentralSettings::default();
    let mut p = vec![0.0; state.w.len()];
    flow.preconditioner(state.optimizer.t, &state.optimizer.buffers, &mut p)
        .unwrap();
    let mut solver = EigenSolver::new(&settings.eigen, Some(settings.track_threshold)).unwrap();
    let eig = solver.solve(obj, &state.w, &p).unwrap();
    central_velocity(
        obj,
        flow,
        state,
        &eig,
        dt,
        &settings,
        &mut Scratch::default(),
    )
    .unwrap()
}

/// The average of `f` over GD iterates `from..to` (learning rate [`ETA`]).
pub fn gd_average(
    obj: &dyn Objective,
    w0: &[f64],
    from: usize,
    to: usize,
    f: impl Fn(&[f64]) -> Vec<f64>,
) -> Vec<f64> {
    discrete_average(obj, &gd(), w0, from, to, f).unwrap()
}

/// Asserts that a `k = 1` substep has the given `α` and `β` and `X = max(0, −α/β)`, and
/// returns that `X`.
pub fn assert_k1_closed_form(sub: &Substep, alpha: f64, beta: f64) -> f64 {
    assert_eq!(sub.critical_k, 1);
    let x = (-alpha / beta).max(0.0);
    let (a, b, xs) = (sub.alpha[(0, 0)], sub.beta[(0, 0)], sub.x[(0, 0)]);
    assert!((a - alpha).abs() < 1e-9, "α {a} vs {alpha}");
    assert!((b / beta - 1.0).abs() < 1e-9, "β {b} vs {beta}");
    assert!((xs - x).abs() <= 1e-8 * x.max(1e-12), "X {xs} vs {x}");
    assert!(sub.sdcp.as_ref().unwrap().converged());
    x
}

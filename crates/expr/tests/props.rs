//! Property tests: printing a parsed expression and re-parsing gives the same tree and
//! value; the batch gradient kernel agrees with the exact `num-dual` gradient on random
//! expressions and on every built-in.

use gdscope_core::Objective;
use gdscope_expr::ast::{BinOp, Constant, Expr};
use gdscope_expr::{
    builtin, builtin_names, parse, BuiltinParams, ExprObjective, Func, KernelScratch,
};
use proptest::prelude::*;

const VARS: [&str; 3] = ["x", "y", "z"];

fn leaf() -> impl Strategy<Value = Expr> {
    prop_oneof![
        (0.0f64..10.0).prop_map(Expr::Num),
        prop::sample::select(vec![0.5, 1.0, 2.0, 3.0, 1e-3, 2.5e2]).prop_map(Expr::Num),
        prop::sample::select(vec![Constant::Pi, Constant::E]).prop_map(Expr::Const),
        prop::sample::select(VARS.to_vec()).prop_map(|v| Expr::Var(v.to_string())),
    ]
}

/// Random trees over every operator and function.
fn expr(ops: Vec<BinOp>, funcs: Vec<Func>) -> impl Strategy<Value = Expr> {
    leaf().prop_recursive(4, 24, 2, move |inner| {
        prop_oneof![
            inner.clone().prop_map(|a| Expr::Neg(Box::new(a))),
            (
                prop::sample::select(ops.clone()),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| Expr::Binary(op, Box::new(a), Box::new(b))),
            (prop::sample::select(funcs.clone()), inner)
                .prop_map(|(f, a)| Expr::Call(f, Box::new(a))),
        ]
    })
}

fn all_ops() -> Vec<BinOp> {
    vec![BinOp::Add, BinOp::Sub, BinOp::Mul, BinOp::Div, BinOp::Pow]
}

fn vars() -> Vec<String> {
    VARS.map(String::from).to_vec()
}

fn same(a: f64, b: f64) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn print_then_parse_round_trips(e in expr(all_ops(), Func::ALL.to_vec()), x in prop::array::uniform3(-2.0f64..2.0)) {
        let printed = e.to_string();
        let parsed = parse(&printed, Some(&vars())).unwrap();
        prop_assert_eq!(&parsed.expr, &e, "printed as {}", printed);
        let f1 = ExprObjective::new(&printed, Some(&vars())).unwrap();
        let f2 = ExprObjective::new(&parsed.expr.to_string(), Some(&vars())).unwrap();
        prop_assert!(same(f1.value(&x), f2.value(&x)));
    }

    /// Smooth expressions (no division, no powers with variable exponents, functions defined
    /// everywhere) so that the two gradient methods are compared where both are finite.
    #[test]
    fn kernel_matches_exact_gradient(
        e in expr(vec![BinOp::Add, BinOp::Sub, BinOp::Mul],
                  vec![Func::Sin, Func::Cos, Func::Tanh, Func::Sigmoid, Func::Softplus, Func::Exp]),
        pts in prop::collection::vec(prop::array::uniform3(-1.5f64..1.5), 1..40),
    ) {
        let f = ExprObjective::new(&e.to_string(), Some(&vars())).unwrap();
        let k = f.gradient_kernel();
        prop_assert_eq!(k.nvars(), 3);
        let cols: Vec<Vec<f64>> = (0..3).map(|i| pts.iter().map(|p| p[i]).collect()).collect();
        let mut out = vec![vec![0.0; pts.len()]; 3];
        let mut scratch = KernelScratch::new(&k, 8);
        let xs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let mut gs: Vec<&mut [f64]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
        k.eval_grad_batch(&xs, &mut gs, &mut scratch);
        for (p, pt) in pts.iter().enumerate() {
            let mut g = [0.0; 3];
            f.value_grad(pt, &mut g);
            prop_assume!(g.iter().all(|v| v.is_finite() && v.abs() < 1e6));
            for i in 0..3 {
                let tol = 1e-10 * (1.0 + g[i].abs());
                prop_assert!((out[i][p] - g[i]).abs() <= tol, "{}: ∂{} at {:?}: kernel {} exact {}", e, VARS[i], pt, out[i][p], g[i]);
            }
        }
    }
}

/// Kernel vs exact gradient on every built-in (and a rotated cubic quadratic), at points
/// around the default start.
#[test]
fn kernel_matches_exact_gradient_on_builtins() {
    let mut cases: Vec<(String, BuiltinParams)> = builtin_names()
        .iter()
        .map(|n| (n.to_string(), BuiltinParams::default()))
        .collect();
    cases.push((
        "quadratic".into(),
        BuiltinParams {
            spectrum: Some(vec![1.0, 2.0, 5.0]),
            rotate_seed: Some(3),
            cubic: Some(0.7),
            dim: None,
        },
    ));
    cases.push((
        "rosenbrock".into(),
        BuiltinParams {
            dim: Some(5),
            ..Default::default()
        },
    ));
    for (name, p) in cases {
        let b = builtin(&name, &p).unwrap();
        let f = ExprObjective::new(&b.expr, Some(&b.vars)).unwrap();
        let k = f.gradient_kernel();
        let n = b.vars.len();
        let m = 37;
        let cols: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..m)
                    .map(|p| b.x0[i] + ((p * (i + 3)) as f64 * 0.37).sin())
                    .collect()
            })
            .collect();
        let xs: Vec<&[f64]> = cols.iter().map(|c| c.as_slice()).collect();
        let mut out = vec![vec![0.0; m]; n];
        let mut gs: Vec<&mut [f64]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
        // A scratch sized for fewer lanes grows on demand.
        let mut scratch = KernelScratch::new(&k, 4);
        k.eval_grad_batch(&xs, &mut gs, &mut scratch);
        for p in 0..m {
            let x: Vec<f64> = cols.iter().map(|c| c[p]).collect();
            let mut g = vec![0.0; n];
            f.value_grad(&x, &mut g);
            for i in 0..n {
                assert!(
                    (out[i][p] - g[i]).abs() <= 1e-12 * (1.0 + g[i].abs()),
                    "{name}: ∂{} kernel {} exact {}",
                    b.vars[i],
                    out[i][p],
                    g[i]
                );
            }
        }
    }
}

#[test]
fn kernel_handles_constant_and_identity_gradients() {
    // ∂/∂x (3x + y²/2) = 3 (a constant), ∂/∂y = y (the input itself), ∂/∂z = 0.
    let f = ExprObjective::new("3*x + y^2/2", Some(&vars())).unwrap();
    let k = f.gradient_kernel();
    let (x, y, z) = ([1.0, 2.0], [-4.0, 5.0], [0.0, 1.0]);
    let mut out = vec![vec![9.0; 2]; 3];
    let mut gs: Vec<&mut [f64]> = out.iter_mut().map(|c| c.as_mut_slice()).collect();
    k.eval_grad_batch(&[&x, &y, &z], &mut gs, &mut KernelScratch::new(&k, 2));
    assert_eq!(out, vec![vec![3.0, 3.0], vec![-4.0, 5.0], vec![0.0, 0.0]]);
}

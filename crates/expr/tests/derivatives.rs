//! Exact derivatives of `ExprObjective` against central finite differences (error must
//! shrink like ε²) and closed forms.

use gdscope_core::linalg::sym_eigen;
use gdscope_core::{pair_index, Block, Derivatives, Objective, Request};
use gdscope_expr::{builtin, BuiltinParams, ExprObjective};

/// Expressions covering every operator and function, with a point inside their domain.
const CASES: &[(&str, &[f64])] = &[
    ("x^2 + y^2/2 + x^2*y + x^3", &[0.3, -0.4]),
    ("exp(x)*log(y) - sqrt(x*y) + x/y", &[0.7, 1.6]),
    ("sin(x)*cos(y) + tan(x/3) - tanh(x*y)", &[0.4, -0.9]),
    (
        "sinh(x) + cosh(y)^2 + sigmoid(x - 2*y) + softplus(3*y)",
        &[-0.2, 0.5],
    ),
    ("x^y + 2^x + y^-1.5 + e^(x*y) - pi*x", &[1.3, 0.8]),
    ("-x^2**2 + (x - y)**3 / (1 + z^2)", &[0.6, -0.3, 1.1]),
];

fn obj(src: &str) -> ExprObjective {
    ExprObjective::new(src, None).unwrap()
}

fn axpy(x: &[f64], a: f64, d: &[f64]) -> Vec<f64> {
    x.iter().zip(d).map(|(x, d)| x + a * d).collect()
}

fn max_err(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

fn dir(n: usize, seed: f64) -> Vec<f64> {
    (0..n).map(|i| ((i as f64 + 1.0) * seed).sin()).collect()
}

/// Central difference of `g` along `d` at two step sizes; asserts agreement with `exact`
/// and that the error falls by ≳ 4× when the step halves (second-order convergence), unless
/// it is already at rounding level.
fn check_fd(name: &str, exact: &[f64], g: impl Fn(&[f64]) -> Vec<f64>, x: &[f64], d: &[f64]) {
    let fd = |h: f64| -> Vec<f64> {
        let (p, m) = (g(&axpy(x, h, d)), g(&axpy(x, -h, d)));
        p.iter().zip(&m).map(|(p, m)| (p - m) / (2.0 * h)).collect()
    };
    let scale = 1.0 + exact.iter().map(|v| v.abs()).fold(0.0, f64::max);
    let e1 = max_err(&fd(1e-3), exact);
    let e2 = max_err(&fd(5e-4), exact);
    assert!(e2 < 1e-5 * scale, "{name}: error {e2} (exact {exact:?})");
    assert!(
        e2 < e1 / 3.0 || e2 < 1e-9 * scale,
        "{name}: error {e1} → {e2} is not O(ε²)"
    );
}

#[test]
fn gradient_hvp_and_third_order_match_finite_differences() {
    for &(src, x) in CASES {
        let f = obj(src);
        let n = f.dim();
        assert_eq!(n, x.len(), "{src}");
        let (u, v) = (dir(n, 0.7), dir(n, 1.9));
        // Gradient vs differences of the value.
        let mut grad = vec![0.0; n];
        f.value_grad(x, &mut grad);
        check_fd(src, &[dot(&grad, &v)], |y| vec![f.value(y)], x, &v);
        // HVP vs differences of the gradient.
        let mut hv = vec![0.0; n];
        f.hvp(x, &v, &mut hv);
        let gradient = |y: &[f64]| {
            let mut g = vec![0.0; n];
            f.value_grad(y, &mut g);
            g
        };
        check_fd(src, &hv, gradient, x, &v);
        // ∇(uᵀHv) vs differences of uᵀH(x)v.
        let mut d3 = vec![0.0; n];
        f.third_order(x, &u, &v, &mut d3);
        let uhv = |y: &[f64]| {
            let mut h = vec![0.0; n];
            f.hvp(y, &v, &mut h);
            vec![dot(&u, &h)]
        };
        for i in 0..n {
            let mut e = vec![0.0; n];
            e[i] = 1.0;
            check_fd(src, &[d3[i]], uhv, x, &e);
        }
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

#[test]
fn fused_and_block_paths_agree_with_single_ones() {
    for &(src, x) in CASES {
        let f = obj(src);
        let n = f.dim();
        let (u, v) = (dir(n, 0.3), dir(n, 2.3));
        let mut r = Derivatives::default();
        f.derivatives(x, &Block::from_column_slice(n, 1, &u), Request::ALL, &mut r);
        let (rhu, rd3) = (r.hvps.as_slice().to_vec(), r.pairs.as_slice().to_vec());
        let (mut g, mut hu, mut d3) = (vec![0.0; n], vec![0.0; n], vec![0.0; n]);
        let value = f.value_grad(x, &mut g);
        f.hvp(x, &u, &mut hu);
        f.third_order(x, &u, &u, &mut d3);
        assert!(
            (r.value - value).abs() <= 1e-14 * (1.0 + value.abs()),
            "{src}"
        );
        for (a, b) in [(&r.grad, &g), (&rhu, &hu), (&rd3, &d3)] {
            assert!(
                max_err(a, b) <= 1e-12 * (1.0 + b.iter().map(|t| t.abs()).sum::<f64>()),
                "{src}: {a:?} vs {b:?}"
            );
        }
        // ∇(uᵀHv) is symmetric in u and v; the Hessian is symmetric.
        let (mut uv, mut vu) = (vec![0.0; n], vec![0.0; n]);
        f.third_order(x, &u, &v, &mut uv);
        f.third_order(x, &v, &u, &mut vu);
        assert!(
            max_err(&uv, &vu) < 1e-12 * (1.0 + uv.iter().map(|t| t.abs()).sum::<f64>()),
            "{src}"
        );
        let h = f.hessian(x);
        let hb = f.block_hvp(x, &Block::identity(n, n));
        assert!(
            (&h - &hb).abs().max() < 1e-12 * (1.0 + h.abs().max()),
            "{src}"
        );
    }
}

/// `derivatives` with several directions (Dual2 sweeps for `H uᵢ` and the squares, hyper-dual
/// sweeps for `i < j`) equals `block_hvp` and pairwise `third_order`.
#[test]
fn derivatives_with_a_block_equal_the_single_vector_methods() {
    for &(src, x) in CASES {
        let f = obj(src);
        let n = f.dim();
        let us = Block::from_fn(n, 3, |i, j| ((i * 5 + j * 3 + 1) as f64 * 0.77).sin());
        let mut d = Derivatives::default();
        f.derivatives(x, &us, Request::ALL, &mut d);
        let hb = f.block_hvp(x, &us);
        assert!(
            (&d.hvps - &hb).abs().max() <= 1e-12 * (1.0 + hb.abs().max()),
            "{src}"
        );
        for i in 0..3 {
            for j in i..3 {
                let mut t = vec![0.0; n];
                f.third_order(x, us.column(i).as_slice(), us.column(j).as_slice(), &mut t);
                let col = d.pairs.column(pair_index(i, j, 3));
                assert!(
                    max_err(col.as_slice(), &t)
                        <= 1e-12 * (1.0 + t.iter().map(|v| v.abs()).sum::<f64>()),
                    "{src} ({i},{j})"
                );
            }
        }
        let mut g = vec![0.0; n];
        assert_eq!(d.value, f.value_grad(x, &mut g));
        assert_eq!(d.grad, g);
    }
}

#[test]
fn closed_forms() {
    // f = x³y: ∇ = (3x²y, x³), H = [[6xy, 3x²], [3x², 0]], ∇(e₁ᵀHe₁) = ∇(6xy) = (6y, 6x).
    let f = obj("x^3*y");
    let (x, y) = (0.7, -1.2);
    let mut g = [0.0; 2];
    assert!((f.value_grad(&[x, y], &mut g) - x * x * x * y).abs() < 1e-15);
    assert!(max_err(&g, &[3.0 * x * x * y, x * x * x]) < 1e-15);
    let h = f.hessian(&[x, y]);
    assert!(max_err(h.as_slice(), &[6.0 * x * y, 3.0 * x * x, 3.0 * x * x, 0.0]) < 1e-15);
    let mut d3 = [0.0; 2];
    f.third_order(&[x, y], &[1.0, 0.0], &[1.0, 0.0], &mut d3);
    assert!(max_err(&d3, &[6.0 * y, 6.0 * x]) < 1e-14);
    // A variable listed but unused has zero derivatives.
    let vars: Vec<String> = ["x", "y", "z"].map(String::from).to_vec();
    let f = ExprObjective::new("x*y", Some(&vars)).unwrap();
    let mut g = [1.0; 3];
    f.value_grad(&[2.0, 3.0, 4.0], &mut g);
    assert_eq!(g, [3.0, 2.0, 0.0]);
    assert_eq!(f.vars(), ["x", "y", "z"]);
    assert_eq!(f.source(), "x*y");
}

fn spectrum_at(b: &gdscope_expr::Builtin, x: &[f64]) -> Vec<f64> {
    let f = ExprObjective::new(&b.expr, Some(&b.vars)).unwrap();
    let mut g = vec![0.0; f.dim()];
    f.value_grad(x, &mut g);
    assert!(
        g.iter().all(|v| v.abs() < 1e-12),
        "{}: gradient {g:?} at the minimum",
        b.name
    );
    sym_eigen(&f.hessian(x)).values
}

#[test]
fn builtin_minima_have_the_documented_hessians() {
    let p = BuiltinParams::default();
    for (name, want) in [
        ("paper-fig1", vec![1.0, 4.0]),
        ("paper-fig1-perturbed", vec![1.0, 4.0]),
        ("paper-fig2", vec![1.0, 2.0]),
    ] {
        let b = builtin(name, &p).unwrap();
        let got = spectrum_at(&b, b.minimum.as_ref().unwrap());
        assert!(max_err(&got, &want) < 1e-14, "{name}: {got:?}");
    }
    let spectrum = vec![0.5, 1.0, 3.0, 7.5];
    let q = BuiltinParams {
        spectrum: Some(spectrum.clone()),
        rotate_seed: Some(11),
        cubic: Some(0.3),
        dim: None,
    };
    let b = builtin("quadratic", &q).unwrap();
    let got = spectrum_at(&b, &[0.0; 4]);
    assert!(max_err(&got, &spectrum) < 1e-13, "{got:?}");
    // The rotation really rotates: the Hessian is not diagonal.
    let f = ExprObjective::new(&b.expr, Some(&b.vars)).unwrap();
    let h = f.hessian(&[0.0; 4]);
    assert!(h[(0, 1)].abs() > 1e-3, "{h}");
    // Rosenbrock: ∇²f(1, 1) = [[802, −400], [−400, 200]].
    let b = builtin("rosenbrock", &p).unwrap();
    let got = spectrum_at(&b, &[1.0, 1.0]);
    let tr = 1002.0_f64;
    let det = 802.0 * 200.0 - 400.0 * 400.0;
    let disc = (tr * tr / 4.0 - det).sqrt();
    assert!(
        max_err(&got, &[tr / 2.0 - disc, tr / 2.0 + disc]) < 1e-9,
        "{got:?}"
    );
}

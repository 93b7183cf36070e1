//! Every layer and loss: gradient, HVP and third-order vectors against central finite
//! differences with ε² error scaling; consistency of the fused and block paths.

mod common;

use common::*;
use gdscope_core::linalg::dot;
use gdscope_core::{Block, Derivatives, Objective, Request};
use gdscope_nn::{Dtype, Init, Loss};

const ACTS: [&str; 8] = [
    "identity",
    "tanh",
    "relu",
    "gelu",
    "gelu-tanh",
    "softplus",
    "elu",
    "swish",
];

fn for_each_case(mut f: impl FnMut(&str, Loss)) {
    for act in ACTS {
        for loss in [Loss::Mse, Loss::CrossEntropy] {
            f(&format!("mlp:3-5-4-3:{act}"), loss);
        }
    }
}

#[test]
fn gradient_hvp_and_third_order_match_finite_differences_with_eps_squared_error() {
    for_each_case(|spec, loss| {
        let obj = problem(spec, loss, 9, Dtype::F64, 3);
        let w: Vec<f64> = obj
            .init(Init::Xavier, 11)
            .iter()
            .zip(randn(obj.dim(), 5))
            .map(|(a, b)| a + 0.1 * b)
            .collect();
        let u = randn(obj.dim(), 21);
        let v = randn(obj.dim(), 22);
        let what = format!("{spec} {loss:?}");
        // relu and elu have kinks (in f′ and f″ at 0): keep the steps small enough not to cross one.
        // swish's gradient at this point is small next to its third derivative: a shorter step
        // keeps the O(h²) difference error below the 1e-4 relative bound.
        let h = if spec.ends_with(":relu") || spec.ends_with(":elu") {
            5e-5
        } else if spec.ends_with(":swish") {
            2e-4
        } else {
            1e-3
        };

        let mut g = vec![0.0; obj.dim()];
        let value = obj.value_grad(&w, &mut g);
        assert!((value - obj.value(&w)).abs() <= 1e-15 * value.abs());
        let val = |x: &[f64]| vec![obj.value(x)];
        assert_eps_squared(&format!("{what} gradient"), &val, &w, &u, &[dot(&g, &u)], h);

        let grad = |x: &[f64]| {
            let mut g = vec![0.0; obj.dim()];
            obj.value_grad(x, &mut g);
            g
        };
        let mut hv = vec![0.0; obj.dim()];
        obj.hvp(&w, &v, &mut hv);
        assert_eps_squared(&format!("{what} HVP"), &grad, &w, &v, &hv, h);

        let hvp_v = |x: &[f64]| {
            let mut out = vec![0.0; obj.dim()];
            obj.hvp(x, &v, &mut out);
            out
        };
        let mut t = vec![0.0; obj.dim()];
        obj.third_order(&w, &u, &v, &mut t);
        assert_eps_squared(&format!("{what} third order"), &hvp_v, &w, &u, &t, h);

        // Fused one-pass results (the all-pairs jet of one direction, `1, ε, ε²`) agree with
        // the separate paths, Taylor factor included.
        let fused = fused(&obj, &w, &v);
        let mut hvv = vec![0.0; obj.dim()];
        obj.third_order(&w, &v, &v, &mut hvv);
        assert!((fused.value - value).abs() <= 1e-14 * value.abs());
        assert!(dist(&fused.grad, &g) <= 1e-13 * common_scale(&g));
        assert!(dist(&fused.hu, &hv) <= 1e-13 * common_scale(&hv));
        assert!(
            dist(&fused.d3, &hvv) <= 1e-12 * common_scale(&hvv),
            "{what}: fused d3"
        );
    });
}

fn common_scale(v: &[f64]) -> f64 {
    gdscope_core::linalg::norm(v).max(1e-12)
}

#[test]
fn hvp_matches_dense_hessian_from_gradient_differences_column_by_column() {
    for (spec, loss) in [
        ("mlp:2-3-2:tanh", Loss::Mse),
        ("mlp:2-4-3:gelu", Loss::CrossEntropy),
    ] {
        let obj = problem(spec, loss, 5, Dtype::F64, 9);
        let w = obj.init(Init::LeCun, 1);
        let p = obj.dim();
        let h = obj.hessian(&w);
        let grad = |x: &[f64]| {
            let mut g = vec![0.0; p];
            obj.value_grad(x, &mut g);
            g
        };
        let mut max_err: f64 = 0.0;
        for j in 0..p {
            let mut e = vec![0.0; p];
            e[j] = 1.0;
            let col = central(&grad, &w, &e, 1e-4);
            for i in 0..p {
                max_err = max_err.max((col[i] - h[(i, j)]).abs());
            }
        }
        let scale = h.abs().max();
        assert!(
            max_err < 1e-7 * scale.max(1.0),
            "{spec}: max |H_fd − H| = {max_err:e}"
        );
    }
}

#[test]
fn block_hvp_equals_single_hvps_including_chunked_blocks() {
    let obj = problem("mlp:4-6-5-3:gelu-tanh", Loss::Mse, 7, Dtype::F64, 2);
    let w = obj.init(Init::LeCun, 3);
    for k in [3usize, 11] {
        let vs = Block::from_fn(obj.dim(), k, |i, j| ((i * 31 + j * 17) as f64 * 0.37).sin());
        let block = obj.block_hvp(&w, &vs);
        for j in 0..k {
            let v: Vec<f64> = vs.column(j).iter().copied().collect();
            let mut hv = vec![0.0; obj.dim()];
            obj.hvp(&w, &v, &mut hv);
            let col: Vec<f64> = block.column(j).iter().copied().collect();
            assert!(
                dist(&col, &hv) <= 1e-13 * common_scale(&hv),
                "k={k} column {j}"
            );
        }
    }
}

#[test]
fn derivative_pairs_match_pairwise_third_order_joint_and_fallback() {
    let obj = problem("mlp:3-5-2:tanh", Loss::CrossEntropy, 6, Dtype::F64, 4);
    let w = obj.init(Init::He, 5);
    for k in [3usize, 5] {
        let us = Block::from_fn(obj.dim(), k, |i, j| {
            ((i * 13 + j * 29 + 1) as f64 * 0.71).cos()
        });
        let mut d = Derivatives::default();
        let request = Request {
            pairs: true,
            ..Request::default()
        };
        obj.derivatives(&w, &us, request, &mut d);
        let pairs = d.pairs;
        assert_eq!(pairs.ncols(), k * (k + 1) / 2);
        let mut c = 0;
        for i in 0..k {
            for j in i..k {
                let ui: Vec<f64> = us.column(i).iter().copied().collect();
                let uj: Vec<f64> = us.column(j).iter().copied().collect();
                let mut t = vec![0.0; obj.dim()];
                obj.third_order(&w, &ui, &uj, &mut t);
                let col: Vec<f64> = pairs.column(c).iter().copied().collect();
                assert!(
                    dist(&col, &t) <= 1e-12 * common_scale(&t),
                    "k={k} pair ({i},{j})"
                );
                c += 1;
            }
        }
    }
}

/// `derivatives` equals the separate calls for every request, with one joint jet (k ≤ 4), the
/// fallback (k = 5) and chunked tangent passes (k = 9); parts not requested stay untouched,
/// and one `Derivatives` is reused across shapes.
#[test]
fn derivatives_equal_separate_calls_for_every_request_and_block_size() {
    let obj = problem(
        "mlp:3-6-4-3:gelu-tanh",
        Loss::CrossEntropy,
        7,
        Dtype::F64,
        12,
    );
    let w = obj.init(Init::LeCun, 4);
    let p = obj.dim();
    let mut g = vec![0.0; p];
    let value = obj.value_grad(&w, &mut g);
    let mut d = Derivatives::default();
    for k in [1usize, 2, 4, 5, 9] {
        let us = Block::from_fn(p, k, |i, j| ((i * 7 + j * 13 + 3) as f64 * 0.41).sin());
        let hvps = obj.block_hvp(&w, &us);
        for bits in 1..8u8 {
            let request = Request {
                value_grad: bits & 1 != 0,
                hvps: bits & 2 != 0,
                pairs: bits & 4 != 0,
            };
            let mut fresh = Derivatives::default();
            for out in [&mut d, &mut fresh] {
                out.value = f64::NAN;
                obj.derivatives(&w, &us, request, out);
                if request.value_grad {
                    assert!(
                        (out.value - value).abs() <= 1e-14 * value.abs(),
                        "k={k} {request:?}"
                    );
                    assert!(
                        dist(&out.grad, &g) <= 1e-13 * common_scale(&g),
                        "k={k} {request:?}"
                    );
                }
                if request.hvps {
                    let err = (&out.hvps - &hvps).abs().max();
                    assert!(err <= 1e-13 * hvps.abs().max(), "k={k} {request:?}");
                }
                if request.pairs {
                    assert_eq!(out.pairs.ncols(), k * (k + 1) / 2);
                    for i in 0..k {
                        for j in i..k {
                            let (ui, uj) = (us.column(i), us.column(j));
                            let mut t = vec![0.0; p];
                            obj.third_order(&w, ui.as_slice(), uj.as_slice(), &mut t);
                            let col = out.pairs.column(gdscope_core::pair_index(i, j, k));
                            assert!(
                                dist(col.as_slice(), &t) <= 1e-12 * common_scale(&t),
                                "k={k} {request:?} pair ({i},{j})"
                            );
                        }
                    }
                }
            }
            if !request.value_grad {
                assert!(fresh.value.is_nan() && fresh.grad.is_empty(), "{request:?}");
            }
            if !request.hvps {
                assert!(fresh.hvps.is_empty(), "{request:?}");
            }
            if !request.pairs {
                assert!(fresh.pairs.is_empty(), "{request:?}");
            }
        }
    }
}

#[test]
fn f32_and_f64_agree() {
    for loss in [Loss::Mse, Loss::CrossEntropy] {
        let spec = "mlp:6-16-16-3:gelu-tanh";
        let a = problem(spec, loss, 20, Dtype::F64, 8);
        let b = problem(spec, loss, 20, Dtype::F32, 8);
        let w = a.init(Init::LeCun, 2);
        let u = randn(a.dim(), 3);
        let v = randn(a.dim(), 4);
        let rel = |x: &[f64], y: &[f64]| dist(x, y) / common_scale(x);
        let (fa, fb) = (fused(&a, &w, &u), fused(&b, &w, &u));
        assert!((fa.value - fb.value).abs() < 1e-6 * fa.value.abs());
        assert!(rel(&fa.grad, &fb.grad) < 1e-5, "{loss:?} grad");
        assert!(rel(&fa.hu, &fb.hu) < 1e-5, "{loss:?} hu");
        assert!(rel(&fa.d3, &fb.d3) < 1e-4, "{loss:?} d3");
        let (mut ta, mut tb) = (vec![0.0; a.dim()], vec![0.0; a.dim()]);
        a.third_order(&w, &u, &v, &mut ta);
        b.third_order(&w, &u, &v, &mut tb);
        assert!(rel(&ta, &tb) < 1e-4, "{loss:?} third order");
    }
}

#[test]
fn minibatch_gradient_and_hvp_equal_objective_on_the_subset() {
    let full = problem("mlp:3-4-2:softplus", Loss::Mse, 10, Dtype::F64, 6);
    let w = full.init(Init::LeCun, 1);
    let idx = [7usize, 2, 2, 9];
    let mut g = vec![0.0; full.dim()];
    let f = full.value_grad_subset(&w, &idx, &mut g);
    assert_eq!(full.num_examples(), Some(10));
    // The same rows through evaluate(): identical loss.
    let x = randn(10 * 3, 6);
    let y = randn(10 * 2, 7);
    let xs: Vec<f64> = idx
        .iter()
        .flat_map(|&i| x[i * 3..i * 3 + 3].to_vec())
        .collect();
    let ys: Vec<f64> = idx
        .iter()
        .flat_map(|&i| y[i * 2..i * 2 + 2].to_vec())
        .collect();
    let sub =
        gdscope_nn::NetworkObjective::new("mlp:3-4-2:softplus", &xs, &ys, 4, Loss::Mse, Dtype::F64)
            .unwrap();
    let mut gs = vec![0.0; full.dim()];
    let fs = sub.value_grad(&w, &mut gs);
    assert!((f - fs).abs() < 1e-15 * fs.abs());
    assert_eq!(full.value_subset(&w, &idx), f);
    assert!(dist(&g, &gs) < 1e-15 * common_scale(&gs));
    // The minibatch Hessian-vector product likewise.
    let v = randn(full.dim(), 8);
    let (mut hb, mut hs) = (vec![0.0; full.dim()], vec![0.0; full.dim()]);
    full.hvp_subset(&w, &idx, &v, &mut hb);
    sub.hvp(&w, &v, &mut hs);
    assert!(dist(&hb, &hs) < 1e-14 * common_scale(&hs));
    let (loss, acc) = full.evaluate(&w, &xs, &ys).unwrap();
    assert!((loss - fs).abs() < 1e-15 * fs.abs());
    assert!((0.0..=1.0).contains(&acc));
}

#[test]
fn shape_errors_are_reported_not_panics() {
    let e = gdscope_nn::NetworkObjective::new(
        "mlp:3-2:tanh",
        &[0.0; 5],
        &[0.0; 2],
        1,
        Loss::Mse,
        Dtype::F64,
    )
    .err()
    .unwrap();
    assert!(e.to_string().contains("expected n × d = 1 × 3"), "{e}");
    let obj = problem("mlp:3-2:tanh", Loss::Mse, 2, Dtype::F64, 1);
    let w = obj.init(Init::LeCun, 0);
    assert!(obj.evaluate(&w, &[0.0; 6], &[0.0; 3]).is_err());
    assert!(obj.evaluate(&w[1..], &[0.0; 6], &[0.0; 4]).is_err());
}

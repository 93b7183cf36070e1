//! Property tests: the Hessian is symmetric (`uᵀ(Hv) = vᵀ(Hu)`) and the third-order vector is
//! symmetric in its two directions, at random points, in f64.

mod common;

use common::*;
use gdscope_core::linalg::{dot, norm};
use gdscope_core::Objective;
use gdscope_nn::{Dtype, Loss};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn hvp_is_symmetric_and_third_order_is_symmetric(seed in 0u64..10_000, act in 0usize..4, ce in any::<bool>()) {
        let act = ["tanh", "gelu", "gelu-tanh", "softplus"][act];
        let loss = if ce { Loss::CrossEntropy } else { Loss::Mse };
        let obj = problem(&format!("mlp:4-7-5-3:{act}"), loss, 6, Dtype::F64, seed);
        let w: Vec<f64> = randn(obj.dim(), seed + 100).iter().map(|v| 0.5 * v).collect();
        let u = randn(obj.dim(), seed + 200);
        let v = randn(obj.dim(), seed + 300);
        let (mut hu, mut hv) = (vec![0.0; obj.dim()], vec![0.0; obj.dim()]);
        obj.hvp(&w, &u, &mut hu);
        obj.hvp(&w, &v, &mut hv);
        let (a, b) = (dot(&u, &hv), dot(&v, &hu));
        let scale = norm(&u) * norm(&hv);
        prop_assert!((a - b).abs() <= 1e-12 * scale.max(a.abs()), "uᵀHv = {a}, vᵀHu = {b}");
        let (mut tuv, mut tvu) = (vec![0.0; obj.dim()], vec![0.0; obj.dim()]);
        obj.third_order(&w, &u, &v, &mut tuv);
        obj.third_order(&w, &v, &u, &mut tvu);
        prop_assert!(dist(&tuv, &tvu) <= 1e-12 * norm(&tuv).max(1e-300));
    }
}

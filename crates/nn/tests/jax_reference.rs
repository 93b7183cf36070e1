//! Agreement with an independent implementation: JAX (float64) values of the loss, gradient,
//! HVPs and third-order vectors on small MLPs, stored in `fixtures/jax_reference.npz` by
//! `fixtures/make_jax_reference.py`.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::fused;
use gdscope_core::linalg::norm;
use gdscope_core::Objective;
use gdscope_io::npy::{read_npz, NdArray};
use gdscope_nn::{Dtype, Loss, NetworkObjective};

/// Same order as CASES in the script.
const CASES: [(&str, Loss); 7] = [
    ("mlp:5-7-6-3:gelu-tanh", Loss::Mse),
    ("mlp:5-7-3:tanh", Loss::CrossEntropy),
    ("mlp:4-6-6-2:gelu", Loss::Mse),
    ("mlp:4-8-3:elu", Loss::CrossEntropy),
    ("mlp:4-8-3:softplus", Loss::Mse),
    ("mlp:3-5-2:relu", Loss::CrossEntropy),
    ("mlp:8-16-16-1:swish", Loss::Mse),
];

fn get<'a>(f: &'a BTreeMap<String, NdArray>, case: usize, name: &str) -> &'a [f64] {
    &f[&format!("c{case}_{name}")].data
}

fn rel(a: &[f64], b: &[f64]) -> f64 {
    let d: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    norm(&d) / norm(b).max(1e-300)
}

#[test]
fn matches_jax_float64_to_1e_10() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jax_reference.npz");
    let f = read_npz(&path).unwrap();
    for (c, (spec, loss)) in CASES.iter().enumerate() {
        let x = get(&f, c, "x");
        let y = get(&f, c, "y");
        let n = f[&format!("c{c}_x")].shape[0];
        let obj = NetworkObjective::new(spec, x, y, n, *loss, Dtype::F64).unwrap();
        let (w, u, v) = (get(&f, c, "w"), get(&f, c, "u"), get(&f, c, "v"));
        let mut g = vec![0.0; obj.dim()];
        let value = obj.value_grad(w, &mut g);
        let want = get(&f, c, "loss")[0];
        assert!(
            (value - want).abs() <= 1e-12 * want.abs(),
            "{spec}: loss {value} vs {want}"
        );
        assert!(rel(&g, get(&f, c, "grad")) < 1e-10, "{spec}: grad");
        let mut hu = vec![0.0; obj.dim()];
        obj.hvp(w, u, &mut hu);
        assert!(rel(&hu, get(&f, c, "hvp_u")) < 1e-10, "{spec}: hvp_u");
        let mut t = vec![0.0; obj.dim()];
        obj.third_order(w, u, v, &mut t);
        assert!(
            rel(&t, get(&f, c, "d3_uv")) < 1e-10,
            "{spec}: d3_uv {}",
            rel(&t, get(&f, c, "d3_uv"))
        );
        let fused = fused(&obj, w, v);
        assert!(rel(&fused.hu, get(&f, c, "hvp_v")) < 1e-10, "{spec}: hvp_v");
        let mut tuu = vec![0.0; obj.dim()];
        obj.third_order(w, u, u, &mut tuu);
        assert!(rel(&tuu, get(&f, c, "d3_uu")) < 1e-10, "{spec}: d3_uu");
    }
}

//! Shared helpers for the integration tests: small seeded problems and finite differences.

#![allow(dead_code)]

use gdscope_core::linalg::norm;
use gdscope_nn::{Dtype, Loss, NetworkObjective};
use rand::rngs::Xoshiro256PlusPlus;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

/// Seeded standard-normal vector.
pub fn randn(len: usize, seed: u64) -> Vec<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    (0..len)
        .map(|_| rng.sample::<f64, _>(StandardNormal))
        .collect()
}

/// A small network objective: `n` Gaussian inputs, targets regression values (MSE) or
/// one-hot labels (CE).
pub fn problem(spec: &str, loss: Loss, n: usize, dtype: Dtype, seed: u64) -> NetworkObjective {
    let m = gdscope_nn::Model::<f64>::from_spec(spec).unwrap();
    let (d, k) = (m.in_width(), m.out_width());
    let x = randn(n * d, seed);
    let y = match loss {
        Loss::Mse => randn(n * k, seed + 1),
        Loss::CrossEntropy => {
            let mut y = vec![0.0; n * k];
            for i in 0..n {
                y[i * k + (i * 7 + seed as usize) % k] = 1.0;
            }
            y
        }
    };
    NetworkObjective::new(spec, &x, &y, n, loss, dtype).unwrap()
}

/// `w + h·u`.
pub fn axpy(w: &[f64], h: f64, u: &[f64]) -> Vec<f64> {
    w.iter().zip(u).map(|(a, b)| a + h * b).collect()
}

/// Central difference `(F(w + h u) − F(w − h u)) / 2h` of a vector function.
pub fn central(f: &dyn Fn(&[f64]) -> Vec<f64>, w: &[f64], u: &[f64], h: f64) -> Vec<f64> {
    let p = f(&axpy(w, h, u));
    let m = f(&axpy(w, -h, u));
    p.iter().zip(&m).map(|(a, b)| (a - b) / (2.0 * h)).collect()
}

/// `‖a − b‖`.
pub fn dist(a: &[f64], b: &[f64]) -> f64 {
    norm(&a.iter().zip(b).map(|(x, y)| x - y).collect::<Vec<_>>())
}

/// Asserts that `exact` is the derivative that central differences with steps `2h` and `h`
/// approximate, with an error that shrinks like h² (ratio ≈ 4 when h halves) — or is already
/// at rounding level.
pub fn assert_eps_squared(
    what: &str,
    f: &dyn Fn(&[f64]) -> Vec<f64>,
    w: &[f64],
    u: &[f64],
    exact: &[f64],
    h: f64,
) {
    let scale = norm(exact).max(1e-3);
    let e1 = dist(&central(f, w, u, 2.0 * h), exact);
    let e2 = dist(&central(f, w, u, h), exact);
    if e1 < 1e-9 * scale {
        return; // piecewise-polynomial region (relu): differences are exact up to rounding
    }
    let ratio = e1 / e2;
    assert!(
        (3.4..4.6).contains(&ratio) && e2 < 1e-4 * scale,
        "{what}: FD errors {e1:e}, {e2:e} (ratio {ratio:.3}, want ≈ 4), |exact| = {scale:e}"
    );
}

/// `(f, ∇f, H u, ∇(uᵀHu))` at `w` from one [`gdscope_core::Objective::derivatives`] call (what
/// `grad_hvp_third` returned before it was folded into `derivatives`).
pub struct Fused {
    pub value: f64,
    pub grad: Vec<f64>,
    pub hu: Vec<f64>,
    pub d3: Vec<f64>,
}

/// [`Fused`] for one direction `u`.
pub fn fused(obj: &dyn gdscope_core::Objective, w: &[f64], u: &[f64]) -> Fused {
    let us = gdscope_core::Block::from_column_slice(u.len(), 1, u);
    let mut d = gdscope_core::Derivatives::default();
    obj.derivatives(w, &us, gdscope_core::Request::ALL, &mut d);
    Fused {
        value: d.value,
        grad: d.grad,
        hu: d.hvps.as_slice().to_vec(),
        d3: d.pairs.as_slice().to_vec(),
    }
}

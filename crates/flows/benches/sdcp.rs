//! SDCP solves of central-flow shape for k = 1, 2, 4, 8: `α = diag(2 − λ) + small symmetric`
//! with about half the eigenvalues above 2, `β` the Gram operator of `k(k+1)/2` random pair
//! vectors in ℝ²⁰⁰ (svec-scaled). Prints the iteration counts and residuals once, then times.
//! `cargo bench -p gdscope-flows --bench sdcp`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use gdscope_flows::svec::svec_dim;
use gdscope_flows::{solve_sdcp, SdcpOptions};
use nalgebra::DMatrix;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;

fn problem(k: usize, seed: u64) -> (DMatrix<f64>, DMatrix<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || rng.sample::<f64, _>(StandardNormal);
    let m = svec_dim(k);
    let g = DMatrix::from_fn(200, m, |_, _| normal() / 200f64.sqrt());
    let beta = g.transpose() * g * 0.05;
    let noise = DMatrix::from_fn(k, k, |_, _| 0.02 * normal());
    let alpha = DMatrix::from_fn(k, k, |i, j| {
        if i == j {
            // Effective eigenvalues 2.04, 1.98, 2.03, 1.97, …: about half critical.
            if i % 2 == 0 {
                -0.04 + 0.002 * i as f64
            } else {
                0.02 + 0.002 * i as f64
            }
        } else {
            0.0
        }
    }) + (&noise + noise.transpose()) * 0.5;
    (alpha, beta)
}

fn bench(c: &mut Criterion) {
    let opts = SdcpOptions::default();
    let mut group = c.benchmark_group("sdcp");
    for k in [1usize, 2, 4, 8] {
        let (alpha, beta) = problem(k, 7);
        let sol = solve_sdcp(&alpha, &beta, &opts).expect("valid problem");
        eprintln!(
            "k = {k}: {} interior-point iterations, {} Newton steps, residual {:.1e}, rank X = {}",
            sol.iterations,
            sol.newton_steps,
            sol.residuals.max(),
            sol.x
                .clone()
                .symmetric_eigen()
                .eigenvalues
                .iter()
                .filter(|&&v| v > 1e-12 * sol.x.norm())
                .count()
        );
        group.bench_with_input(BenchmarkId::from_parameter(k), &k, |b, _| {
            b.iter(|| solve_sdcp(black_box(&alpha), black_box(&beta), &opts).expect("valid"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

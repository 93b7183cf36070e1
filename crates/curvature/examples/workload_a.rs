//! HVPs of top-3 Hessian eigen-solves on reference workload A (MLP 3072-256-256-4, n = 1000,
//! f64), cold and warm-started after one GD step (lr 0.02) — the setting of
//! `shared/bench/bench_a_jax.py`, whose LOBPCG takes 87 HVPs cold and 39 warm.
//! `cargo run --release -p gdscope-curvature --example workload_a [TOL...]`.

use std::time::Instant;

use gdscope_core::Objective;
use gdscope_curvature::{top_eigenpairs, EigOptions, HessianOperator};
use gdscope_nn::workload::Workload;
use gdscope_nn::Dtype;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tols: Vec<f64> = std::env::args()
        .skip(1)
        .map(|a| a.parse())
        .collect::<Result<_, _>>()?;
    let tols = if tols.is_empty() {
        vec![1e-3, 1e-8]
    } else {
        tols
    };
    let wa = Workload::a(1000, Dtype::F64);
    let obj = &wa.objective;
    let mut g = vec![0.0; wa.w.len()];
    obj.value_grad(&wa.w, &mut g);
    let w1: Vec<f64> = wa.w.iter().zip(&g).map(|(w, g)| w - 0.02 * g).collect();
    for tol in tols {
        let opts = EigOptions {
            k: 3,
            tol,
            max_iters: 1000,
            seed: 0,
        };
        let t = Instant::now();
        let cold = top_eigenpairs(&HessianOperator::new(obj, &wa.w)?, None, &opts)?;
        let t_cold = t.elapsed();
        let t = Instant::now();
        let warm = top_eigenpairs(&HessianOperator::new(obj, &w1)?, Some(&cold.vectors), &opts)?;
        println!(
            "tol {tol:e}: cold {} HVPs ({} it, {:.1} s) {:?} | warm after a GD step {} HVPs ({} it, {:.1} s) {:?} residuals {:?}",
            cold.hvps,
            cold.iterations,
            t_cold.as_secs_f64(),
            cold.values,
            warm.hvps,
            warm.iterations,
            t.elapsed().as_secs_f64(),
            warm.values,
            warm.residuals
        );
    }
    Ok(())
}

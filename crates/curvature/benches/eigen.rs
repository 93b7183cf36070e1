//! Top-3 eigen-solve on the hard synthetic spectrum (n = 20 000: 50, 49.5, 49, 46, −49.8 and
//! the rest spread over [−40, 40]), cold and warm-started after a small symmetric
//! perturbation `B = A + ε·wwᵀ` (as between two training steps). Prints the HVP counts once,
//! then times both. Also six LOBPCG iterations at the EoS demo's size (n = 72 196, k = 2) on
//! a cheap operator: the solver's own dense algebra, which runs between the HVPs
//! (docs/PERFORMANCE.md). `cargo bench -p gdscope-curvature --bench eigen`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use gdscope_core::Block;
use gdscope_curvature::synthetic::SpectrumOperator;
use gdscope_curvature::{top_eigenpairs, EigOptions, LinearOperator};

const N: usize = 20_000;

/// `A + ε·wwᵀ`.
struct Perturbed<'a> {
    a: &'a SpectrumOperator,
    w: Block,
    eps: f64,
}

impl LinearOperator for Perturbed<'_> {
    fn dim(&self) -> usize {
        self.a.dim()
    }
    fn apply(&self, v: &Block) -> Block {
        self.a.apply(v) + &self.w * (self.w.transpose() * v) * self.eps
    }
}

fn hard_spectrum() -> Vec<f64> {
    let mut values: Vec<f64> = (0..N - 5)
        .map(|i| -40.0 + 80.0 * i as f64 / N as f64)
        .collect();
    values.extend([50.0, 49.5, 49.0, 46.0, -49.8]);
    values
}

fn bench(c: &mut Criterion) {
    let a = SpectrumOperator::new(&hard_spectrum(), 1).expect("finite spectrum");
    let w = Block::from_fn(N, 1, |i, _| {
        ((i * 7 % 101) as f64 / 50.0 - 1.0) / (N as f64 / 3.0).sqrt()
    });
    let b = Perturbed {
        a: &a,
        w,
        eps: 1e-2,
    };
    for tol in [1e-6, 1e-10] {
        let opts = EigOptions {
            k: 3,
            tol,
            max_iters: 1000,
            seed: 0,
        };
        let cold_a = top_eigenpairs(&a, None, &opts).expect("solve");
        let cold = top_eigenpairs(&b, None, &opts).expect("solve");
        let warm = top_eigenpairs(&b, Some(&cold_a.vectors), &opts).expect("solve");
        eprintln!(
            "tol {tol:e}: cold {} HVPs ({} iterations), warm {} HVPs ({} iterations), top {:?}",
            cold.hvps, cold.iterations, warm.hvps, warm.iterations, warm.values
        );
        let name = format!("top3 n=20000 tol={tol:e}");
        c.bench_function(&format!("{name} cold"), |bch| {
            bch.iter(|| top_eigenpairs(black_box(&b), None, &opts).expect("solve"))
        });
        c.bench_function(&format!("{name} warm"), |bch| {
            bch.iter(|| top_eigenpairs(black_box(&b), Some(&cold_a.vectors), &opts).expect("solve"))
        });
    }
}

/// Six iterations (tolerance never reached) of a warm top-2 solve with n = 72 196: 12
/// applications of an `O(n)` operator, the rest is LOBPCG's tall block algebra.
fn algebra(c: &mut Criterion) {
    let n = 72_196;
    let mut values: Vec<f64> = (0..n - 2)
        .map(|i| -2.0 + 22.0 * (i as f64 / n as f64).powi(3))
        .collect();
    values.extend([26.0, 24.5]);
    let a = SpectrumOperator::new(&values, 1).expect("finite spectrum");
    let start = EigOptions {
        k: 2,
        tol: 1e-3,
        max_iters: 50,
        seed: 0,
    };
    let warm = top_eigenpairs(&a, None, &start).expect("solve").vectors;
    let opts = EigOptions {
        tol: 1e-300,
        max_iters: 6,
        ..start
    };
    c.bench_function("top2 n=72196 6 iterations (algebra)", |bch| {
        bch.iter(|| top_eigenpairs(black_box(&a), Some(&warm), &opts).expect("solve"))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench, algebra
}
criterion_main!(benches);

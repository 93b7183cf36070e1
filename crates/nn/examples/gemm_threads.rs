//! Times the GEMM shapes of the edge-of-stability network (MLP 20-256-256-4, n = 1000) and of
//! workload A on one thread and on all rayon threads, to place `matmul`'s threading threshold
//! (docs/PERFORMANCE.md §"Threads"). Run: `cargo run --release -p gdscope-nn --example gemm_threads`.

use std::time::Instant;

use gdscope_nn::matmul::{gemm_with, MatRef, Threads};

fn median(mut f: impl FnMut(), reps: usize) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let c = Instant::now();
            f();
            c.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

fn shape<T: gdscope_nn::Float>(name: &str, m: usize, k: usize, n: usize, ta: bool) {
    let a: Vec<T> = (0..m * k)
        .map(|i| T::from_f64((i % 17) as f64 * 0.01))
        .collect();
    let b: Vec<T> = (0..k * n)
        .map(|i| T::from_f64((i % 13) as f64 * 0.01))
        .collect();
    let mut c = vec![T::zero(); m * n];
    let av = if ta {
        MatRef::new(&a, k, m).t()
    } else {
        MatRef::new(&a, m, k)
    };
    let reps = (2e9 / (2.0 * (m * n * k) as f64)).clamp(5.0, 2001.0) as usize;
    let one = median(
        || gemm_with(&mut c, av, MatRef::new(&b, k, n), false, Threads::One),
        reps,
    );
    let all = median(
        || gemm_with(&mut c, av, MatRef::new(&b, k, n), false, Threads::All),
        reps,
    );
    println!(
        "{name:<28} {m:>5}x{k:>5}x{n:>5}  work {:>11}  1 thread {:>9.1} us  all {:>9.1} us  ratio {:.2}",
        m * n * k,
        one * 1e6,
        all * 1e6,
        all / one
    );
}

fn main() {
    for (label, f32_) in [("f32", true), ("f64", false)] {
        println!("-- {label}");
        let run = |name: &str, m, k, n, ta| {
            if f32_ {
                shape::<f32>(name, m, k, n, ta)
            } else {
                shape::<f64>(name, m, k, n, ta)
            }
        };
        run("eos fwd L1 X·W", 1000, 20, 256, false);
        run("eos fwd L2 X·W", 1000, 256, 256, false);
        run("eos fwd L3 X·W", 1000, 256, 4, false);
        run("eos fwd L2 stacked(3)", 3000, 256, 256, false);
        run("eos grad W1 Xᵀ·G", 20, 1000, 256, true);
        run("eos grad W2 Xᵀ·G", 256, 1000, 256, true);
        run("eos grad W3 Xᵀ·G", 256, 1000, 4, true);
        run("eos gx L3 G·Wᵀ", 1000, 4, 256, false);
        run("eos gx L2 G·Wᵀ", 1000, 256, 256, false);
        run("small 64x64x64", 64, 64, 64, false);
        run("small 128x128x128", 128, 128, 128, false);
        run("A fwd L1", 1000, 3072, 256, false);
        run("A grad W1", 3072, 1000, 256, true);
    }
}

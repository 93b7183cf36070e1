//! Criterion benchmark on the edge-of-stability demo network (MLP 20-256-256-4 gelu-tanh,
//! n = 1000, MSE, LeCun init — `gdscope reproduce eos`): the per-step operations of a training
//! run (loss+gradient, one HVP, the top-2 block HVP) and one `Objective::derivatives` call
//! (value, gradient, `H·U`, every `∇(uᵢᵀHuⱼ)`) against the same quantities from the separate
//! calls (`value_grad`, `block_hvp`, `third_order` per pair), for k = 1, 2, 4, in f32 and f64.
//! Ratios are recorded in docs/PERFORMANCE.md.
//!
//! `cargo bench -p gdscope-nn --bench eos_network`

use criterion::{criterion_group, criterion_main, Criterion};
use gdscope_core::{Block, Derivatives, Objective, Request};
use gdscope_nn::workload::eos_demo;
use gdscope_nn::Dtype;
use std::time::Duration;

fn separate(obj: &dyn Objective, w: &[f64], us: &Block, grad: &mut [f64], third: &mut [f64]) {
    obj.value_grad(w, grad);
    obj.block_hvp(w, us);
    let k = us.ncols();
    for i in 0..k {
        for j in i..k {
            obj.third_order(w, us.column(i).as_slice(), us.column(j).as_slice(), third);
        }
    }
}

fn eos_network(c: &mut Criterion) {
    let mut group = c.benchmark_group("eos_network");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (dtype, name) in [(Dtype::F32, "f32"), (Dtype::F64, "f64")] {
        let (obj, w) = eos_demo(dtype);
        let p = obj.dim();
        let mut grad = vec![0.0; p];
        let mut third = vec![0.0; p];
        let dirs = Block::from_fn(p, 4, |i, j| ((i * 31 + j * 7 + 1) as f64 * 0.013).sin());
        group.bench_function(format!("value_grad/{name}"), |b| {
            b.iter(|| obj.value_grad(&w, &mut grad))
        });
        group.bench_function(format!("hvp/{name}"), |b| {
            b.iter(|| obj.hvp(&w, dirs.column(0).as_slice(), &mut third))
        });
        group.bench_function(format!("block_hvp2/{name}"), |b| {
            b.iter(|| obj.block_hvp(&w, &dirs.columns(0, 2).into_owned()))
        });
        for k in [1usize, 2, 4] {
            let us = dirs.columns(0, k).into_owned();
            let mut out = Derivatives::default();
            group.bench_function(format!("derivatives_k{k}/{name}"), |b| {
                b.iter(|| obj.derivatives(&w, &us, Request::ALL, &mut out))
            });
            group.bench_function(format!("separate_k{k}/{name}"), |b| {
                b.iter(|| separate(&obj, &w, &us, &mut grad, &mut third))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, eos_network);
criterion_main!(benches);

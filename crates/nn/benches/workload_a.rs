//! Criterion benchmark of workload A (MLP 3072→256→256→4 gelu-tanh, n = 1000, MSE, LeCun):
//! loss+gradient, one HVP, a block of three HVPs, one third-order vector and one GD step, f32
//! and f64.
//! `gdscope bench` times the same operations (crate `gdscope_nn::workload`).

use criterion::{criterion_group, criterion_main, Criterion};
use gdscope_nn::workload::{Op, Workload};
use gdscope_nn::Dtype;

fn workload_a(c: &mut Criterion) {
    let mut group = c.benchmark_group("workload_a");
    group.sample_size(10);
    for (dtype, name) in [(Dtype::F32, "f32"), (Dtype::F64, "f64")] {
        let work = Workload::a(1000, dtype);
        for op in Op::ALL {
            group.bench_function(format!("{}/{name}", op.key()), |b| b.iter(|| work.run(op)));
        }
    }
    group.finish();
}

criterion_group!(benches, workload_a);
criterion_main!(benches);

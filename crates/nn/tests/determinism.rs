//! Bitwise reproducibility (docs/engine.md §"Reproducibility"): the loss, gradient, HVPs and
//! third-order vectors of a network are the same to the last bit on every call and for every
//! number of threads — for MLPs (GEMMs, vectorised activation kernels, both losses) and for the
//! structured layers whose parameter gradients are summed over blocks of rows.

mod common;

use common::*;
use gdscope_core::{Block, Derivatives, Objective, Request};
use gdscope_nn::{Dtype, Init, Loss, NetworkObjective};

/// Every output of one `derivatives` call (value, gradient, `H·U`, pairs) as raw bits.
fn fingerprint(obj: &NetworkObjective, w: &[f64], us: &Block) -> Vec<u64> {
    let mut d = Derivatives::default();
    obj.derivatives(w, us, Request::ALL, &mut d);
    let mut g = vec![0.0; obj.dim()];
    let value = obj.value_grad(w, &mut g);
    std::iter::once(d.value)
        .chain([value])
        .chain(g)
        .chain(d.grad)
        .chain(d.hvps.iter().copied())
        .chain(d.pairs.iter().copied())
        .map(f64::to_bits)
        .collect()
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("a thread pool")
        .install(f)
}

#[test]
fn network_derivatives_are_bitwise_identical_across_calls_and_thread_counts() {
    let cases = [
        // Large enough that losses, activations and GEMMs all take their parallel paths.
        ("mlp:20-64-64-4:gelu-tanh", Loss::Mse, 3000, Dtype::F32),
        ("mlp:20-64-64-4:tanh", Loss::CrossEntropy, 3000, Dtype::F64),
        (
            "cnn:1x8x8-3:tanh:width=2",
            Loss::CrossEntropy,
            64,
            Dtype::F64,
        ),
        (
            "vit:1x4x4-2:dim=8,depth=1,heads=2,dim_head=4,mlp=8,patch=2",
            Loss::Mse,
            48,
            Dtype::F64,
        ),
    ];
    for (spec, loss, n, dtype) in cases {
        let obj = problem(spec, loss, n, dtype, 5);
        let w = obj.init(Init::LeCun, 3);
        let us = Block::from_fn(obj.dim(), 2, |i, j| {
            ((i * 3 + j * 11 + 1) as f64 * 0.29).sin()
        });
        let reference = in_pool(1, || fingerprint(&obj, &w, &us));
        for threads in [1, 2, 3, 4, 8] {
            for repeat in 0..3 {
                let again = in_pool(threads, || fingerprint(&obj, &w, &us));
                assert!(
                    again == reference,
                    "{spec}: {threads} threads, repeat {repeat}: results differ from one thread"
                );
            }
        }
    }
}

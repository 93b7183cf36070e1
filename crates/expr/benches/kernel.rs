//! Batch gradient kernel vs a hand-written closed-form gradient, both driving chunked GD on
//! `paper-fig2` (`f = x² + y²/2 + x²y + x³`, η = 0.95, starts in [−0.5, 0.5]²). Throughput
//! is in point-steps; the kernel/hand-written ratio is the figure of merit
//! (`docs/expressions.md` § Batch gradient kernel). Run: `cargo bench -p gdscope-expr`.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gdscope_expr::{builtin, BuiltinParams, ExprObjective, GradientKernel, KernelScratch};
use rayon::prelude::*;

const LR: f64 = 0.95;
const CHUNK: usize = 256;
const GRID: usize = 128;
const STEPS: usize = 200;

fn starts() -> (Vec<f64>, Vec<f64>) {
    let lin = |i: usize| -0.5 + i as f64 / (GRID - 1) as f64;
    let xs = (0..GRID * GRID).map(|p| lin(p / GRID)).collect();
    let ys = (0..GRID * GRID).map(|p| lin(p % GRID)).collect();
    (xs, ys)
}

fn gd_kernel_chunk(k: &GradientKernel, x: &mut [f64], y: &mut [f64], steps: usize) {
    let m = x.len();
    let mut s = KernelScratch::new(k, m);
    let (mut gx, mut gy) = (vec![0.0; m], vec![0.0; m]);
    for _ in 0..steps {
        k.eval_grad_batch(&[x, y], &mut [&mut gx, &mut gy], &mut s);
        for i in 0..m {
            x[i] -= LR * gx[i];
            y[i] -= LR * gy[i];
        }
    }
}

fn gd_closed_form_chunk(x: &mut [f64], y: &mut [f64], steps: usize) {
    for _ in 0..steps {
        for (a, b) in x.iter_mut().zip(y.iter_mut()) {
            let (u, v) = (*a, *b);
            *a = u - LR * (u * (2.0 + 2.0 * v + 3.0 * u));
            *b = v - LR * (v + u * u);
        }
    }
}

fn run(parallel: bool, f: impl Fn(&mut [f64], &mut [f64]) + Sync) -> usize {
    let (mut xs, mut ys) = starts();
    if parallel {
        xs.par_chunks_mut(CHUNK)
            .zip(ys.par_chunks_mut(CHUNK))
            .for_each(|(x, y)| f(x, y));
    } else {
        for (x, y) in xs.chunks_mut(CHUNK).zip(ys.chunks_mut(CHUNK)) {
            f(x, y);
        }
    }
    xs.iter()
        .zip(&ys)
        .filter(|(a, b)| a.hypot(**b) < 1e-8)
        .count()
}

fn bench(c: &mut Criterion) {
    let b = builtin("paper-fig2", &BuiltinParams::default()).expect("builtin");
    let obj = ExprObjective::new(&b.expr, Some(&b.vars)).expect("parses");
    let kernel = obj.gradient_kernel();
    // Same trajectories up to rounding: the converged counts agree.
    let (ck, cc) = (
        run(false, |x, y| gd_kernel_chunk(&kernel, x, y, STEPS)),
        run(false, |x, y| gd_closed_form_chunk(x, y, STEPS)),
    );
    assert!(
        ck.abs_diff(cc) <= GRID * GRID / 1000,
        "converged {ck} vs {cc}"
    );

    let mut g = c.benchmark_group("paper-fig2 GD point-steps");
    g.throughput(Throughput::Elements((GRID * GRID * STEPS) as u64));
    g.sample_size(10);
    for parallel in [false, true] {
        let tag = if parallel { "rayon" } else { "1 thread" };
        g.bench_function(format!("kernel, {tag}"), |bch| {
            bch.iter(|| run(parallel, |x, y| gd_kernel_chunk(&kernel, x, y, STEPS)))
        });
        g.bench_function(format!("closed form, {tag}"), |bch| {
            bch.iter(|| run(parallel, |x, y| gd_closed_form_chunk(x, y, STEPS)))
        });
    }
    g.finish();

    // The gradient alone (no GD update), one chunk at fixed points: the kernel's own speed.
    let (xs, ys) = starts();
    let (x, y) = (&xs[..CHUNK], &ys[..CHUNK]);
    let (mut gx, mut gy) = (vec![0.0; CHUNK], vec![0.0; CHUNK]);
    let mut s = KernelScratch::new(&kernel, CHUNK);
    let mut g = c.benchmark_group("paper-fig2 gradient evaluations");
    g.throughput(Throughput::Elements(CHUNK as u64));
    g.bench_function("kernel", |bch| {
        bch.iter(|| kernel.eval_grad_batch(&[x, y], &mut [&mut gx, &mut gy], &mut s))
    });
    let (mut hx, mut hy) = (vec![0.0; CHUNK], vec![0.0; CHUNK]);
    g.bench_function("closed form", |bch| {
        bch.iter(|| {
            for p in 0..CHUNK {
                let (u, v) = (x[p], y[p]);
                hx[p] = u * (2.0 + 2.0 * v + 3.0 * u);
                hy[p] = v + u * u;
            }
            std::hint::black_box((&hx, &hy));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

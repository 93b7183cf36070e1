//! `gdscope bench`: times the network engine on a reference workload — A (MLP 3072→256→256→4)
//! or the edge-of-stability demo network (MLP 20→256→256→4), both GELU-tanh, MSE, LeCun init
//! (`gdscope_nn::workload`): loss+gradient, one HVP, a block of three HVPs, one third-order
//! vector and one GD step `w − η∇L`, in f32 and/or f64. Reports medians, achieved GEMM GFLOP/s
//! and the ratio to the GEMM floor (the same flops at the speed of the workload's largest
//! product).

use std::time::Instant;

use anyhow::{ensure, Result};
use gdscope_nn::matmul::{gemm, MatRef};
use gdscope_nn::simd::Level;
use gdscope_nn::workload::{Op, Workload};
use gdscope_nn::{Dtype, Float};
use serde_json::{json, Map, Value};

/// Which precisions to time.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtypeChoice {
    /// Single precision only.
    F32,
    /// Double precision only.
    F64,
    /// Both, f32 first.
    Both,
}

/// Which workload to time.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadChoice {
    /// Workload A: MLP 3072-256-256-4 gelu-tanh.
    A,
    /// The edge-of-stability demo network: MLP 20-256-256-4 gelu-tanh.
    Eos,
}

/// Arguments of `gdscope bench`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope bench\n  gdscope bench --dtype f64 --json\n  gdscope bench --workload eos --repeats 9"
)]
pub struct Args {
    /// Print one JSON object instead of a table: `seconds`, `gflops` and `floor_ratio` keyed by
    /// `"<dtype>.<operation>"` (e.g. `"f32.hvp"`), `gemm_floor_gflops` keyed by dtype, plus the
    /// workload, n, repeats, SIMD level and thread count.
    #[arg(long)]
    json: bool,
    /// Precision(s) to time.
    #[arg(long, value_enum, default_value_t = DtypeChoice::Both)]
    dtype: DtypeChoice,
    /// Workload: A (3072 inputs) or the edge-of-stability network (20 inputs).
    #[arg(long, value_enum, default_value_t = WorkloadChoice::A)]
    workload: WorkloadChoice,
    /// Number of examples (both reference workloads use 1000).
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Timed repetitions per operation (after one warm-up call); the median is reported.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
}

/// Median seconds of `repeats` calls of `f` after one warm-up call.
fn median_time(repeats: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut ts: Vec<f64> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[ts.len() / 2]
}

/// GFLOP/s of one `n×k · k×m` product (the workload's largest).
fn gemm_peak<T: Float>((n, k, m): (usize, usize, usize), repeats: usize) -> f64 {
    let a: Vec<T> = (0..n * k)
        .map(|i| T::from_f64(((i % 17) as f64) * 0.01))
        .collect();
    let b: Vec<T> = (0..k * m)
        .map(|i| T::from_f64(((i % 13) as f64) * 0.01))
        .collect();
    let mut c = vec![T::zero(); n * m];
    let t = median_time(repeats, || {
        gemm(&mut c, MatRef::new(&a, n, k), MatRef::new(&b, k, m), false)
    });
    2.0 * (n * k * m) as f64 / t / 1e9
}

struct Row {
    op: Op,
    dtype: &'static str,
    median: f64,
    gflops: f64,
    floor_ratio: f64,
}

/// Runs the benchmark and prints a table or JSON.
pub fn run(args: Args) -> Result<()> {
    ensure!(args.n > 0, "--n must be at least 1 example");
    ensure!(args.repeats > 0, "--repeats must be at least 1");
    let dtypes: Vec<(Dtype, &'static str)> = match args.dtype {
        DtypeChoice::F32 => vec![(Dtype::F32, "f32")],
        DtypeChoice::F64 => vec![(Dtype::F64, "f64")],
        DtypeChoice::Both => vec![(Dtype::F32, "f32"), (Dtype::F64, "f64")],
    };
    let build = |dtype| match args.workload {
        WorkloadChoice::A => Workload::a(args.n, dtype),
        WorkloadChoice::Eos => Workload::eos(args.n, dtype),
    };
    let mut rows = Vec::new();
    let mut peaks = Vec::new();
    let mut info = None;
    for (dtype, name) in dtypes {
        let work = build(dtype);
        let shape = work.floor_shape();
        let peak = match dtype {
            Dtype::F32 => gemm_peak::<f32>(shape, args.repeats),
            Dtype::F64 => gemm_peak::<f64>(shape, args.repeats),
        };
        peaks.push((name, peak));
        for op in Op::ALL {
            let median = median_time(args.repeats, || work.run(op));
            let gflops = work.gemm_flops(op) / median / 1e9;
            rows.push(Row {
                op,
                dtype: name,
                median,
                gflops,
                floor_ratio: peak / gflops,
            });
        }
        info = Some((work.name, work.spec, shape));
    }
    let (workload, spec, (fm, fk, fn_)) = info.expect("at least one dtype");
    if args.json {
        let keyed = |value: fn(&Row) -> f64| -> Value {
            let map: Map<String, Value> = rows
                .iter()
                .map(|r| (format!("{}.{}", r.dtype, r.op.key()), Value::from(value(r))))
                .collect();
            Value::Object(map)
        };
        let floors: Map<String, Value> = peaks
            .iter()
            .map(|(name, peak)| (name.to_string(), Value::from(*peak)))
            .collect();
        let out = json!({
            "workload": workload,
            "spec": spec,
            "gemm_floor_shape": [fm, fk, fn_],
            "n": args.n,
            "repeats": args.repeats,
            "simd": Level::detect().name(),
            "threads": gdscope_nn::par::threads(),
            "seconds": keyed(|r| r.median),
            "gflops": keyed(|r| r.gflops),
            "floor_ratio": keyed(|r| r.floor_ratio),
            "gemm_floor_gflops": Value::Object(floors),
        });
        println!("{out}");
        return Ok(());
    }
    println!(
        "workload {workload}: {spec} (n = {}), median of {} after one warm-up; SIMD {}, {} threads",
        args.n,
        args.repeats,
        Level::detect().name(),
        gdscope_nn::par::threads()
    );
    for (name, peak) in &peaks {
        println!("GEMM floor ({name}): {peak:.1} GFLOP/s on one {fm}x{fk}x{fn_} product");
    }
    println!(
        "{:<12} {:>5} {:>11} {:>10} {:>14}",
        "operation", "dtype", "median ms", "GFLOP/s", "x GEMM floor"
    );
    for r in &rows {
        println!(
            "{:<12} {:>5} {:>11.2} {:>10.1} {:>14.2}",
            r.op.key(),
            r.dtype,
            r.median * 1e3,
            r.gflops,
            r.floor_ratio
        );
    }
    Ok(())
}

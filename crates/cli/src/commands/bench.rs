//! `gdscope bench`: times the network engine on a reference workload — A (MLP 3072→256→256→4)
//! or the edge-of-stability demo network (MLP 20→256→256→4), both GELU-tanh, MSE, LeCun init
//! (`gdscope_nn::workload`): loss+gradient, one HVP, a block of three HVPs, one third-order
//! vector and one GD step `w − η∇L`, in f32 and/or f64. Reports medians of wall time and of the
//! process's CPU time (all threads), achieved GEMM GFLOP/s and the ratio to the GEMM floor (the
//! same flops at the speed of the workload's largest product). CPU time is what to compare on a
//! machine loaded by other work: it barely moves when the process waits for a core.

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
    /// Print one JSON object instead of a table: `seconds` (wall), `cpu_seconds` (process CPU
    /// time, all threads), `gflops`, `floor_ratio` and `cpu_floor_ratio` (the same in CPU time)
    /// keyed by `"<dtype>.<operation>"` (e.g. `"f32.hvp"`), `gemm_floor_gflops` keyed by dtype,
    /// plus the workload, n, repeats, SIMD level and thread count.
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

/// CPU time of this process so far, all threads, in seconds (`CLOCK_PROCESS_CPUTIME_ID`; NaN
/// where the platform has no such clock).
#[cfg(unix)]
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` into the valid, exclusive `ts`.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return f64::NAN;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[cfg(not(unix))]
fn process_cpu_seconds() -> f64 {
    f64::NAN
}

/// Medians of wall seconds and of process CPU seconds over `repeats` calls of `f`, after one
/// warm-up call.
fn median_time(repeats: usize, mut f: impl FnMut()) -> (f64, f64) {
    f();
    let (mut wall, mut cpu): (Vec<f64>, Vec<f64>) = (0..repeats)
        .map(|_| {
            let (t, c) = (Instant::now(), process_cpu_seconds());
            f();
            (t.elapsed().as_secs_f64(), process_cpu_seconds() - c)
        })
        .unzip();
    wall.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    (wall[wall.len() / 2], cpu[cpu.len() / 2])
}

/// GFLOP per wall second and per CPU second of one `n×k · k×m` product (the workload's
/// largest).
fn gemm_peak<T: Float>((n, k, m): (usize, usize, usize), repeats: usize) -> (f64, f64) {
    let a: Vec<T> = (0..n * k)
        .map(|i| T::from_f64(((i % 17) as f64) * 0.01))
        .collect();
    let b: Vec<T> = (0..k * m)
        .map(|i| T::from_f64(((i % 13) as f64) * 0.01))
        .collect();
    let mut c = vec![T::zero(); n * m];
    let (wall, cpu) = median_time(repeats, || {
        gemm(&mut c, MatRef::new(&a, n, k), MatRef::new(&b, k, m), false)
    });
    let gflop = 2.0 * (n * k * m) as f64 / 1e9;
    (gflop / wall, gflop / cpu)
}

struct Row {
    op: Op,
    dtype: &'static str,
    median: f64,
    cpu: f64,
    gflops: f64,
    floor_ratio: f64,
    /// The floor ratio in CPU time (both the operation and the floor product).
    cpu_floor_ratio: f64,
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
        let (peak, cpu_peak) = match dtype {
            Dtype::F32 => gemm_peak::<f32>(shape, args.repeats),
            Dtype::F64 => gemm_peak::<f64>(shape, args.repeats),
        };
        peaks.push((name, peak));
        for op in Op::ALL {
            let (median, cpu) = median_time(args.repeats, || work.run(op));
            let gflop = work.gemm_flops(op) / 1e9;
            let gflops = gflop / median;
            rows.push(Row {
                op,
                dtype: name,
                median,
                cpu,
                gflops,
                floor_ratio: peak / gflops,
                cpu_floor_ratio: cpu * cpu_peak / gflop,
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
            "cpu_seconds": keyed(|r| r.cpu),
            "gflops": keyed(|r| r.gflops),
            "floor_ratio": keyed(|r| r.floor_ratio),
            "cpu_floor_ratio": keyed(|r| r.cpu_floor_ratio),
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
        "{:<12} {:>5} {:>11} {:>11} {:>10} {:>14} {:>12}",
        "operation", "dtype", "median ms", "CPU ms", "GFLOP/s", "x GEMM floor", "(CPU time)"
    );
    for r in &rows {
        println!(
            "{:<12} {:>5} {:>11.2} {:>11.2} {:>10.1} {:>14.2} {:>12.2}",
            r.op.key(),
            r.dtype,
            r.median * 1e3,
            r.cpu * 1e3,
            r.gflops,
            r.floor_ratio,
            r.cpu_floor_ratio
        );
    }
    Ok(())
}

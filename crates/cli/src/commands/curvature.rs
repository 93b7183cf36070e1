//! `gdscope curvature`: parses flags into a [`CurvatureSpec`], runs it with
//! `gdscope_runs::curvature::run` and prints the result (docs/curvature.md).

use std::path::PathBuf;

use anyhow::Result;
use gdscope_runs::curvature::{self, CurvatureSpec};
use gdscope_runs::Output;
use serde_json::Value;

use crate::network_args::NetworkArgs;
use crate::progress::CliReporter;

/// Trace estimator choice.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMethod {
    /// Hutch++: exact on a sketched top subspace + Hutchinson on the rest (lower variance).
    Hutchpp,
    /// Plain Hutchinson with Rademacher probes.
    Hutchinson,
}

/// Arguments of `gdscope curvature`.
#[derive(clap::Args)]
#[command(
    after_help = "Examples:\n  gdscope curvature --run runs/eos --top-k 3 --trace --density --out runs/eos-curvature\n  gdscope curvature --model mlp:20-256-256-4:gelu-tanh --data data.npz --params runs/eos/weights.npy --top-k 3 --json\n  gdscope curvature --model mlp:20-64-4:tanh --data data.npz --params w.npy --smallest 2 --trace --density --out runs/curv\n  gdscope curvature --model mlp:20-64-4:tanh --data data.npz --params w.npy --top-k 1 --layer layer0.weight"
)]
pub struct Args {
    #[command(flatten)]
    net: NetworkArgs,
    /// Number of largest (algebraic) Hessian eigenvalues to compute.
    #[arg(long, value_name = "K", default_value_t = 1)]
    top_k: usize,
    /// Also compute the K smallest (algebraic, i.e. most negative) eigenvalues.
    #[arg(long, value_name = "K")]
    smallest: Option<usize>,
    /// Also estimate the Hessian trace (with a standard error).
    #[arg(long)]
    trace: bool,
    /// Trace estimator.
    #[arg(long, value_enum, default_value_t = TraceMethod::Hutchpp)]
    trace_method: TraceMethod,
    /// HVP budget of the trace estimate.
    #[arg(long, value_name = "N", default_value_t = 99)]
    trace_hvps: usize,
    /// Also estimate the spectral density (stochastic Lanczos quadrature).
    #[arg(long)]
    density: bool,
    /// SLQ runs (random start vectors).
    #[arg(long, value_name = "N", default_value_t = 10)]
    density_runs: usize,
    /// Lanczos steps per SLQ run.
    #[arg(long, value_name = "N", default_value_t = 80)]
    density_steps: usize,
    /// Gaussian smoothing width of the density (default: node range / steps).
    #[arg(long, value_name = "SIGMA")]
    sigma: Option<f64>,
    /// Restrict everything to one parameter tensor (`layer0.weight`) or one layer (`layer0`).
    #[arg(long, value_name = "NAME")]
    layer: Option<String>,
    /// Eigen-solver tolerance on the relative residual ‖Hv − λv‖ / max(1, |λ|)
    /// [default: 1e-8 in f64; 1e-6 in f32, whose rounding the residual cannot go far below].
    #[arg(long)]
    tol: Option<f64>,
    /// Eigen-solver iteration cap.
    #[arg(long, default_value_t = 1000)]
    max_iters: usize,
    /// Seed of every random vector (eigen-solver start, trace probes, SLQ starts).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Run directory: `config.toml`, `curvature.json` and, with --density, `density.csv`
    /// and the figure `density.png`/`.svg` (log scale, top eigenvalues marked).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Allow --out to replace the files of an existing run.
    #[arg(long)]
    overwrite: bool,
}

impl Args {
    /// The spec these flags describe.
    fn spec(&self) -> CurvatureSpec {
        CurvatureSpec {
            network: self.net.spec(),
            top_k: self.top_k,
            smallest: self.smallest,
            trace: self.trace,
            trace_method: match self.trace_method {
                TraceMethod::Hutchpp => curvature::TraceMethod::Hutchpp,
                TraceMethod::Hutchinson => curvature::TraceMethod::Hutchinson,
            },
            trace_hvps: self.trace_hvps,
            density: self.density,
            density_runs: self.density_runs,
            density_steps: self.density_steps,
            sigma: self.sigma,
            layer: self.layer.clone(),
            tol: self.tol,
            max_iters: self.max_iters,
            seed: self.seed,
        }
    }
}

/// Runs the requested computations and reports them.
pub fn run(args: Args) -> Result<()> {
    let output = args.out.as_ref().map(|dir| Output {
        dir: dir.clone(),
        overwrite: args.overwrite,
        csv: false,
    });
    let done = curvature::run(&args.spec(), output.as_ref(), &CliReporter::default())?;
    if let (Some(dir), false) = (&args.out, args.json) {
        println!("run written to {}", dir.display());
    }
    if args.json {
        println!("{}", serde_json::to_string(&done.report)?);
    } else {
        print_text(&done.report);
    }
    for w in done.warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

fn print_text(r: &Value) {
    let list = |v: &Value| {
        v.as_array().map(|a| {
            a.iter()
                .map(|x| format!("{:.10e}", x.as_f64().unwrap_or(f64::NAN)))
                .collect::<Vec<_>>()
        })
    };
    println!(
        "parameters: {}{}",
        r["dim"],
        r["layer"]
            .as_str()
            .map(|l| format!(" (layer {l})"))
            .unwrap_or_default()
    );
    if let Some(top) = list(&r["top"]) {
        println!("top eigenvalues:      {}", top.join("  "));
    }
    if let Some(res) = list(&r["residuals"]) {
        println!("relative residuals:   {}", res.join("  "));
    }
    if let Some(s) = list(&r["smallest"]) {
        println!("smallest eigenvalues: {}", s.join("  "));
    }
    if let Some(t) = r.get("trace") {
        println!(
            "trace:                {} ± {} ({})",
            t["value"],
            t["std_error"],
            t["method"].as_str().unwrap_or("")
        );
    }
    if let Some(d) = r.get("density") {
        println!(
            "density:              {} runs, sigma {}, mean eigenvalue {}",
            d["runs"].as_array().map_or(0, Vec::len),
            d["sigma"],
            d["moment1"]
        );
    }
    println!("hvps:                 {}", r["hvps"]);
}

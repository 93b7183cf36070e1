//! `gdscope curvature`: one-shot curvature of a network at given parameters — top and
//! smallest Hessian eigenvalues (warm-startable LOBPCG, largest *algebraic*), Hessian trace
//! (Hutch++ or Hutchinson) and spectral density (stochastic Lanczos quadrature), optionally
//! restricted to one layer (docs/curvature.md).

use std::path::PathBuf;

use anyhow::{bail, ensure, Context, Result};
use gdscope_curvature::{
    hutch_plus_plus, hutchinson, smallest_eigenpairs, spectral_density, top_eigenpairs, EigOptions,
    EigResult, HessianOperator, LinearOperator, SlqOptions, SpectralDensity, TraceEstimate,
};
use gdscope_io::RunDir;
use gdscope_nn::NetworkObjective;
use gdscope_plot::{Format, LinePlot, RefLine, Series};
use serde_json::{json, Value};

use crate::network_args::{choice_name, DtypeArg, NetworkArgs};
use crate::progress::Progress;

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

/// Runs the requested computations and reports them.
pub fn run(args: Args) -> Result<()> {
    if let Some(tol) = args.tol {
        ensure!(
            tol.is_finite() && tol > 0.0,
            "--tol must be a positive number, got {tol}"
        );
    }
    let (obj, w, net) = args.net.build()?;
    let tol = args.tol.unwrap_or(default_tol(net.dtype));
    // Refuse an occupied --out before any long computation.
    let run_dir = match &args.out {
        Some(dir) => Some(RunDir::create(dir, args.overwrite)?),
        None => None,
    };
    let subset = match &args.layer {
        Some(name) => Some(layer_indices(&obj, name)?),
        None => None,
    };
    let mut op = HessianOperator::new(&obj, &w)?;
    if let Some(idx) = &subset {
        op = op.with_subset(idx)?;
    }
    let n = op.dim();
    ensure!(
        args.top_k >= 1 && args.top_k <= n,
        "--top-k must be between 1 and the number of parameters{} ({n}), got {}",
        if subset.is_some() {
            " in the layer"
        } else {
            ""
        },
        args.top_k
    );
    let opts = |k| EigOptions {
        k,
        tol,
        max_iters: args.max_iters,
        seed: args.seed,
    };
    let progress = Progress::phase(&format!("top {} eigenvalues", args.top_k));
    let top = top_eigenpairs(&op, None, &opts(args.top_k)).context("top eigenvalues")?;
    progress.finish();
    let mut report = json!({
        "model": net.model,
        "run": net.run,
        "dim": n,
        "layer": args.layer,
        "tol": tol,
        "top": top.values,
        "residuals": top.residuals,
        "converged": top.converged,
        "iterations": top.iterations,
        "hvps_top": top.hvps,
    });
    let mut warnings = not_converged("top", &top);
    if let Some(k) = args.smallest {
        ensure!(
            k >= 1 && k <= n,
            "--smallest must be between 1 and {n}, got {k}"
        );
        let progress = Progress::phase(&format!("smallest {k} eigenvalues"));
        let s = smallest_eigenpairs(&op, None, &opts(k)).context("smallest eigenvalues")?;
        progress.finish();
        warnings.extend(not_converged("smallest", &s));
        report["smallest"] = json!(s.values);
        report["smallest_residuals"] = json!(s.residuals);
        report["hvps_smallest"] = json!(s.hvps);
    }
    if args.trace {
        let progress = Progress::phase("trace");
        let t = estimate_trace(&op, &args)?;
        progress.finish();
        report["trace"] = json!({ "value": t.value, "std_error": t.std_error, "hvps": t.hvps,
                                  "method": choice_name(&args.trace_method) });
    }
    let density = if args.density {
        let progress = Progress::phase("spectral density");
        let d = spectral_density(
            &op,
            &SlqOptions {
                runs: args.density_runs,
                steps: args.density_steps,
                seed: args.seed,
            },
        )
        .context("spectral density")?;
        progress.finish();
        let (grid, phi, sigma) = smoothed(&d, &args)?;
        report["density"] = json!({ "sigma": sigma, "grid": grid, "values": phi, "hvps": d.hvps,
                                    "runs": d.runs, "moment1": d.moment(1), "moment2": d.moment(2) });
        Some((grid, phi))
    } else {
        None
    };
    report["hvps"] = json!(op.hvps());
    if let Some(run) = &run_dir {
        run.write_toml(
            "config.toml",
            &json!({"command": "curvature", "network": &net, "top_k": args.top_k,
                    "smallest": args.smallest, "trace": args.trace,
                    "trace_method": choice_name(&args.trace_method), "trace_hvps": args.trace_hvps,
                    "density": args.density, "density_runs": args.density_runs,
                    "density_steps": args.density_steps, "sigma": args.sigma, "layer": &args.layer,
                    "tol": tol, "max_iters": args.max_iters, "seed": args.seed}),
        )?;
        write_outputs(run, &report, density.as_ref(), &top.values)?;
        if !args.json {
            println!("run written to {}", run.path.display());
        }
    }
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        print_text(&report);
    }
    for w in warnings {
        eprintln!("warning: {w}");
    }
    Ok(())
}

/// Parameter indices of a tensor (`layer0.weight`) or of all tensors of a layer (`layer0`).
fn layer_indices(obj: &NetworkObjective, name: &str) -> Result<Vec<usize>> {
    let views = obj.param_views();
    let prefix = format!("{name}.");
    let idx: Vec<usize> = views
        .iter()
        .filter(|v| v.name == name || v.name.starts_with(&prefix))
        .flat_map(|v| v.offset..v.offset + v.shape.iter().product::<usize>())
        .collect();
    if idx.is_empty() {
        let names: Vec<&str> = views.iter().map(|v| v.name.as_str()).collect();
        bail!(
            "--layer {name}: no such layer or tensor; available: {}",
            names.join(", ")
        );
    }
    Ok(idx)
}

fn estimate_trace(op: &dyn LinearOperator, args: &Args) -> Result<TraceEstimate> {
    let t = match args.trace_method {
        TraceMethod::Hutchpp => hutch_plus_plus(op, args.trace_hvps, args.seed),
        TraceMethod::Hutchinson => hutchinson(op, args.trace_hvps, args.seed),
    };
    t.context("--trace-hvps")
}

/// Grid (1000 points, margin 5σ), smoothed density and σ.
fn smoothed(d: &SpectralDensity, args: &Args) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    let (lo, hi) = d.node_range();
    let sigma = match args.sigma {
        Some(s) => s,
        None => ((hi - lo) / args.density_steps as f64).max(1e-6 * hi.abs().max(lo.abs()).max(1.0)),
    };
    ensure!(
        sigma.is_finite() && sigma > 0.0,
        "--sigma must be a positive number, got {sigma}"
    );
    let grid = d.grid(1000, 5.0 * sigma)?;
    let phi = d.density_on_grid(&grid, sigma)?;
    Ok((grid, phi, sigma))
}

/// The eigen-solver tolerance when `--tol` is not given: 1e-8 in f64; in f32 the HVPs carry
/// rounding of order 1e-7 relative, so the residual stalls near it and 1e-6 (the training
/// tracker's default) is what can be reached.
fn default_tol(dtype: DtypeArg) -> f64 {
    match dtype {
        DtypeArg::F64 => 1e-8,
        DtypeArg::F32 => 1e-6,
    }
}

fn not_converged(what: &str, r: &EigResult) -> Vec<String> {
    if r.converged {
        return Vec::new();
    }
    let worst = r.residuals.iter().copied().fold(0.0, f64::max);
    vec![format!(
        "{what} eigenvalues did not reach the tolerance in {} iterations (worst residual {worst:.2e}); \
         raise --max-iters or --tol",
        r.iterations
    )]
}

fn write_outputs(
    run: &RunDir,
    report: &Value,
    density: Option<&(Vec<f64>, Vec<f64>)>,
    top: &[f64],
) -> Result<()> {
    run.write_json("curvature.json", report)?;
    if let Some((grid, phi)) = density {
        let mut csv = String::from("eigenvalue,density\n");
        for (x, y) in grid.iter().zip(phi) {
            csv.push_str(&format!("{x},{y}\n"));
        }
        run.write_bytes("density.csv", csv.as_bytes())?;
        gdscope_plot::save(
            &density_plot(grid, phi, top).into(),
            &run.file("density"),
            &[Format::Png, Format::Svg],
        )?;
    }
    Ok(())
}

/// Below this fraction of its peak the smoothed density is Gaussian tails of the
/// smoothing, not spectrum: the log axis stops there (PyHessian's plots add a floor too).
const DENSITY_FLOOR: f64 = 1e-6;

/// The density on a log axis floored at [`DENSITY_FLOOR`] × peak, with the top eigenvalues
/// (the outliers of the spectrum, computed exactly by LOBPCG) marked.
fn density_plot(grid: &[f64], phi: &[f64], top: &[f64]) -> LinePlot {
    let peak = phi
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0, f64::max);
    let y_range = (peak > 0.0).then(|| (DENSITY_FLOOR * peak, 2.0 * peak));
    LinePlot {
        title: "Hessian spectral density (SLQ)".into(),
        x_label: "eigenvalue".into(),
        y_label: "density".into(),
        log_y: true,
        y_range,
        series: vec![Series {
            label: "density".into(),
            x: grid.to_vec(),
            y: phi.to_vec(),
            ..Series::default()
        }],
        vlines: top
            .iter()
            .enumerate()
            .map(|(i, &v)| RefLine {
                value: v,
                label: format!("λ{} = {v:.4} (LOBPCG)", i + 1),
            })
            .collect(),
        ..LinePlot::default()
    }
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

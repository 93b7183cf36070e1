//! The `curvature` run: one-shot curvature of a network at given parameters — top and
//! smallest Hessian eigenvalues (warm-startable LOBPCG, largest *algebraic*), Hessian trace
//! (Hutch++ or Hutchinson) and spectral density (stochastic Lanczos quadrature), optionally
//! restricted to one layer (docs/curvature.md, docs/theory.md). [`CurvatureSpec`] says what
//! to compute; [`run`] computes it (one progress phase per computation) and writes
//! `config.toml`, `curvature.json` and, with a density, `density.csv` and the figure
//! `density.png`/`.svg`.

use anyhow::{bail, ensure, Context, Result};
use gdscope_curvature::{
    hutch_plus_plus, hutchinson, smallest_eigenpairs, spectral_density, top_eigenpairs, EigOptions,
    EigResult, HessianOperator, LinearOperator, SlqOptions, SpectralDensity, TraceEstimate,
};
use gdscope_io::RunDir;
use gdscope_nn::NetworkObjective;
use gdscope_plot::{Format, LinePlot, RefLine, Series};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use gdscope_train::config::DtypeName;

use crate::progress::phase;
use crate::{write_config, NetworkSpec, Output, Reporter};

/// Trace estimator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceMethod {
    /// Hutch++: exact on a sketched top subspace + Hutchinson on the rest (lower variance).
    Hutchpp,
    /// Plain Hutchinson with Rademacher probes.
    Hutchinson,
}

/// What `gdscope curvature` computes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurvatureSpec {
    /// The network and its parameters.
    pub network: NetworkSpec,
    /// Number of largest (algebraic) Hessian eigenvalues.
    #[serde(default = "one")]
    pub top_k: usize,
    /// Also the K smallest (algebraic, i.e. most negative) eigenvalues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub smallest: Option<usize>,
    /// Also estimate the Hessian trace (with a standard error).
    #[serde(default)]
    pub trace: bool,
    /// Trace estimator.
    #[serde(default = "default_trace_method")]
    pub trace_method: TraceMethod,
    /// HVP budget of the trace estimate.
    #[serde(default = "default_trace_hvps")]
    pub trace_hvps: usize,
    /// Also estimate the spectral density (stochastic Lanczos quadrature).
    #[serde(default)]
    pub density: bool,
    /// SLQ runs (random start vectors).
    #[serde(default = "default_density_runs")]
    pub density_runs: usize,
    /// Lanczos steps per SLQ run.
    #[serde(default = "default_density_steps")]
    pub density_steps: usize,
    /// Gaussian smoothing width of the density (default: node range / steps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sigma: Option<f64>,
    /// Restrict everything to one parameter tensor (`layer0.weight`) or one layer (`layer0`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
    /// Eigen-solver tolerance on the relative residual ‖Hv − λv‖ / max(1, |λ|) [default:
    /// 1e-8 in f64; 1e-6 in f32, whose rounding the residual cannot go far below].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tol: Option<f64>,
    /// Eigen-solver iteration cap.
    #[serde(default = "default_max_iters")]
    pub max_iters: usize,
    /// Seed of every random vector (eigen-solver start, trace probes, SLQ starts).
    #[serde(default)]
    pub seed: u64,
}

fn one() -> usize {
    1
}
fn default_trace_method() -> TraceMethod {
    TraceMethod::Hutchpp
}
fn default_trace_hvps() -> usize {
    99
}
fn default_density_runs() -> usize {
    10
}
fn default_density_steps() -> usize {
    80
}
/// The eigen-solver tolerance when none is given: 1e-8 in f64; in f32 the HVPs carry
/// rounding of order 1e-7 relative, so the residual stalls near it and 1e-6 (the training
/// tracker's default) is what can be reached.
fn default_tol(dtype: DtypeName) -> f64 {
    match dtype {
        DtypeName::F64 => 1e-8,
        DtypeName::F32 => 1e-6,
    }
}
fn default_max_iters() -> usize {
    1000
}

impl CurvatureSpec {
    /// The top eigenvalue of `network`, every other setting at its default.
    pub fn new(network: NetworkSpec) -> CurvatureSpec {
        CurvatureSpec {
            network,
            top_k: one(),
            smallest: None,
            trace: false,
            trace_method: default_trace_method(),
            trace_hvps: default_trace_hvps(),
            density: false,
            density_runs: default_density_runs(),
            density_steps: default_density_steps(),
            sigma: None,
            layer: None,
            tol: None,
            max_iters: default_max_iters(),
            seed: 0,
        }
    }
}

/// What a curvature run computed.
#[derive(Debug, Clone)]
pub struct CurvatureRun {
    /// `curvature.json` (schema in docs/curvature.md), and the CLI's `--json`.
    pub report: Value,
    /// Eigen-solves that did not reach the tolerance, as sentences.
    pub warnings: Vec<String>,
}

/// Computes what the spec asks for and, with `output`, writes the run directory (refused
/// before any computation when it is occupied).
pub fn run(
    spec: &CurvatureSpec,
    output: Option<&Output>,
    reporter: &dyn Reporter,
) -> Result<CurvatureRun> {
    if let Some(tol) = spec.tol {
        ensure!(
            tol.is_finite() && tol > 0.0,
            "--tol must be a positive number, got {tol}"
        );
    }
    let (obj, w, net) = spec.network.build()?;
    let tol = spec.tol.unwrap_or(default_tol(net.dtype));
    let run_dir = output.map(Output::create).transpose()?;
    let subset = match &spec.layer {
        Some(name) => Some(layer_indices(&obj, name)?),
        None => None,
    };
    let mut op = HessianOperator::new(&obj, &w)?;
    if let Some(idx) = &subset {
        op = op.with_subset(idx)?;
    }
    let n = op.dim();
    ensure!(
        spec.top_k >= 1 && spec.top_k <= n,
        "--top-k must be between 1 and the number of parameters{} ({n}), got {}",
        if subset.is_some() {
            " in the layer"
        } else {
            ""
        },
        spec.top_k
    );
    let opts = |k| EigOptions {
        k,
        tol,
        max_iters: spec.max_iters,
        seed: spec.seed,
    };
    let top = phase(reporter, &format!("top {} eigenvalues", spec.top_k), || {
        top_eigenpairs(&op, None, &opts(spec.top_k))
    })
    .context("top eigenvalues")?;
    let mut report = json!({
        "model": net.model,
        "run": net.run,
        "dim": n,
        "layer": spec.layer,
        "tol": tol,
        "top": top.values,
        "residuals": top.residuals,
        "converged": top.converged,
        "iterations": top.iterations,
        "hvps_top": top.hvps,
    });
    let mut warnings = not_converged("top", &top);
    if let Some(k) = spec.smallest {
        ensure!(
            k >= 1 && k <= n,
            "--smallest must be between 1 and {n}, got {k}"
        );
        let s = phase(reporter, &format!("smallest {k} eigenvalues"), || {
            smallest_eigenpairs(&op, None, &opts(k))
        })
        .context("smallest eigenvalues")?;
        warnings.extend(not_converged("smallest", &s));
        report["smallest"] = json!(s.values);
        report["smallest_residuals"] = json!(s.residuals);
        report["hvps_smallest"] = json!(s.hvps);
    }
    if spec.trace {
        let t = phase(reporter, "trace", || estimate_trace(&op, spec))?;
        report["trace"] = json!({ "value": t.value, "std_error": t.std_error, "hvps": t.hvps,
                                  "method": spec.trace_method });
    }
    let density = if spec.density {
        let slq = SlqOptions {
            runs: spec.density_runs,
            steps: spec.density_steps,
            seed: spec.seed,
        };
        let d = phase(reporter, "spectral density", || spectral_density(&op, &slq))
            .context("spectral density")?;
        let (grid, phi, sigma) = smoothed(&d, spec)?;
        report["density"] = json!({ "sigma": sigma, "grid": grid, "values": phi, "hvps": d.hvps,
                                    "runs": d.runs, "moment1": d.moment(1), "moment2": d.moment(2) });
        Some((grid, phi))
    } else {
        None
    };
    report["hvps"] = json!(op.hvps());
    if let Some(run) = &run_dir {
        write_config(
            run,
            "curvature",
            spec,
            json!({ "network": &net, "tol": tol }),
        )?;
        write_outputs(run, &report, density.as_ref(), &top.values)?;
    }
    Ok(CurvatureRun { report, warnings })
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

fn estimate_trace(op: &dyn LinearOperator, spec: &CurvatureSpec) -> Result<TraceEstimate> {
    let t = match spec.trace_method {
        TraceMethod::Hutchpp => hutch_plus_plus(op, spec.trace_hvps, spec.seed),
        TraceMethod::Hutchinson => hutchinson(op, spec.trace_hvps, spec.seed),
    };
    t.context("--trace-hvps")
}

/// Grid (1000 points, margin 5σ), smoothed density and σ.
fn smoothed(d: &SpectralDensity, spec: &CurvatureSpec) -> Result<(Vec<f64>, Vec<f64>, f64)> {
    let (lo, hi) = d.node_range();
    let sigma = match spec.sigma {
        Some(s) => s,
        None => ((hi - lo) / spec.density_steps as f64).max(1e-6 * hi.abs().max(lo.abs()).max(1.0)),
    };
    ensure!(
        sigma.is_finite() && sigma > 0.0,
        "--sigma must be a positive number, got {sigma}"
    );
    let grid = d.grid(1000, 5.0 * sigma)?;
    let phi = d.density_on_grid(&grid, sigma)?;
    Ok((grid, phi, sigma))
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
    let y_range = (peak > 0.0).then_some((DENSITY_FLOOR * peak, 2.0 * peak));
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

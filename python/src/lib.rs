//! `gdscope._native`: the Rust half of the Python package (docs/python.md). It calls the same
//! library entry points as the CLI — `gdscope_train::run::start` and `fork_with`, the
//! `gdscope-sweep` functions, the `gdscope-runs` analyses — and wraps `gdscope_nn::NetworkObjective` through the `gdscope_core::Objective`
//! trait, taking and returning NumPy float64 arrays. The Python package `gdscope` adds the
//! pandas side (`load_run`, `load_sweep`) and friendlier signatures.

use std::path::PathBuf;

use gdscope_core::{Block, Objective};
use gdscope_nn::{Dtype, Init, Loss, Model, NetworkObjective};
use gdscope_sweep::{
    collect, process, run_local, run_member, submit, sweep_status, Backend, CollectOptions,
    LocalOptions, MemberContext, Progress, Silent, SlurmOptions, SubmitOptions, Sweep, SweepSpec,
};
use gdscope_train::config::TrainConfig;
use gdscope_train::run::{Progress as RunProgress, RunOptions};
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyTuple;

pyo3::create_exception!(
    _native,
    GdscopeError,
    PyException,
    "An error reported by gdscope; the message names the problem and the fix."
);

/// anyhow errors as `GdscopeError` with gdscope's full message chain.
fn err(e: anyhow::Error) -> PyErr {
    GdscopeError::new_err(format!("{e:#}"))
}

/// A training configuration given as JSON text (from a Python dict) as a TOML document.
fn toml_text(config_json: &str) -> anyhow::Result<String> {
    let table: toml::Table = serde_json::from_str(config_json).map_err(|e| {
        anyhow::anyhow!("the config cannot be written as TOML ({e}); use numbers, strings, booleans, lists and dicts, no None")
    })?;
    Ok(toml::to_string(&table)?)
}

/// Trains one run (`gdscope train`); returns the run directory.
#[pyfunction]
#[pyo3(signature = (config_json, out, overrides, overwrite, progress))]
fn train(
    py: Python<'_>,
    config_json: &str,
    out: PathBuf,
    overrides: Vec<String>,
    overwrite: bool,
    progress: bool,
) -> PyResult<PathBuf> {
    let text = toml_text(config_json).map_err(err)?;
    let config = TrainConfig::from_toml(&text, &overrides).map_err(err)?;
    let report = py
        .detach(|| gdscope_train::run::start(config, &out, overwrite, progress))
        .map_err(err)?;
    Ok(report.dir)
}

/// Forks the run in `parent` at `at_step` into `out` (`gdscope train --resume PARENT --fork
/// OUT --at-step T --set …`); returns the fork's directory.
#[pyfunction]
#[pyo3(signature = (parent, out, at_step, overrides, overwrite, progress))]
fn fork(
    py: Python<'_>,
    parent: PathBuf,
    out: PathBuf,
    at_step: Option<u64>,
    overrides: Vec<String>,
    overwrite: bool,
    progress: bool,
) -> PyResult<PathBuf> {
    let options = RunOptions {
        overwrite,
        progress: if progress {
            RunProgress::auto()
        } else {
            RunProgress::Hidden
        },
        stop: None,
    };
    let report = py
        .detach(|| gdscope_train::run::fork_with(&parent, at_step, &overrides, &out, &options))
        .map_err(err)?;
    Ok(report.dir)
}

/// Creates (or continues) a sweep and runs it locally or submits it to Slurm; returns the
/// sweep directory. With `fork_from`, every member is a fork of that run at `at_step`.
#[pyfunction]
#[pyo3(signature = (config_json, out, overrides, grid, zip, backend, workers, threads_per_worker, slurm_json, dry_run, progress, member_command, fork_from=None, at_step=None))]
#[allow(clippy::too_many_arguments)]
fn sweep(
    py: Python<'_>,
    config_json: &str,
    out: PathBuf,
    overrides: Vec<String>,
    grid: Vec<String>,
    zip: Vec<String>,
    backend: &str,
    workers: Option<usize>,
    threads_per_worker: Option<usize>,
    slurm_json: &str,
    dry_run: bool,
    progress: bool,
    member_command: Vec<String>,
    fork_from: Option<PathBuf>,
    at_step: Option<u64>,
) -> PyResult<PathBuf> {
    let run = || -> anyhow::Result<PathBuf> {
        let spec = match &fork_from {
            Some(parent) => SweepSpec::load_fork(parent, at_step, &overrides, &grid, &zip)?,
            None => {
                let mut spec = SweepSpec::from_toml(&toml_text(config_json)?, &overrides)?;
                spec.add_axes(&grid, &zip)?;
                spec
            }
        };
        let mut sweep = spec.create(&out)?;
        let flags: SlurmOptions =
            serde_json::from_str(slurm_json).map_err(|e| anyhow::anyhow!("slurm options: {e}"))?;
        match backend.parse::<Backend>()? {
            Backend::Local => {
                let opts = LocalOptions {
                    workers: workers.or(spec.workers),
                    threads_per_worker: threads_per_worker.or(spec.threads_per_worker),
                };
                let report = if progress {
                    run_local(&mut sweep, &opts, &Progress::new())?
                } else {
                    run_local(&mut sweep, &opts, &Silent)?
                };
                anyhow::ensure!(report.errors.is_empty(), "{}", report.errors.join("; "));
                collect(&sweep, &CollectOptions::default())?;
            }
            Backend::Slurm => {
                let opts = SubmitOptions {
                    slurm: sweep.manifest.slurm.merged(&flags),
                    dry_run,
                    member_command,
                };
                submit(&mut sweep, &opts)?;
            }
        }
        Ok(sweep.dir)
    };
    py.detach(run).map_err(err)
}

/// One analysis run (`gdscope direction | sweep-lr | basin | curvature`) from its spec given
/// as JSON (the `[spec]` table of the run's config.toml); returns what the command's `--json`
/// prints, as JSON. With `out`, writes the run directory as the command's `--out` does.
#[pyfunction]
#[pyo3(signature = (command, spec_json, out=None, overwrite=false))]
fn analyze(
    py: Python<'_>,
    command: &str,
    spec_json: &str,
    out: Option<PathBuf>,
    overwrite: bool,
) -> PyResult<String> {
    use gdscope_runs::{basin, curvature, direction, sweep_lr};
    fn spec<S: serde::de::DeserializeOwned>(command: &str, json: &str) -> anyhow::Result<S> {
        serde_json::from_str(json).map_err(|e| anyhow::anyhow!("the {command} spec: {e}"))
    }
    let output = out.map(|dir| gdscope_runs::Output {
        dir,
        overwrite,
        csv: false,
    });
    let output = output.as_ref();
    let quiet = &gdscope_runs::Silent;
    py.detach(|| -> anyhow::Result<String> {
        let value = match command {
            "direction" => {
                let done = direction::run(&spec(command, spec_json)?, output)?;
                serde_json::to_value(done.report.summary())?
            }
            "sweep-lr" => sweep_lr::run(&spec(command, spec_json)?, output, quiet)?.summary(),
            "basin" => {
                let done = basin::run(&spec(command, spec_json)?, output, quiet)?;
                serde_json::to_value(done.summary)?
            }
            "curvature" => {
                let done = curvature::run(&spec(command, spec_json)?, output, quiet)?;
                let mut report = done.report;
                report["warnings"] = serde_json::json!(done.warnings);
                report
            }
            other => anyhow::bail!(
                "no analysis `{other}`: use direction, sweep-lr, basin or curvature (training runs: gdscope.train)"
            ),
        };
        Ok(serde_json::to_string(&value)?)
    })
    .map_err(err)
}

/// Runs member `index` of the sweep in `dir` (what `python -m gdscope run-member` does);
/// returns its status as JSON.
#[pyfunction]
fn run_sweep_member(py: Python<'_>, dir: PathBuf, index: usize) -> PyResult<String> {
    py.detach(|| -> anyhow::Result<String> {
        process::install_signal_handlers()?;
        let sweep = Sweep::open(&dir)?;
        let status = run_member(&sweep, index, &MemberContext::from_env())?;
        Ok(serde_json::to_string(&status)?)
    })
    .map_err(err)
}

/// The status of every member as JSON (`gdscope sweep status --json`'s `members`).
#[pyfunction]
fn sweep_status_json(py: Python<'_>, dir: PathBuf) -> PyResult<String> {
    py.detach(|| -> anyhow::Result<String> {
        let sweep = Sweep::open(&dir)?;
        let queue = gdscope_sweep::slurm::Queue::for_sweep(&sweep);
        Ok(serde_json::to_string(&sweep_status(
            &sweep,
            queue.as_ref(),
        )?)?)
    })
    .map_err(err)
}

/// Writes `sweep.parquet`, `metrics.parquet` and (with `figures`) the sweep figures; returns
/// the written paths.
#[pyfunction]
#[pyo3(signature = (dir, figures, metric=None, summary_field=None, vs=None))]
fn collect_sweep(
    py: Python<'_>,
    dir: PathBuf,
    figures: bool,
    metric: Option<String>,
    summary_field: Option<String>,
    vs: Option<String>,
) -> PyResult<Vec<PathBuf>> {
    py.detach(|| -> anyhow::Result<Vec<PathBuf>> {
        let sweep = Sweep::open(&dir)?;
        let done = collect(
            &sweep,
            &CollectOptions {
                figures,
                metric,
                summary_field,
                vs,
                ..CollectOptions::default()
            },
        )?;
        Ok([vec![done.runs, done.metrics], done.figures].concat())
    })
    .map_err(err)
}

/// A network loss `L(w)` on a data set, with gdscope's exact derivatives.
#[pyclass(module = "gdscope._native", frozen)]
struct Network {
    objective: NetworkObjective,
}

fn parse_loss(loss: &str) -> PyResult<Loss> {
    Loss::from_name(loss).ok_or_else(|| {
        PyValueError::new_err(format!("unknown loss `{loss}`; use \"mse\" or \"ce\""))
    })
}

fn parse_dtype(dtype: &str) -> PyResult<Dtype> {
    match dtype {
        "f64" | "float64" => Ok(Dtype::F64),
        "f32" | "float32" => Ok(Dtype::F32),
        _ => Err(PyValueError::new_err(format!(
            "unknown dtype `{dtype}`; use \"f64\" or \"f32\""
        ))),
    }
}

/// Targets as `n × k` rows: given `n × k`, or `n` integer labels one-hot encoded.
fn targets(y: &Bound<'_, PyAny>, n: usize, k: usize) -> PyResult<Vec<f64>> {
    if let Ok(y2) = y.extract::<PyReadonlyArray2<'_, f64>>() {
        let shape = y2.shape().to_vec();
        if shape != [n, k] {
            return Err(PyValueError::new_err(format!(
                "y has shape {shape:?}; expected [{n}, {k}] (n rows of x, k model outputs) or [{n}] integer labels"
            )));
        }
        return Ok(y2.as_array().iter().copied().collect());
    }
    let labels = y
        .extract::<PyReadonlyArray1<'_, i64>>()
        .map(|a| a.as_array().to_vec())
        .or_else(|_| {
            y.extract::<PyReadonlyArray1<'_, f64>>().map(|a| {
                a.as_array()
                    .iter()
                    .map(|&v| if v.fract() == 0.0 { v as i64 } else { -1 })
                    .collect()
            })
        })
        .map_err(|_| {
            PyValueError::new_err(format!(
                "y must be a float64 array of shape [{n}, {k}] or an array of {n} integer labels"
            ))
        })?;
    if labels.len() != n {
        return Err(PyValueError::new_err(format!(
            "y has {} labels but x has {n} rows",
            labels.len()
        )));
    }
    let mut classes = Vec::with_capacity(n);
    for (i, &l) in labels.iter().enumerate() {
        if l < 0 || l as usize >= k {
            return Err(PyValueError::new_err(format!(
                "label {l} at index {i} is not an integer class in 0..{k} (the model has {k} outputs)"
            )));
        }
        classes.push(l as usize);
    }
    Ok(gdscope_data::one_hot(&classes, k))
}

impl Network {
    fn check(&self, name: &str, v: &[f64]) -> PyResult<()> {
        let p = self.objective.dim();
        if v.len() != p {
            return Err(PyValueError::new_err(format!(
                "{name} has {} entries; the model `{}` has {p} parameters",
                v.len(),
                self.objective.spec()
            )));
        }
        Ok(())
    }
}

/// A 1-D array as a vector (copied; any strides).
fn vector(a: &PyReadonlyArray1<'_, f64>) -> Vec<f64> {
    a.as_array().to_vec()
}

#[pymethods]
impl Network {
    #[new]
    #[pyo3(signature = (spec, data, loss="mse", dtype="f64"))]
    fn new(
        py: Python<'_>,
        spec: &str,
        data: &Bound<'_, PyAny>,
        loss: &str,
        dtype: &str,
    ) -> PyResult<Self> {
        let (loss, dtype) = (parse_loss(loss)?, parse_dtype(dtype)?);
        let model =
            Model::<f64>::from_spec(spec).map_err(|e| PyValueError::new_err(e.to_string()))?;
        let (d, k) = (model.in_width(), model.out_width());
        let (x, y, n) = if let Ok(text) = data.extract::<String>() {
            let data_spec = gdscope_data::parse_data_spec(&text).map_err(err)?;
            let split = py.detach(|| gdscope_data::load(&data_spec)).map_err(err)?;
            let train = split.train;
            (train.x, train.y, train.n)
        } else if let Ok(pair) = data.cast::<PyTuple>() {
            if pair.len() != 2 {
                return Err(PyValueError::new_err(
                    "data must be a spec string or a pair (x, y)",
                ));
            }
            let x: PyReadonlyArray2<'_, f64> = pair.get_item(0)?.extract().map_err(|_| {
                PyValueError::new_err(format!("x must be a float64 array of shape [n, {d}]"))
            })?;
            let [n, xd] = [x.shape()[0], x.shape()[1]];
            if xd != d {
                return Err(PyValueError::new_err(format!(
                    "x has shape [{n}, {xd}] but the model's input width is {d}"
                )));
            }
            let xs: Vec<f64> = x.as_array().iter().copied().collect();
            (xs, targets(&pair.get_item(1)?, n, k)?, n)
        } else {
            return Err(PyValueError::new_err(
                "data must be a data spec string such as \"synthetic-linear:n=200,d=20,k=4\" or \"npz:data.npz\", or a pair (x, y) of NumPy arrays",
            ));
        };
        let objective = NetworkObjective::new(spec, &x, &y, n, loss, dtype)
            .map_err(|e| GdscopeError::new_err(format!("model `{spec}`: {e}")))?;
        Ok(Self { objective })
    }

    /// Number of parameters P.
    #[getter]
    fn dim(&self) -> usize {
        self.objective.dim()
    }

    /// Number of examples n.
    #[getter]
    fn num_examples(&self) -> usize {
        self.objective.num_examples().unwrap_or(0)
    }

    /// The model spec.
    #[getter]
    fn spec(&self) -> String {
        self.objective.spec().to_string()
    }

    /// Seeded initial parameters (`lecun`, `he` or `xavier` normal; biases zero).
    #[pyo3(signature = (seed=0, scheme="lecun"))]
    fn init<'py>(
        &self,
        py: Python<'py>,
        seed: u64,
        scheme: &str,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let scheme = match scheme {
            "lecun" => Init::LeCun,
            "he" => Init::He,
            "xavier" => Init::Xavier,
            _ => {
                return Err(PyValueError::new_err(format!(
                    "unknown init `{scheme}`; use lecun, he or xavier"
                )))
            }
        };
        Ok(PyArray1::from_vec(py, self.objective.init(scheme, seed)))
    }

    /// L(w).
    fn value(&self, py: Python<'_>, w: PyReadonlyArray1<'_, f64>) -> PyResult<f64> {
        let w = vector(&w);
        self.check("w", &w)?;
        Ok(py.detach(|| self.objective.value(&w)))
    }

    /// (L(w), ∇L(w)).
    fn value_grad<'py>(
        &self,
        py: Python<'py>,
        w: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<(f64, Bound<'py, PyArray1<f64>>)> {
        let w = vector(&w);
        self.check("w", &w)?;
        let (value, grad) = py.detach(|| {
            let mut g = vec![0.0; w.len()];
            let v = self.objective.value_grad(&w, &mut g);
            (v, g)
        });
        Ok((value, PyArray1::from_vec(py, grad)))
    }

    /// ∇²L(w)·v.
    fn hvp<'py>(
        &self,
        py: Python<'py>,
        w: PyReadonlyArray1<'_, f64>,
        v: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (w, v) = (vector(&w), vector(&v));
        self.check("w", &w)?;
        self.check("v", &v)?;
        let out = py.detach(|| {
            let mut out = vec![0.0; w.len()];
            self.objective.hvp(&w, &v, &mut out);
            out
        });
        Ok(PyArray1::from_vec(py, out))
    }

    /// ∇²L(w)·V for the columns of V (shape P × m), in one stacked pass.
    fn block_hvp<'py>(
        &self,
        py: Python<'py>,
        w: PyReadonlyArray1<'_, f64>,
        vs: PyReadonlyArray2<'_, f64>,
    ) -> PyResult<Bound<'py, PyArray2<f64>>> {
        let w = vector(&w);
        self.check("w", &w)?;
        let (p, m) = (vs.shape()[0], vs.shape()[1]);
        if p != w.len() {
            return Err(PyValueError::new_err(format!(
                "V has shape [{p}, {m}]; expected [{}, m] (one direction per column)",
                w.len()
            )));
        }
        let view = vs.as_array();
        let block = Block::from_fn(p, m, |i, j| view[[i, j]]);
        let out = py.detach(|| self.objective.block_hvp(&w, &block));
        let rows: Vec<Vec<f64>> = (0..p)
            .map(|i| (0..m).map(|j| out[(i, j)]).collect())
            .collect();
        PyArray2::from_vec2(py, &rows).map_err(|e| PyValueError::new_err(e.to_string()))
    }

    /// ∇_w(uᵀ∇²L(w)v).
    fn third_order<'py>(
        &self,
        py: Python<'py>,
        w: PyReadonlyArray1<'_, f64>,
        u: PyReadonlyArray1<'_, f64>,
        v: PyReadonlyArray1<'_, f64>,
    ) -> PyResult<Bound<'py, PyArray1<f64>>> {
        let (w, u, v) = (vector(&w), vector(&u), vector(&v));
        for (name, a) in [("w", &w), ("u", &u), ("v", &v)] {
            self.check(name, a)?;
        }
        let out = py.detach(|| {
            let mut out = vec![0.0; w.len()];
            self.objective.third_order(&w, &u, &v, &mut out);
            out
        });
        Ok(PyArray1::from_vec(py, out))
    }

    fn __repr__(&self) -> String {
        format!(
            "Network('{}', {} parameters, {} examples, loss {:?}, dtype {:?})",
            self.objective.spec(),
            self.objective.dim(),
            self.objective.num_examples().unwrap_or(0),
            self.objective.loss(),
            self.objective.dtype()
        )
    }
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("GdscopeError", m.py().get_type::<GdscopeError>())?;
    m.add_class::<Network>()?;
    m.add_function(wrap_pyfunction!(train, m)?)?;
    m.add_function(wrap_pyfunction!(analyze, m)?)?;
    m.add_function(wrap_pyfunction!(fork, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(run_sweep_member, m)?)?;
    m.add_function(wrap_pyfunction!(sweep_status_json, m)?)?;
    m.add_function(wrap_pyfunction!(collect_sweep, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

//! A network objective as a spec: either a training run directory (`run`: model, data, loss
//! and dtype from its `config.toml`, parameters from its `weights.npy`) or the pieces
//! (`model`, `data` (.npz), `params` (.npy), `loss`, `dtype`) — the `[network]` table of the
//! curvature spec, and what the CLI's `--run` / `--model --data --params` flags fill in
//! (`gdscope probe` reads networks the same way). Data files go through `gdscope-data`'s NPZ
//! loader: `x` as `n×d` or images `n×C×H×W` (what `gdscope data export` writes), `y` as
//! integer labels or `n×k` targets.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use gdscope_data::{one_hot, DataSpec, Dataset};
use gdscope_io::npy::read_npy;
use gdscope_nn::{Dtype, Loss, Model, NetworkObjective};
use gdscope_train::config::{DtypeName, LossName, TrainConfig};
use serde::{Deserialize, Serialize};

/// A network objective: `run`, or `model`, `data` and `params` (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// A training run directory (`gdscope train --out DIR`): model, data, loss and dtype from
    /// its config.toml, parameters from its weights.npy (override with `params`, `dtype`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<PathBuf>,
    /// Model spec, e.g. `mlp:20-256-256-4:gelu-tanh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Data set: an .npz with `x` and `y`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// Flat parameter vector (.npy, length P) [default with `run`: DIR/weights.npy].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<PathBuf>,
    /// Loss [default: mse, or the run's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossName>,
    /// Compute precision [default: f64, or the run's].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<DtypeName>,
}

/// What a [`NetworkSpec`] resolved to (saved as the `network` table of run summaries).
#[derive(Debug, Clone, Serialize)]
pub struct ResolvedNetwork {
    /// The training run the network comes from, if any.
    pub run: Option<PathBuf>,
    /// Model spec.
    pub model: String,
    /// Data set.
    pub data: DataSpec,
    /// Parameter file.
    pub params: PathBuf,
    /// Loss.
    pub loss: LossName,
    /// Compute precision.
    pub dtype: DtypeName,
}

impl NetworkSpec {
    /// Where model, data, parameters, loss and dtype come from.
    pub fn resolve(&self) -> Result<ResolvedNetwork> {
        if let Some(run) = &self.run {
            return self.resolve_run(run);
        }
        let (Some(model), Some(data), Some(params)) = (&self.model, &self.data, &self.params)
        else {
            bail!("give --run DIR, or all of --model SPEC --data DATA.npz --params W.npy");
        };
        Ok(ResolvedNetwork {
            run: None,
            model: model.clone(),
            data: DataSpec::Npz { path: data.clone() },
            params: params.clone(),
            loss: self.loss.unwrap_or(LossName::Mse),
            dtype: self.dtype.unwrap_or(DtypeName::F64),
        })
    }

    fn resolve_run(&self, run: &Path) -> Result<ResolvedNetwork> {
        let config_path = run.join("config.toml");
        ensure!(
            config_path.is_file(),
            "--run {}: no config.toml there; give the directory of a training run (`gdscope train --out DIR`)",
            run.display()
        );
        let config = TrainConfig::load(&config_path, &[])
            .with_context(|| format!("--run {}", run.display()))?;
        let params = self
            .params
            .clone()
            .unwrap_or_else(|| run.join("weights.npy"));
        ensure!(
            params.is_file(),
            "--run {}: no {} yet (the run writes it when it ends); give --params W.npy",
            run.display(),
            params.display()
        );
        Ok(ResolvedNetwork {
            run: Some(run.to_path_buf()),
            model: config.model.spec,
            data: config.data,
            params,
            loss: config.loss,
            dtype: self.dtype.unwrap_or(config.dtype),
        })
    }

    /// Loads the data and parameters and builds the objective; returns it with the
    /// parameters and what was resolved.
    pub fn build(&self) -> Result<(NetworkObjective, Vec<f64>, ResolvedNetwork)> {
        let r = self.resolve()?;
        let model = Model::<f64>::from_spec(&r.model)?;
        let (d, k, p) = (model.in_width(), model.out_width(), model.num_params());
        let train = gdscope_data::load(&r.data)
            .with_context(|| format!("cannot load the data set {}", r.data))?
            .train;
        let (x, y, n) = model_inputs(train, d, k).with_context(|| r.data.to_string())?;
        let params = read_vector(&r.params, p, &format!("parameter vector for `{}`", r.model))?;
        let loss = match r.loss {
            LossName::Mse => Loss::Mse,
            LossName::Ce => Loss::CrossEntropy,
        };
        let dtype = match r.dtype {
            DtypeName::F32 => Dtype::F32,
            DtypeName::F64 => Dtype::F64,
        };
        let objective = NetworkObjective::new(&r.model, &x, &y, n, loss, dtype)?;
        Ok((objective, params, r))
    }
}

/// Reads a flat `.npy` vector of exactly `len` entries (`what` names it in errors).
pub fn read_vector(path: &Path, len: usize, what: &str) -> Result<Vec<f64>> {
    let a = read_npy(path)?;
    ensure!(
        a.ndim() == 1 && a.len() == len,
        "{}: expected a flat {what} of shape [{len}], found shape {:?}",
        path.display(),
        a.shape
    );
    Ok(a.data)
}

/// `(x as n×d, y as n×k, n)` for a model with input width `d` and `k` outputs. Images count
/// by their `C·H·W` values; class labels are one-hot encoded to the model's `k` (a data set
/// may use fewer classes than the model has outputs).
fn model_inputs(ds: Dataset, d: usize, k: usize) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    ensure!(
        ds.d() == d,
        "`x` has {} values per example (input shape {:?}) but the model's input width is {d}",
        ds.d(),
        ds.input_shape
    );
    let y = match &ds.labels {
        Some(labels) if ds.k != k => {
            if let Some(&l) = labels.iter().find(|&&l| l >= k) {
                bail!(
                    "`y` has class label {l}, but the model has only {k} outputs (classes 0..{k})"
                );
            }
            one_hot(labels, k)
        }
        _ if ds.k == k => ds.y,
        _ => bail!(
            "`y` has shape [{n}, {}] but the model has {k} outputs: expected [{n}, {k}] targets, or {n} integer class labels",
            ds.k,
            n = ds.n
        ),
    };
    Ok((ds.x, y, ds.n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_and_labels_fit_the_model() {
        // Two 1×2×2 images, labels 0 and 1, for a model with 4 inputs and 3 outputs.
        let ds = Dataset::classification(
            "t",
            (0..8).map(f64::from).collect(),
            vec![1, 2, 2],
            vec![0, 1],
            2,
        )
        .unwrap();
        let (x, y, n) = model_inputs(ds.clone(), 4, 3).unwrap();
        assert_eq!((x.len(), n), (8, 2));
        assert_eq!(y, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
        let e = model_inputs(ds.clone(), 5, 3).unwrap_err().to_string();
        assert!(
            e.contains("input shape [1, 2, 2]") && e.contains("width is 5"),
            "{e}"
        );
        let e = model_inputs(ds, 4, 1).unwrap_err().to_string();
        assert!(e.contains("class label 1"), "{e}");
    }
}

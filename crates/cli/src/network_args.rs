//! Shared command-line arguments that describe a network objective: model spec, data set,
//! parameters, loss and dtype. Used by `gdscope probe` and the curvature commands, so every
//! command reads networks the same way and reports the same errors.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure, Context, Result};
use gdscope_io::npy::{read_npy, read_npz, NdArray};
use gdscope_nn::{Dtype, Loss, Model, NetworkObjective};

/// Loss function choice on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LossArg {
    /// ½‖f − y‖² per example, averaged over examples.
    Mse,
    /// Softmax cross-entropy, averaged over examples.
    Ce,
}

/// Compute precision on the command line.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum DtypeArg {
    /// Single precision (fast).
    F32,
    /// Double precision (reference).
    F64,
}

/// A network objective: `--model SPEC --data DATA.npz --params W.npy [--loss] [--dtype]`.
#[derive(clap::Args, Debug, Clone)]
pub struct NetworkArgs {
    /// Model spec, e.g. `mlp:20-256-256-4:gelu-tanh` (activations: identity, tanh, relu, gelu,
    /// gelu-tanh, softplus, elu).
    #[arg(long, value_name = "SPEC")]
    pub model: String,
    /// Data set: an .npz with `x` (n×d) and `y` (n×k targets, or n integer class labels that
    /// are one-hot encoded with k = the model's output width).
    #[arg(long, value_name = "DATA.npz")]
    pub data: PathBuf,
    /// Flat parameter vector (.npy, length P): per layer the weight fan_in×fan_out row-major,
    /// then the bias.
    #[arg(long, value_name = "W.npy")]
    pub params: PathBuf,
    /// Loss function.
    #[arg(long, value_enum, default_value_t = LossArg::Mse)]
    pub loss: LossArg,
    /// Compute precision (results are always written as float64).
    #[arg(long, value_enum, default_value_t = DtypeArg::F64)]
    pub dtype: DtypeArg,
}

impl NetworkArgs {
    /// Loads the data and parameters and builds the objective; returns it with the parameters.
    pub fn build(&self) -> Result<(NetworkObjective, Vec<f64>)> {
        let model = Model::<f64>::from_spec(&self.model)?;
        let (d, k, p) = (model.in_width(), model.out_width(), model.num_params());
        let (x, y, n) = load_data(&self.data, d, k)?;
        let params = read_vector(
            &self.params,
            p,
            &format!("parameter vector for `{}`", self.model),
        )?;
        let loss = match self.loss {
            LossArg::Mse => Loss::Mse,
            LossArg::Ce => Loss::CrossEntropy,
        };
        let dtype = match self.dtype {
            DtypeArg::F32 => Dtype::F32,
            DtypeArg::F64 => Dtype::F64,
        };
        let objective = NetworkObjective::new(&self.model, &x, &y, n, loss, dtype)?;
        Ok((objective, params))
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

/// Reads `x` (n×d) and `y` from an .npz file and returns `(x, y as n×k, n)`.
/// `y` may be n×k targets or n integer labels in `0..k` (one-hot encoded).
pub fn load_data(path: &Path, d: usize, k: usize) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    let mut arrays = read_npz(path)?;
    let file = path.display();
    let x = arrays
        .remove("x")
        .with_context(|| format!("{file}: no array named `x` (inputs, shape n×{d})"))?;
    let y = arrays
        .remove("y")
        .with_context(|| format!("{file}: no array named `y` (targets n×{k} or n labels)"))?;
    let (n, xd) = x.dims2(&format!("{file}: `x`"))?;
    ensure!(
        xd == d,
        "{file}: `x` has shape {:?} but the model's input width is {d} (expected [n, {d}])",
        x.shape
    );
    let y = targets(&y, n, k).with_context(|| format!("{file}: `y`"))?;
    Ok((x.data, y, n))
}

/// n×k targets, or n integer labels one-hot encoded.
fn targets(y: &NdArray, n: usize, k: usize) -> Result<Vec<f64>> {
    match y.shape[..] {
        [rows, cols] if rows == n && cols == k => Ok(y.data.clone()),
        [rows] if rows == n && (y.is_integer() || k > 1) => {
            let mut onehot = vec![0.0; n * k];
            for (i, &label) in y.data.iter().enumerate() {
                ensure!(
                    label.fract() == 0.0 && label >= 0.0 && label < k as f64,
                    "label {label} at index {i} is not an integer class in 0..{k} (the model has {k} outputs)"
                );
                onehot[i * k + label as usize] = 1.0;
            }
            Ok(onehot)
        }
        [rows] if rows == n && k == 1 => Ok(y.data.clone()),
        _ => bail!(
            "has shape {:?}; expected [{n}, {k}] (targets) or [{n}] (integer labels), with n = {n} rows of `x` and k = {k} model outputs",
            y.shape
        ),
    }
}

//! Shared command-line arguments that describe a network objective: either a training run
//! directory (`--run DIR`: model, data, loss and dtype from its `config.toml`, parameters
//! from its `weights.npy`) or the pieces (`--model SPEC --data DATA.npz --params W.npy`
//! `[--loss] [--dtype]`). Used by `gdscope probe` and `gdscope curvature`, so every command
//! reads networks the same way and reports the same errors. Data files go through
//! `gdscope-data`'s NPZ loader: `x` as `n×d` or images `n×C×H×W` (what `gdscope data
//! export` writes), `y` as integer labels or `n×k` targets. The flags become the library's
//! [`NetworkSpec`], which resolves, loads and checks them.

use std::path::PathBuf;

use anyhow::Result;
use gdscope_nn::NetworkObjective;
use gdscope_runs::{NetworkSpec, ResolvedNetwork};
use gdscope_train::config::{DtypeName, LossName};

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

/// A network objective: `--run DIR`, or `--model SPEC --data DATA.npz --params W.npy`.
#[derive(clap::Args, Debug, Clone)]
pub struct NetworkArgs {
    /// A training run directory (`gdscope train --out DIR`): model, data, loss and dtype
    /// from its config.toml, parameters from its weights.npy (override with --params,
    /// --dtype).
    #[arg(long, value_name = "DIR", conflicts_with_all = ["model", "data", "loss"])]
    pub run: Option<PathBuf>,
    /// Model spec, e.g. `mlp:20-256-256-4:gelu-tanh` (activations: identity, tanh, relu, gelu,
    /// gelu-tanh, softplus, elu).
    #[arg(long, value_name = "SPEC", required_unless_present = "run")]
    pub model: Option<String>,
    /// Data set: an .npz with `x` (n×d, or n×C×H×W images as `gdscope data export` writes)
    /// and `y` (integer class labels, one-hot encoded to the model's outputs, or n×k
    /// targets).
    #[arg(long, value_name = "DATA.npz", required_unless_present = "run")]
    pub data: Option<PathBuf>,
    /// Flat parameter vector (.npy, length P): per layer the weight fan_in×fan_out row-major,
    /// then the bias [default with --run: DIR/weights.npy].
    #[arg(long, value_name = "W.npy", required_unless_present = "run")]
    pub params: Option<PathBuf>,
    /// Loss function [default: mse].
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Compute precision; results are always written as float64 [default: f64, or the
    /// run's].
    #[arg(long, value_enum)]
    pub dtype: Option<DtypeArg>,
}

impl NetworkArgs {
    /// The library's spec of these flags.
    pub fn spec(&self) -> NetworkSpec {
        NetworkSpec {
            run: self.run.clone(),
            model: self.model.clone(),
            data: self.data.clone(),
            params: self.params.clone(),
            loss: self.loss.map(|l| match l {
                LossArg::Mse => LossName::Mse,
                LossArg::Ce => LossName::Ce,
            }),
            dtype: self.dtype.map(|d| match d {
                DtypeArg::F32 => DtypeName::F32,
                DtypeArg::F64 => DtypeName::F64,
            }),
        }
    }

    /// Loads the data and parameters and builds the objective; returns it with the
    /// parameters and what was resolved.
    pub fn build(&self) -> Result<(NetworkObjective, Vec<f64>, ResolvedNetwork)> {
        self.spec().build()
    }
}

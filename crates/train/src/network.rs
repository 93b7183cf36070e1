//! A configured network problem: data from `gdscope-data`, the model from `gdscope-nn`, as
//! the training [`Objective`](gdscope_core::Objective) plus an [`Evaluator`] for accuracy and
//! test metrics.

use anyhow::Context;
use gdscope_core::seeds::{derive, Stream};
use gdscope_core::Objective;
use gdscope_data::Dataset;
use gdscope_dynamics::{Evaluation, Evaluator, Observables, Problem, ProcessName};
use gdscope_nn::{Dtype, Init, Loss, NetworkObjective};

use crate::config::{DtypeName, InitName, LossName, TrainConfig};
use crate::outputs::NetworkOutputs;

/// The network objective on the training set, with the test set when the data has one.
pub struct NetworkProblem {
    /// Loss on the full training set as a function of the flat parameters.
    pub objective: NetworkObjective,
    test: Option<Dataset>,
    classification: bool,
    /// The network outputs whose time averages the central flow predicts
    /// (`[process.central] outputs`; only when the run has a `central` process).
    outputs: Option<NetworkOutputs>,
}

impl NetworkProblem {
    /// Loads `config.data` and builds `config.model` with `config.loss` and `config.dtype`.
    pub fn build(config: &TrainConfig) -> anyhow::Result<Self> {
        let split =
            gdscope_data::load(&config.data).context("cannot load the data set of [data]")?;
        let train = split.train;
        let loss = match config.loss {
            LossName::Mse => Loss::Mse,
            LossName::Ce => Loss::CrossEntropy,
        };
        let dtype = match config.dtype {
            DtypeName::F32 => Dtype::F32,
            DtypeName::F64 => Dtype::F64,
        };
        anyhow::ensure!(
            config.loss == LossName::Mse || train.is_classification(),
            "loss = \"ce\" needs class labels, but data kind gives regression targets; use loss = \"mse\""
        );
        let objective =
            NetworkObjective::new(&config.model.spec, &train.x, &train.y, train.n, loss, dtype)
                .map_err(|e| {
                    anyhow::anyhow!(
                        "model `{}` on data `{}`: {e}",
                        config.model.spec,
                        train.name
                    )
                })?;
        let wants_outputs =
            config.process.central.outputs > 0 && config.processes.contains(&ProcessName::Central);
        let outputs = wants_outputs
            .then(|| {
                let examples = split.test.as_ref().unwrap_or(&train);
                NetworkOutputs::new(
                    &config.model.spec,
                    examples,
                    config.process.central.outputs,
                    dtype,
                )
                .context("process.central.outputs: cannot build the network outputs")
            })
            .transpose()?;
        Ok(Self {
            objective,
            classification: train.is_classification(),
            test: split.test,
            outputs,
        })
    }

    /// The initial weights: seeded by `(seed, Init, 0)` for a scheme, or read from the
    /// `.npy` of `model.init = "npy:PATH"` (flat, float32 or float64, in gdscope's layout).
    pub fn init_weights(&self, config: &TrainConfig) -> anyhow::Result<Vec<f64>> {
        let scheme = match &config.model.init {
            InitName::Lecun => Init::LeCun,
            InitName::He => Init::He,
            InitName::Xavier => Init::Xavier,
            InitName::Npy(path) => return self.weights_from_npy(path),
        };
        Ok(self
            .objective
            .init(scheme, derive(config.seed, Stream::Init, 0)))
    }

    fn weights_from_npy(&self, path: &std::path::Path) -> anyhow::Result<Vec<f64>> {
        let a = gdscope_io::npy::read_npy(path)
            .with_context(|| format!("model.init: cannot read {}", path.display()))?;
        let n = self.objective.dim();
        let layout = || {
            self.objective
                .param_views()
                .iter()
                .map(|v| format!("{} {:?}", v.name, v.shape))
                .collect::<Vec<_>>()
                .join(", ")
        };
        anyhow::ensure!(
            a.dtype == "float32" || a.dtype == "float64",
            "model.init: {} holds {} values; save the weights as float32 or float64",
            path.display(),
            a.dtype
        );
        anyhow::ensure!(
            a.ndim() == 1 && a.len() == n,
            "model.init: {} has shape {:?} but model `{}` needs a flat array of {n} parameters \
             in gdscope's layout (per layer, the weight fan_in × fan_out row-major, then the \
             bias): {}; see docs/training.md \"Starting from your own weights\"",
            path.display(),
            a.shape,
            self.objective.spec(),
            layout()
        );
        anyhow::ensure!(
            a.data.iter().all(|x| x.is_finite()),
            "model.init: {} holds non-finite values",
            path.display()
        );
        Ok(a.data)
    }

    /// The problem as the trainer sees it.
    pub fn problem(&self) -> Problem<'_> {
        Problem {
            objective: &self.objective,
            evaluator: Some(self),
            observables: self.outputs.as_ref().map(|o| o as &dyn Observables),
        }
    }
}

impl Evaluator for NetworkProblem {
    fn evaluate(&self, w: &[f64]) -> Evaluation {
        let test = self
            .test
            .as_ref()
            .and_then(|t| self.objective.evaluate(w, &t.x, &t.y).ok());
        Evaluation {
            train_loss: self.objective.value(w),
            train_accuracy: self.classification.then(|| self.objective.accuracy(w)),
            test_loss: test.map(|t| t.0),
            test_accuracy: test.filter(|_| self.classification).map(|t| t.1),
        }
    }
}

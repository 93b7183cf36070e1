//! A configured network problem: data from `gdscope-data`, the model from `gdscope-nn`, as
//! the training [`Objective`](gdscope_core::Objective) plus an [`Evaluator`] for accuracy and
//! test metrics.

use anyhow::Context;
use gdscope_data::Dataset;
use gdscope_nn::{Dtype, Init, Loss, NetworkObjective};

use crate::config::{DtypeName, InitName, LossName, TrainConfig};
use crate::trainer::{Evaluation, Evaluator, Problem};

/// The network objective on the training set, with the test set when the data has one.
pub struct NetworkProblem {
    /// Loss on the full training set as a function of the flat parameters.
    pub objective: NetworkObjective,
    test: Option<Dataset>,
    classification: bool,
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
        Ok(Self {
            objective,
            classification: train.is_classification(),
            test: split.test,
        })
    }

    /// Seeded initial weights.
    pub fn init_weights(&self, config: &TrainConfig) -> Vec<f64> {
        let scheme = match config.model.init {
            InitName::Lecun => Init::LeCun,
            InitName::He => Init::He,
            InitName::Xavier => Init::Xavier,
        };
        self.objective.init(scheme, config.seed)
    }

    /// The problem as the trainer sees it.
    pub fn problem(&self) -> Problem<'_> {
        Problem {
            objective: &self.objective,
            evaluator: Some(self),
        }
    }
}

impl Evaluator for NetworkProblem {
    fn evaluate(&self, w: &[f64]) -> Evaluation {
        use gdscope_core::Objective;
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

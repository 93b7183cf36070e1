//! What the processes run on: the training objective and an optional evaluator.

use gdscope_core::Objective;

/// Metrics that need more than the training objective (accuracy, a test set).
pub trait Evaluator: Send + Sync {
    /// Evaluates the weights `w` on the full training set and, when there is one, the test set.
    fn evaluate(&self, w: &[f64]) -> Evaluation;
}

/// Result of [`Evaluator::evaluate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Evaluation {
    /// Full-batch training loss.
    pub train_loss: f64,
    /// Training accuracy in [0, 1], for classification.
    pub train_accuracy: Option<f64>,
    /// Test loss.
    pub test_loss: Option<f64>,
    /// Test accuracy in [0, 1].
    pub test_accuracy: Option<f64>,
}

/// Scalar functions of the weights whose time averages the central flow predicts (the
/// network's outputs on a few test examples): `output_j` columns (docs/central-flows.md).
pub trait Observables: Send + Sync {
    /// How many.
    fn count(&self) -> usize;
    /// Observable `j` (`j < count()`), with its derivatives.
    fn observable(&self, j: usize) -> &dyn Objective;
}

/// The training objective (full-batch loss; minibatches through
/// [`Objective::value_grad_subset`]), an optional evaluator and optional observables.
#[derive(Clone, Copy)]
pub struct Problem<'a> {
    /// Training loss `L(w)`.
    pub objective: &'a dyn Objective,
    /// Accuracy and test metrics.
    pub evaluator: Option<&'a dyn Evaluator>,
    /// Observables recorded (and, by the central flow, predicted) every step.
    pub observables: Option<&'a dyn Observables>,
}

impl<'a> Problem<'a> {
    /// A problem with no evaluator (analytic objectives).
    pub fn objective(objective: &'a dyn Objective) -> Self {
        Self {
            objective,
            evaluator: None,
            observables: None,
        }
    }
}

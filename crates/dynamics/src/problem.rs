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

/// The training objective (full-batch loss; minibatches through
/// [`Objective::value_grad_subset`]) and an optional evaluator.
#[derive(Clone, Copy)]
pub struct Problem<'a> {
    /// Training loss `L(w)`.
    pub objective: &'a dyn Objective,
    /// Accuracy and test metrics.
    pub evaluator: Option<&'a dyn Evaluator>,
}

impl<'a> Problem<'a> {
    /// A problem with no evaluator (analytic objectives).
    pub fn objective(objective: &'a dyn Objective) -> Self {
        Self {
            objective,
            evaluator: None,
        }
    }
}

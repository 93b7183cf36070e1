//! Errors for bad user input (specs, shapes). Internal invariants are asserted instead.

/// What went wrong, phrased for the person who supplied the input.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NnError {
    /// The model spec string could not be parsed.
    #[error("invalid model spec `{spec}`: {reason} (expected e.g. `mlp:20-256-256-4:gelu-tanh`)")]
    Spec {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Array shapes do not fit the model or each other.
    #[error("{0}")]
    Shape(String),
}

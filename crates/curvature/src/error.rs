//! The error type of every fallible curvature routine.

/// Why a curvature computation could not run. Each message names the problem and the fix.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CurvatureError {
    /// An argument is out of its valid range (k = 0, a tolerance ≤ 0, a wrong length, …).
    #[error("{0}")]
    InvalidArgument(String),
    /// The operator returned NaN or ±inf.
    #[error(
        "the operator returned non-finite values (NaN or inf); the loss or its Hessian is not \
         finite at these parameters: check the parameters, the data and the loss"
    )]
    NonFinite,
}

/// Shorthand for `Result<T, CurvatureError>`.
pub type Result<T> = std::result::Result<T, CurvatureError>;

/// Returns `Err(InvalidArgument(msg()))` unless `ok`.
pub(crate) fn ensure(ok: bool, msg: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(CurvatureError::InvalidArgument(msg()))
    }
}

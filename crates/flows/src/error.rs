//! Why a flow step could not be taken. Each message names the problem and what to do.

use gdscope_core::optimizer::OptimizerError;
use gdscope_core::rules::{FlowError as RuleFlowError, NoFlow};
use gdscope_curvature::CurvatureError;

use crate::sdcp::SdcpError;

/// The error of every fallible flow routine.
#[derive(Debug, PartialEq, thiserror::Error)]
pub enum FlowError {
    /// A setting out of range.
    #[error("invalid flow setting: {0}")]
    InvalidSetting(String),
    /// The optimizer is not preconditioned GD (momentum methods have no flow here).
    #[error("{0}")]
    NoFlow(#[from] NoFlow),
    /// The discrete optimizer step failed (a state of the wrong length).
    #[error("{0}")]
    Optimizer(#[from] OptimizerError),
    /// The optimizer's preconditioner `P(s)` is not invertible.
    #[error("{0}")]
    Preconditioner(#[from] RuleFlowError),
    /// The eigen-solver could not run (wrong dimensions, non-finite curvature).
    #[error("eigen-solver: {0}")]
    Curvature(#[from] CurvatureError),
    /// The SDCP input was malformed (non-finite gradient or curvature upstream).
    #[error("SDCP: {0}")]
    Sdcp(#[from] SdcpError),
    /// The SDCP has no solution: an effective eigenvalue above 2 along which no curvature
    /// penalty acts (its pair vectors vanish), so no central flow exists from here (GD
    /// diverges along that direction).
    #[error(
        "no central flow at t = {t}: an effective eigenvalue is above 2 but the curvature \
         penalty cannot lower it (∇(uᵀHu) = 0, e.g. a quadratic direction); GD diverges there"
    )]
    NoCentralFlow {
        /// Flow time of the failing substep.
        t: f64,
    },
    /// The weights, state, loss or gradient became non-finite.
    #[error("the flow produced non-finite values at t = {t}: the trajectory diverged")]
    Diverged {
        /// Flow time of the failing substep.
        t: f64,
    },
}

//! # gdscope-direction
//!
//! Theorem 1 of Chen et al. (*On the convergence direction of gradient descent*, see
//! `docs/theory.md` §1–2) as a tool:
//!
//! - [`minimum`]: locate `x*` by damped Newton to machine precision (or check a given one),
//!   with the Hessian spectrum there and its strict-minimum status;
//! - [`predict`]: thresholds `2/(λ1+λn)`, `2/λn`, the predicted regime and eigenvector;
//! - [`trajectory`]: run GD from `x0` and read `v_k` / `(−1)^k v_k` as late as rounding
//!   allows, with the cosine of consecutive updates and the sharpness path;
//! - [`verdict`]: agrees / disagrees / inconclusive / not_covered, each with its reason;
//! - [`report`]: one full analysis and the JSON schema of `gdscope direction --json`;
//! - [`basin`]: classify a grid of starts (the basin `V_η` of the paper), in parallel;
//! - [`sweep`]: predicted vs observed regime over a range of learning rates.

/// `impl Display` for enums with an `as_str` (their snake_case JSON name), so text output
/// uses the same words as JSON output.
macro_rules! display_as_str {
    ($($t:ty),+) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.pad(self.as_str())
            }
        }
    )+};
}
pub(crate) use display_as_str;

pub mod basin;
pub mod minimum;
pub mod predict;
pub mod report;
pub mod sweep;
pub mod tolerances;
pub mod trajectory;
pub mod verdict;

#[cfg(test)]
mod test_objectives;

pub use minimum::{examine_point, find_minimum, MinimumReport, MinimumStatus};
pub use predict::{predict, Prediction, Regime, Thresholds};
pub use report::{analyze, DirectionReport};
pub use tolerances::Tolerances;
pub use trajectory::{trace, Mode, Observation, SharpnessPattern, TrajectoryStatus};
pub use verdict::Verdict;

/// Errors of the direction analysis: bad inputs, or a minimum that cannot be located.
#[derive(Debug, thiserror::Error)]
pub enum DirectionError {
    /// A vector has the wrong number of entries.
    #[error("{what} has {got} entries but the objective has {expected} variables")]
    Dimension {
        /// Which input (`x0`, `minimum`, …).
        what: &'static str,
        /// Its length.
        got: usize,
        /// The objective's dimension.
        expected: usize,
    },
    /// A setting outside its domain.
    #[error("invalid {name} = {value}: {expected}")]
    Invalid {
        /// Setting name.
        name: &'static str,
        /// Its value, formatted.
        value: String,
        /// What is allowed.
        expected: &'static str,
    },
    /// The optimizer rejected a setting (for example a learning rate ≤ 0).
    #[error(transparent)]
    Optimizer(#[from] gdscope_core::optimizer::OptimizerError),
    /// Newton's method could not be carried out.
    #[error("could not locate the minimum: {0} (give it explicitly with --minimum x1,x2,...)")]
    Newton(String),
}

//! Every tolerance of the analysis in one place, with its documented default
//! (`docs/direction.md`, section "Tolerances").

use serde::{Deserialize, Serialize};

/// Tolerances of the minimum check, the regime prediction and the trajectory reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Tolerances {
    /// `x*` is a critical point when `‖∇f(x*)‖ ≤ grad_rtol · max(1, |λ|max) · max(1, ‖x*‖)`.
    pub grad_rtol: f64,
    /// `x*` is a strict minimum when additionally `λ1 > strict_rtol · max(1, |λ|max)`.
    pub strict_rtol: f64,
    /// Two eigenvalues count as equal (`λ1 = λ2`, `λ_{n−1} = λn`) when they differ by at
    /// most `gap_rtol · max(1, |λ|max)`.
    pub gap_rtol: f64,
    /// `η` is on a threshold `T` (`2/(λ1+λn)` or `2/λn`) when `|η − T| ≤ boundary_rtol · T`.
    pub boundary_rtol: f64,
    /// GD is stopped once `‖x_k − x*‖ ≤ read_floor · max(1, ‖x*‖)`; the direction is read
    /// at the last step above that floor (`docs/theory.md` §2).
    pub read_floor: f64,
    /// The observed line agrees with the predicted eigenvector when the angle between
    /// them is at most this many degrees.
    pub angle_tol_deg: f64,
    /// A run that ends without reaching the floor still counts as converging to `x*` when
    /// `‖x_K − x*‖ ≤ converged_rtol · max(1, ‖x*‖)`.
    pub converged_rtol: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Self {
            grad_rtol: 1e-8,
            strict_rtol: 1e-8,
            gap_rtol: 1e-6,
            boundary_rtol: 1e-6,
            read_floor: 1e-10,
            angle_tol_deg: 1.0,
            converged_rtol: 1e-6,
        }
    }
}

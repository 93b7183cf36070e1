//! # gdscope-flows
//!
//! Central flows (Cohen, Damian et al., ICLR 2025; docs/theory.md §5, docs/central-flows.md)
//! on any [`gdscope_core::Objective`], in `f64`:
//!
//! - [`sdcp`]: an exact solver for the semidefinite complementarity problem that fixes the
//!   oscillation covariance `Σ = U X Uᵀ`, with KKT residuals; [`svec`]: the symmetric-matrix
//!   packing and the matching pair-vector scaling;
//! - [`state`]: weights and optimizer state of a flow; the optimizer is any update rule of
//!   `gdscope_core::rules` that is preconditioned GD (its `Flow`: `P(s)`, the state ODE);
//! - [`eigen`]: tracked eigenpairs of the effective Hessian (`UᵀPU = I`);
//! - [`substep`]: one central-flow substep (α, β, SDCP, velocity) — a pure function of the
//!   objective, the optimizer, the state, the eigenpairs and `dt`;
//! - [`central`]: one unit of time in the reference discretization; [`adaptive`]: step
//!   doubling with an error estimate; [`stable`]: the stable flow;
//! - [`predict`]: predicted time averages (loss, squared gradient norm, any observable);
//! - [`driver`]: discrete, stable and central side by side.
//!
//! Library only for now: `gdscope train` runs these as processes in phase 2.

pub mod adaptive;
pub mod central;
pub mod driver;
pub mod eigen;
pub mod error;
pub mod predict;
pub mod sdcp;
pub mod stable;
pub mod state;
pub mod substep;
pub mod svec;

pub use adaptive::{ControlledStep, StepControl, StepDoubling};
pub use central::{central_step, CentralCache, CentralSettings, CentralStep, SdcpLog};
pub use driver::{side_by_side, DriverSettings, Trajectories};
pub use eigen::{EigenSettings, EigenSolver, Eigenpairs};
pub use error::FlowError;
pub use predict::predict_time_average;
pub use sdcp::{solve_sdcp, KktResiduals, SdcpError, SdcpOptions, SdcpSolution, SdcpStatus};
pub use stable::{stable_step, StableCache, StableSettings, StableStep};
pub use state::FlowState;

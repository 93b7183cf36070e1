//! # gdscope-flows
//!
//! Central flows (Cohen, Damian et al., ICLR 2025; docs/theory.md §5, docs/central-flows.md)
//! on any [`gdscope_core::Objective`], in `f64`:
//!
//! - [`sdcp`]: an exact solver for the semidefinite complementarity problem that fixes the
//!   oscillation covariance `Σ = U X Uᵀ`, with KKT residuals;
//! - [`svec`]: the symmetric-matrix packing and the matching pair-vector scaling.

pub mod sdcp;
pub mod svec;

pub use sdcp::{solve_sdcp, KktResiduals, SdcpError, SdcpOptions, SdcpSolution, SdcpStatus};

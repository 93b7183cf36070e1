//! # gdscope-curvature
//!
//! Matrix-free curvature of an [`Objective`](gdscope_core::Objective) at a point, built on
//! its block Hessian-vector product (docs/curvature.md, docs/theory.md §3, §5, §7):
//!
//! - [`LinearOperator`] and [`HessianOperator`] (plain, preconditioned `P^{-1/2}HP^{-1/2}`,
//!   or restricted to a parameter subset), counting HVPs;
//! - [`top_eigenpairs`] / [`smallest_eigenpairs`]: warm-started block LOBPCG for the largest
//!   (smallest) **algebraic** eigenpairs, with relative residuals;
//! - [`EigenTracker`]: eigenvector cache across training steps with adaptive `k`, serializable;
//! - [`hutchinson`] and [`hutch_plus_plus`]: stochastic trace estimates with standard errors;
//! - [`spectral_density`]: stochastic Lanczos quadrature with full reorthogonalization.

mod error;
mod lobpcg;
mod operator;
mod orth;
mod random;
mod slq;
pub mod synthetic;
mod tall;
mod trace;
mod tracker;

pub use error::{CurvatureError, Result};
pub use lobpcg::{smallest_eigenpairs, top_eigenpairs, EigOptions, EigResult};
pub use operator::{HessianOperator, LinearOperator};
pub use slq::{spectral_density, QuadratureRun, SlqOptions, SpectralDensity};
pub use trace::{hutch_plus_plus, hutchinson, TraceEstimate};
pub use tracker::{AdaptiveK, EigenTracker};

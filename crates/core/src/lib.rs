//! # gdscope-core
//!
//! The one interface every gdscope tool is written against ([`Objective`]: value, gradient,
//! Hessian-vector product, block HVP, third-order vector `∇(uᵀH v)`), plus the small dense
//! linear algebra the analyzers need. Analytic expressions (`gdscope-expr`) and neural
//! networks (`gdscope-nn`) implement [`Objective`]; optimizers, analyzers, eigen-trackers
//! and flows never know which one they hold.
//!
//! Math conventions follow `docs/theory.md` (the project's copy of the shared theory notes).

pub mod linalg;
pub mod objective;
pub mod optimizer;
pub mod real;
pub mod rules;
pub mod run;
pub mod schedule;
pub mod seeds;
pub mod simd;

pub use objective::{pair_index, Block, Derivatives, Objective, Request};
pub use real::{Real, Values};

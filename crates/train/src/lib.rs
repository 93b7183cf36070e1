//! # gdscope-train
//!
//! Training runs for optimization research (docs/training.md): a TOML-configured loop over any
//! [`gdscope_core::Objective`] with curvature tracking, dynamics diagnostics
//! (docs/theory.md §2–3), a gradient-flow baseline (§5–6), checkpoint/resume and figures.

pub mod checkpoint;
pub mod config;
pub mod diagnostics;
pub mod figures;
pub mod flow;
pub mod metrics;
pub mod network;
pub mod reproduce;
pub mod run;
pub use gdscope_core::schedule;
pub mod sampler;
pub mod summary;
pub mod tracking;
pub mod trainer;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod trainer_tests;

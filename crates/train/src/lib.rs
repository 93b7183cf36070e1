//! # gdscope-train
//!
//! Training runs for optimization research (docs/training.md): a TOML-configured network
//! problem run by `gdscope_dynamics`' lockstep driver (the optimizer and, on request, its
//! midpoints, stable flow and central flow), with streamed metrics, bounded checkpoints, resume
//! bit for bit, interrupts that lose nothing, forks of a run at a kept step with settings
//! changed, summaries with an edge-of-stability verdict, and figures.

pub mod central;
pub mod central_contour;
pub mod central_figures;
pub mod checkpoint;
pub mod config;
mod config_errors;
pub mod figures;
pub mod fork;
pub mod metrics;
pub mod network;
pub mod outputs;
pub mod reproduce;
pub mod run;
pub mod sharpness_gap;
pub mod summary;

pub use gdscope_core::schedule;
pub use gdscope_dynamics as dynamics;

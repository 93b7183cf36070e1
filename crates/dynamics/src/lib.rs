//! # gdscope-dynamics
//!
//! Several trajectories of one optimizer advanced in lockstep by one loop, on any
//! [`gdscope_core::Objective`] (analytic expressions as well as networks; this crate does not
//! depend on the network engine):
//!
//! - [`process`]: the processes — `discrete` (the optimizer, full batch or minibatch),
//!   `midpoint` (its second-order midpoints), `stable` (its stable flow) — each owning its
//!   weights, optimizer state and eigen-tracker, registered one line each;
//! - [`observers`]: what is measured, each with its own frequency, writing named columns of a
//!   [`Record`];
//! - [`Driver`]: the loop, written once (prepare every process, observe, stop or commit), with
//!   a [`DriverState`] that checkpoints everything between steps.
//!
//! docs/ARCHITECTURE.md explains the layout; docs/outputs.md lists every column.

pub mod batches;
pub mod config;
pub mod diagnostics;
pub mod driver;
pub mod montecarlo;
pub mod noise;
pub mod observers;
pub mod precision;
pub mod problem;
pub mod process;
pub mod record;
pub mod subsets;
pub mod tracker;

#[cfg(test)]
mod testing;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_central;
#[cfg(test)]
mod tests_single;

pub use config::{StepCurvatureConfig, StopConfig, TrackingConfig, TrackingOverride};
pub use driver::{Driver, DriverState, RunSpec, Status};
pub use noise::{GradientNoise, NoiseKind};
pub use observers::projection::CROSSING_FRACTION;
pub use problem::{Evaluation, Evaluator, Observables, Problem};
pub use process::{ProcessName, ProcessSettings};
pub use record::{Record, Schema};

use serde::Serialize;

/// Wall-clock accounting of a run (not part of the resumable state).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Timings {
    /// Whole run (this process; a resumed run counts only its own part).
    pub wall_s: f64,
    /// Time inside eigen-solves and trace estimates.
    pub eigen_s: f64,
    /// Time integrating flows.
    pub flow_s: f64,
    /// The central flow's time by part (included in `flow_s`).
    pub central: gdscope_flows::StepTimes,
}

//! # gdscope-sweep
//!
//! Sweeps of training runs (docs/sweeps.md): a base configuration plus axes of settings
//! (`--grid optimizer.lr=0.01,0.02 --grid seed=0,1`, `--zip` for paired axes, ranges such as
//! `logspace(1e-3,1e-1,7)`), written as a sweep directory with a manifest (`sweep.toml`) and
//! one run directory per member.
//!
//! * [`axes`]: parsing axes and expanding them into members (a grid is the Cartesian product
//!   of its axes; zipped axes advance together).
//! * [`spec`] and [`manifest`]: what a sweep is, and its record on disk.
//! * [`member`]: runs one member (the only place that calls the training library), records
//!   its state in `member.json` (atomically, with a heartbeat) and resumes interrupted members
//!   from their checkpoints.
//! * [`local`] and [`slurm`]: the two backends — bounded concurrent workers on this machine,
//!   or an `sbatch --array` script whose tasks each run one member.
//! * [`status`]: pending / running / completed / diverged / failed / cancelled for every
//!   member, read from the run directories (and `squeue` when Slurm is reachable; never
//!   Slurm accounting).
//! * [`collect`] and [`figures`]: `sweep.parquet` (a row per member), `metrics.parquet`
//!   (long form) and the sweep figures.

pub mod axes;
pub mod collect;
pub mod figures;
pub mod local;
pub mod manifest;
pub mod member;
pub mod process;
pub mod progress;
pub mod slurm;
pub mod spec;
pub mod state;
pub mod status;

pub use axes::{Axis, Design};
pub use collect::{collect, CollectOptions, Collected};
pub use local::{run_local, LocalOptions, LocalReport};
pub use manifest::{Manifest, Member, Sweep};
pub use member::{run_member, MemberContext};
pub use progress::{Observer, Progress, Silent};
pub use slurm::{submit, SlurmOptions, SubmitOptions, SubmitReport};
pub use spec::{Backend, SweepSpec};
pub use status::{sweep_status, MemberStatus, State};

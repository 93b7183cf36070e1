//! `gdscope-io`: everything gdscope writes to or reads from disk.
//!
//! * [`write_atomic`]: every file is written to a temporary file in the same directory,
//!   flushed to disk and renamed over the target, so a crash never leaves half a file.
//! * [`RunDir`]: one directory per run (`runs/<kind>-<UTC time>` by default) holding the
//!   resolved config, per-step metrics, a summary and figures; a run never silently
//!   replaces another.
//! * [`Table`]: named, equal-length columns written as Parquet ([`write_parquet`],
//!   readable by `pandas.read_parquet` / `polars.read_parquet` in one call) or CSV
//!   ([`write_csv`]). `NaN` in a float column means "not measured" and round-trips.
//! * [`npy`]: NumPy `.npy` / `.npz` arrays (weights, directions, data sets).
//!
//! The on-disk layout is documented in `docs/outputs.md`.

mod atomic;
mod csv_io;
pub mod npy;
mod parquet_io;
mod run_dir;
mod table;

pub use atomic::write_atomic;
pub use csv_io::{csv_string, write_csv};
pub use parquet_io::{parquet_bytes, read_parquet, write_parquet};
pub use run_dir::RunDir;
pub use table::{Column, Table};

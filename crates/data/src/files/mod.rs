//! Loaders for data sets on disk. Nothing is downloaded: the user points at files they have.

mod cifar;
mod mnist;
mod npz;

pub use cifar::load_cifar10;
pub use mnist::load_mnist;
pub use npz::{export_npz, load_npz, split_arrays};

use std::path::{Path, PathBuf};

/// The first of `names` that exists in `dir`.
fn find_file(dir: &Path, names: &[String]) -> Option<PathBuf> {
    names.iter().map(|n| dir.join(n)).find(|p| p.is_file())
}

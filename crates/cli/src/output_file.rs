//! Single output files (`data export --out`, `probe --out`, `inspect --csv`, `plot --out`):
//! like run directories, they never silently replace an existing file.

use std::path::Path;

use anyhow::{bail, Result};

/// Errors when `path` exists (a file to keep) unless `overwrite`, or is a directory.
pub fn check_new(path: &Path, overwrite: bool) -> Result<()> {
    if path.is_dir() {
        bail!(
            "{} is a directory; give the path of a file to write",
            path.display()
        );
    }
    if path.exists() && !overwrite {
        bail!(
            "{} already exists; pass --overwrite to replace it, or choose another path",
            path.display()
        );
    }
    Ok(())
}

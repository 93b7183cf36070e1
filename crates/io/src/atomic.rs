//! Crash-safe file replacement.

use std::io::{self, Write};
use std::path::Path;

/// Writes `bytes` to `path` atomically: the data go to a temporary file in the same
/// directory, which is flushed (`fsync`) and then renamed over `path`. Readers see
/// either the old file or the complete new one, never a prefix. On Unix the directory
/// is synced too, so the rename itself survives a crash.
///
/// The parent directory must exist. The new file gets mode `0o644` (minus the umask).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".gdscope-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces_without_leftovers() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.txt");
        write_atomic(&p, b"first").unwrap();
        write_atomic(&p, b"second, longer").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"second, longer");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "temporary files must not remain");
    }

    #[test]
    fn missing_parent_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("no/such/dir/a.txt");
        assert!(write_atomic(&p, b"x").is_err());
    }

    #[cfg(unix)]
    #[test]
    fn result_has_ordinary_file_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        // A plainly created file shows the umask: 0o666 & !umask.
        let plain = dir.path().join("plain");
        std::fs::File::create(&plain).unwrap();
        let plain_mode = std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777;
        let p = dir.path().join("a.bin");
        write_atomic(&p, b"x").unwrap();
        let mode = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(
            mode,
            0o644 & plain_mode,
            "mode {mode:o}, umask-ed 0o666 is {plain_mode:o}"
        );
    }
}

//! Writing output files whole or not at all.
//!
//! Every output is written to a temporary file beside its destination and
//! renamed over it only once complete, so a reader (or a CI artifact upload)
//! never sees half a file, and a failed write leaves the old file in place.

use std::io::Write;
use std::path::{Path, PathBuf};

/// An output file could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}: {message}")]
pub struct OutputError {
    /// The destination.
    pub path: String,
    /// What went wrong.
    pub message: String,
}

impl OutputError {
    /// An error about `path`.
    pub fn new(path: &Path, message: impl std::fmt::Display) -> Self {
        Self {
            path: path.display().to_string(),
            message: message.to_string(),
        }
    }
}

/// The temporary path a file is built at before it is renamed into place.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.{}.tmp", std::process::id()))
}

/// Builds a file at a temporary path with `build`, then renames it to `path`.
/// On any error the temporary file is removed and `path` is untouched.
pub fn write_with(
    path: &Path,
    build: impl FnOnce(&Path) -> Result<(), String>,
) -> Result<(), OutputError> {
    if path.as_os_str().is_empty() {
        return Err(OutputError::new(path, "empty path"));
    }
    if path.is_dir() {
        return Err(OutputError::new(path, "it is a folder"));
    }
    let temp = temp_path(path);
    let result =
        build(&temp).and_then(|()| std::fs::rename(&temp, path).map_err(|e| e.to_string()));
    if let Err(message) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(OutputError::new(path, message));
    }
    Ok(())
}

/// Writes `bytes` to `path` whole or not at all.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_with(path, |temp| {
        let mut file = std::fs::File::create(temp).map_err(|e| e.to_string())?;
        file.write_all(bytes).map_err(|e| e.to_string())?;
        file.sync_all().map_err(|e| e.to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unwritable_paths_are_errors_and_leave_nothing() {
        let dir = std::env::temp_dir().join(format!("rollout-sim-write-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = dir.join("no/such/folder/out.json");
        let err = write_atomically(&missing, b"{}").unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}", missing.display()))
        );
        assert!(
            write_atomically(&dir, b"x")
                .unwrap_err()
                .to_string()
                .ends_with("it is a folder")
        );
        let ok = dir.join("out.json");
        write_atomically(&ok, b"{}").unwrap();
        assert_eq!(std::fs::read(&ok).unwrap(), b"{}");
        assert!(!temp_path(&ok).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

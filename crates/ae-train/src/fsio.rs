//! Files written so that a crash never leaves a half-written one, through `ae_core::atomic` (a
//! temporary file in the same folder, synced, renamed over the target), with errors that name
//! the file.

use std::path::Path;

use crate::error::{Result, io_error};

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    ae_core::write_atomic(path, bytes).map_err(|e| io_error(path, "write", e))
}

/// Serialises `value` as pretty JSON and writes it atomically.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).expect("report types serialise");
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_names_the_path() {
        let e = write_atomic(Path::new("/nonexistent-dir/x.bin"), b"x").unwrap_err();
        assert!(e.message.contains("/nonexistent-dir/x.bin"), "{}", e.message);
    }
}

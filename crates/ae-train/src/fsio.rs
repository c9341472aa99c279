//! Writing files so that a crash never leaves a half-written one: write a temporary file in the
//! same folder, flush it to disk, then rename it over the target.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Result, io_error};

/// Writes `bytes` to `path` atomically.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_error(path, "write", e));
    }
    Ok(())
}

/// The temporary sibling of `path` used while writing it.
fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Whether a file name is that of a temporary file of [`write_atomic`] (left behind only by a
/// process killed while writing).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.rsplit_once(".tmp-").is_some_and(|(_, pid)| pid.parse::<u32>().is_ok())
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
    fn replaces_content_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let tmp = temp_path(&p);
        assert!(is_temp_name(&tmp.file_name().unwrap().to_string_lossy()));
        assert!(!is_temp_name("a.json") && !is_temp_name(".a.tmp-x") && !is_temp_name("a.tmp-12"));
    }

    #[test]
    fn error_names_the_path() {
        let e = write_atomic(Path::new("/nonexistent-dir/x.bin"), b"x").unwrap_err();
        assert!(e.message.contains("/nonexistent-dir/x.bin"), "{}", e.message);
    }
}

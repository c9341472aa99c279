//! Writing files so that a crash never leaves a half-written one: the bytes go to a temporary
//! file beside the target (`.<name>.tmp-<pid>-<n>`), which is synced and then renamed over the
//! target; a file dropped before [`AtomicFile::commit`] is deleted.

use std::fs::File;
use std::io::{self, BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A file being written: a buffered temporary file that becomes the target on
/// [`commit`](AtomicFile::commit), and disappears if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    out: Option<BufWriter<File>>,
    temp: PathBuf,
    target: PathBuf,
}

impl AtomicFile {
    /// Starts writing `target` (nothing at `target` changes until `commit`).
    pub fn create(target: &Path) -> io::Result<Self> {
        Self::with_capacity(target, 1 << 16)
    }

    /// [`AtomicFile::create`] with a write buffer of `capacity` bytes.
    pub fn with_capacity(target: &Path, capacity: usize) -> io::Result<Self> {
        let temp = temp_path(target);
        let file = File::create(&temp)?;
        Ok(Self { out: Some(BufWriter::with_capacity(capacity, file)), temp, target: target.to_path_buf() })
    }

    /// The temporary file written until `commit` (for error messages).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The file this one becomes.
    pub fn target(&self) -> &Path {
        &self.target
    }

    fn out(&mut self) -> &mut BufWriter<File> {
        self.out.as_mut().expect("an AtomicFile is only consumed by commit")
    }

    /// Flushes and syncs the temporary file, renames it over the target and syncs the folder
    /// (best effort: not every platform opens folders). On an error the temporary file is
    /// deleted and the target left as it was.
    pub fn commit(mut self) -> io::Result<()> {
        let out = self.out.take().expect("an AtomicFile is only consumed by commit");
        let written = out.into_inner().map_err(|e| e.into_error()).and_then(|file| file.sync_all());
        if let Err(e) = written.and_then(|()| std::fs::rename(&self.temp, &self.target)) {
            let _ = std::fs::remove_file(&self.temp);
            return Err(e);
        }
        if let Some(dir) = self.target.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.out().write_all(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out().flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.out().seek(pos)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.out.take().is_some() {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` atomically (see the module docs).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::with_capacity(path, 0)?;
    f.write_all(bytes)?;
    f.commit()
}

/// The temporary sibling of `path`, unique within this process.
fn temp_path(path: &Path) -> PathBuf {
    static FILES: AtomicUsize = AtomicUsize::new(0);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}-{}", std::process::id(), FILES.fetch_add(1, Ordering::Relaxed)))
}

/// Whether a file name is that of a temporary file of an [`AtomicFile`] (left behind only by a
/// process killed while writing): `.<name>.tmp-<pid>-<n>`, or `.<name>.tmp-<pid>` as earlier
/// versions wrote them.
pub fn is_temp_name(name: &str) -> bool {
    let Some((_, tail)) = name.strip_prefix('.').and_then(|n| n.rsplit_once(".tmp-")) else {
        return false;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match tail.split_once('-') {
        Some((pid, n)) => digits(pid) && digits(n),
        None => digits(tail),
    }
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
    }

    #[test]
    fn target_is_untouched_until_commit_and_a_dropped_file_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("data.bin");
        std::fs::write(&p, b"old").unwrap();
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new bytes, longer").unwrap();
        f.flush().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        let temp = f.temp_path().to_path_buf();
        assert!(temp.exists() && is_temp_name(&temp.file_name().unwrap().to_string_lossy()));
        drop(f);
        assert!(!temp.exists());
        assert_eq!(std::fs::read(&p).unwrap(), b"old");

        // Seek back to rewrite a header, as the .npy writer does.
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"xxxx-body").unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        f.write_all(b"HEAD").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"HEAD-body");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_failed_commit_leaves_the_target_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // A folder in the target's place: the rename fails.
        let target = dir.path().join("out.bin");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("kept"), b"x").unwrap();
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"bytes").unwrap();
        assert!(f.commit().is_err());
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["out.bin"]);
        assert!(target.join("kept").is_file());
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name(".a.json.tmp-12-0") && is_temp_name(".a.json.tmp-12"));
        for name in ["a.json", ".a.tmp-x", "a.tmp-12", ".a.tmp-", ".a.tmp-1-", ".a.tmp-1-x"] {
            assert!(!is_temp_name(name), "{name}");
        }
    }

    #[test]
    fn a_missing_folder_is_an_error() {
        let e = write_atomic(Path::new("/nonexistent-dir/x.bin"), b"x").unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }
}

//! The run folder: what a training run leaves behind, and the rules for reusing one.
//!
//! ```text
//! runs/<name>/
//!   config.toml          the resolved config (defaults filled in, overrides applied)
//!   normalizer.json      normalisation statistics of the training split, reused at inference
//!   metrics.jsonl        one JSON object per epoch
//!   summary.json         final and test metrics, backend, seed, wall time, versions
//!   checkpoints/last.ckpt, checkpoints/best.ckpt
//!   model.bpk            final weights (burnpack)
//!   reconstructions.png  inputs (top row) above their reconstructions
//!   loss.png             training and validation loss per epoch
//! ```

use std::path::{Path, PathBuf};

use crate::error::{AppError, Result, io_error};

/// Files a run writes, removed by `--force`.
const OWNED: [&str; 8] = [
    "config.toml",
    "normalizer.json",
    "metrics.jsonl",
    "summary.json",
    "model.bpk",
    "reconstructions.png",
    "loss.png",
    "checkpoints",
];

/// A run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
}

impl RunDir {
    /// Prepares the folder for a run.
    ///
    /// A folder that already holds a run is only reused with `resume` (continue it) or `force`
    /// (replace it); the run's own files are removed with `force`, nothing else.
    pub fn prepare(path: &Path, resume: bool, force: bool) -> Result<Self> {
        if path.exists() && !path.is_dir() {
            return Err(AppError::usage(format!("--out {}: exists and is not a folder", path.display())));
        }
        let dir = RunDir { path: path.to_path_buf() };
        let has_run = dir.last_checkpoint().exists() || dir.file("summary.json").exists();
        if resume {
            if !dir.last_checkpoint().is_file() {
                return Err(AppError::usage(format!(
                    "--resume: {} holds no checkpoint to resume from (expected {})",
                    path.display(),
                    dir.last_checkpoint().display()
                )));
            }
        } else if has_run {
            if !force {
                return Err(AppError::usage(format!(
                    "run folder {} already holds a run: pass --resume to continue it, --force to replace it, or --out to use another folder",
                    path.display()
                )));
            }
            for f in OWNED {
                let p = path.join(f);
                let r = if p.is_dir() {
                    std::fs::remove_dir_all(&p)
                } else if p.exists() {
                    std::fs::remove_file(&p)
                } else {
                    Ok(())
                };
                r.map_err(|e| io_error(&p, "remove", e))?;
            }
        }
        std::fs::create_dir_all(dir.path.join("checkpoints"))
            .map_err(|e| io_error(&dir.path, "create the run folder", e))?;
        Ok(dir)
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The latest checkpoint.
    pub fn last_checkpoint(&self) -> PathBuf {
        self.path.join("checkpoints").join("last.ckpt")
    }

    /// The checkpoint with the best validation loss.
    pub fn best_checkpoint(&self) -> PathBuf {
        self.path.join("checkpoints").join("best.ckpt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_without_force_and_force_keeps_foreign_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("run");
        let d = RunDir::prepare(&p, false, false).unwrap();
        std::fs::write(d.file("summary.json"), "{}").unwrap();
        std::fs::write(d.file("notes.txt"), "mine").unwrap();
        let e = RunDir::prepare(&p, false, false).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("--resume") && e.message.contains("--force"), "{}", e.message);
        RunDir::prepare(&p, false, true).unwrap();
        assert!(!d.file("summary.json").exists());
        assert!(d.file("notes.txt").exists());
        let e = RunDir::prepare(&p, true, false).unwrap_err();
        assert!(e.message.contains("no checkpoint"), "{}", e.message);
        let f = tmp.path().join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(RunDir::prepare(&f, false, false).unwrap_err().message.contains("not a folder"));
    }
}

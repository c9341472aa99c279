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
//!   tensorboard/         TensorBoard event files (`train.tensorboard`)
//! ```

pub mod trained;

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{AppError, Result, io_error};

/// The resolved config.
pub const CONFIG: &str = "config.toml";
/// Normalisation statistics of the training split.
pub const NORMALIZER: &str = "normalizer.json";
/// One JSON object per epoch.
pub const METRICS: &str = "metrics.jsonl";
/// Final and test metrics.
pub const SUMMARY: &str = "summary.json";
/// The final weights.
pub const MODEL: &str = "model.bpk";
/// Inputs above their reconstructions.
pub const RECONSTRUCTIONS: &str = "reconstructions.png";
/// Training and validation loss per epoch.
pub const LOSS_CURVE: &str = "loss.png";
/// The checkpoints' folder.
pub const CHECKPOINTS: &str = "checkpoints";
/// The latest checkpoint, in [`CHECKPOINTS`].
pub const LAST_CHECKPOINT: &str = "last.ckpt";
/// The checkpoint with the best validation loss, in [`CHECKPOINTS`].
pub const BEST_CHECKPOINT: &str = "best.ckpt";
/// Layer-wise pretraining's runs.
pub const PRETRAIN: &str = "pretrain";
/// TensorBoard event files.
pub const TENSORBOARD: &str = "tensorboard";

/// Files a run writes, removed by `--force`.
const OWNED: [&str; 10] =
    [CONFIG, NORMALIZER, METRICS, SUMMARY, MODEL, RECONSTRUCTIONS, LOSS_CURVE, CHECKPOINTS, PRETRAIN, TENSORBOARD];

/// A run folder.
#[derive(Debug, Clone)]
pub struct RunDir {
    /// Its path.
    pub path: PathBuf,
    /// Replace the run it holds when created.
    replace: bool,
}

impl RunDir {
    /// The run folder at `path`, to read (nothing is checked or created).
    pub fn at(path: &Path) -> Self {
        RunDir { path: path.to_path_buf(), replace: false }
    }

    /// Checks that the folder may take a run of the experiment `name`, changing nothing on disk
    /// (a run that fails before [`RunDir::create`] leaves no trace).
    ///
    /// A folder that already holds a run is only reused with `resume` (continue it: the same
    /// experiment) or `force` (replace it: its own files are removed by `create`, nothing else).
    pub fn prepare(path: &Path, name: &str, resume: bool, force: bool) -> Result<Self> {
        if let Some(file) = path.ancestors().find(|a| !a.as_os_str().is_empty() && a.exists() && !a.is_dir()) {
            return Err(AppError::usage(format!(
                "--out {}: {} exists and is not a folder",
                path.display(),
                file.display()
            )));
        }
        let dir = RunDir { path: path.to_path_buf(), replace: false };
        let has_run = dir.last_checkpoint().exists() || dir.file(SUMMARY).exists();
        if resume {
            if !dir.last_checkpoint().is_file() {
                return Err(AppError::usage(format!(
                    "--resume: {} holds no checkpoint to resume from (expected {})",
                    path.display(),
                    dir.last_checkpoint().display()
                )));
            }
            if let Some(other) = dir.experiment().filter(|other| other != name) {
                return Err(AppError::usage(format!(
                    "--resume: run folder {} holds experiment `{other}`, not `{name}`: resume it with its own config, \
                     or pass --force (without --resume) to replace it",
                    path.display()
                )));
            }
        } else if has_run && !force {
            let what = dir.experiment().map(|n| format!(" (experiment `{n}`)")).unwrap_or_default();
            return Err(AppError::usage(format!(
                "run folder {} already holds a run{what}: pass --resume to continue it, --force to replace it, or --out to use another folder",
                path.display()
            )));
        }
        Ok(RunDir { replace: has_run && !resume, ..dir })
    }

    /// Creates the folder: removes a replaced run's files (`--force`) and temporary files left
    /// by a killed process (never taken for checkpoints, but they take space).
    pub fn create(&self) -> Result<()> {
        if self.replace {
            for f in OWNED {
                let p = self.path.join(f);
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
        let checkpoints = self.path.join(CHECKPOINTS);
        std::fs::create_dir_all(&checkpoints).map_err(|e| io_error(&self.path, "create the run folder", e))?;
        for dir in [&self.path, &checkpoints] {
            for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, "list", e))?.flatten() {
                if ae_core::atomic::is_temp_name(&entry.file_name().to_string_lossy()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        Ok(())
    }

    /// The experiment name in the folder's `config.toml`, if it holds a readable one.
    fn experiment(&self) -> Option<String> {
        let text = std::fs::read_to_string(self.file(CONFIG)).ok()?;
        let table: toml::Table = toml::from_str(&text).ok()?;
        table.get("name")?.as_str().map(str::to_string)
    }

    /// A file in the folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// The latest checkpoint.
    pub fn last_checkpoint(&self) -> PathBuf {
        self.path.join(CHECKPOINTS).join(LAST_CHECKPOINT)
    }

    /// The checkpoint with the best validation loss.
    pub fn best_checkpoint(&self) -> PathBuf {
        self.path.join(CHECKPOINTS).join(BEST_CHECKPOINT)
    }
}

/// The `config.toml` of the run folder `run`; a runtime error (exit 1) when `run` is not a
/// folder holding one.
pub fn run_config(run: &Path) -> Result<PathBuf> {
    if !run.is_dir() {
        return Err(AppError::runtime(format!("{}: not a run folder (no such folder)", run.display())));
    }
    let config_path = run.join(CONFIG);
    if !config_path.is_file() {
        return Err(AppError::runtime(format!(
            "{}: not a run folder (no config.toml; a run folder is what `ae-train --config FILE --out DIR` writes)",
            run.display()
        )));
    }
    Ok(config_path)
}

/// A JSON file, `None` when it does not exist.
pub fn read_json(path: &Path) -> Result<Option<Value>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| AppError::runtime(format!("{}: not valid JSON: {e}", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error(path, "read", e)),
    }
}

/// The parseable lines of `metrics.jsonl` (none if it is missing).
pub fn read_metrics(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .map(|t| t.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_to_overwrite_without_force_and_force_keeps_foreign_files() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("run");
        let d = RunDir::prepare(&p, "a", false, false).unwrap();
        assert!(!p.exists(), "prepare only checks");
        d.create().unwrap();
        std::fs::write(d.file("summary.json"), "{}").unwrap();
        std::fs::write(d.file("notes.txt"), "mine").unwrap();
        std::fs::write(d.file(".summary.json.tmp-1"), "half").unwrap();
        let e = RunDir::prepare(&p, "a", false, false).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("--resume") && e.message.contains("--force"), "{}", e.message);
        let forced = RunDir::prepare(&p, "a", false, true).unwrap();
        assert!(d.file("summary.json").exists(), "nothing is removed before create");
        forced.create().unwrap();
        assert!(!d.file("summary.json").exists());
        assert!(!d.file(".summary.json.tmp-1").exists());
        assert!(d.file("notes.txt").exists());
        let e = RunDir::prepare(&p, "a", true, false).unwrap_err();
        assert!(e.message.contains("no checkpoint"), "{}", e.message);
        std::fs::write(d.last_checkpoint(), "x").unwrap();
        std::fs::write(d.file("config.toml"), "name = \"a\"\n").unwrap();
        RunDir::prepare(&p, "a", true, false).unwrap();
        let e = RunDir::prepare(&p, "b", true, false).unwrap_err();
        assert!(e.message.contains("holds experiment `a`, not `b`"), "{}", e.message);
        let e = RunDir::prepare(&p, "b", false, false).unwrap_err();
        assert!(e.message.contains("(experiment `a`)"), "{}", e.message);
        let f = tmp.path().join("file");
        std::fs::write(&f, "x").unwrap();
        assert!(RunDir::prepare(&f, "a", false, false).unwrap_err().message.contains("not a folder"));
        let e = RunDir::prepare(&f.join("run"), "a", false, false).unwrap_err();
        assert!(e.message.contains("file exists and is not a folder"), "{}", e.message);
    }
}

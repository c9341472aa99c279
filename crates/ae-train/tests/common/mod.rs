//! Helpers shared by the integration tests: running the binary, the real data folder.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The real datasets: `$AE_DATA_DIR`, else `../shared/datasets` beside the project.
pub fn data_dir() -> PathBuf {
    let root = std::env::var_os("AE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    assert!(root.is_dir(), "real datasets not found at {}: set AE_DATA_DIR", root.display());
    root
}

/// Runs `ae-train` with `args` in `cwd`, with `AE_DATA_DIR` pointing at the real data.
pub fn ae_train(cwd: &Path, args: &[&str]) -> Output {
    let o = Command::new(env!("CARGO_BIN_EXE_ae-train"))
        .args(args)
        .current_dir(cwd)
        .env("AE_DATA_DIR", data_dir())
        .output()
        .expect("running ae-train");
    report_signal(args, &o);
    o
}

/// Says on the test's output which signal ended a run that did not exit (shown when the test
/// fails), so a crash is told apart from an exit code.
pub fn report_signal(args: &[&str], o: &Output) {
    use std::os::unix::process::ExitStatusExt;
    if let Some(signal) = o.status.signal() {
        eprintln!(
            "ae-train {} ended by signal {signal}{}; stderr: {}",
            args.join(" "),
            if o.status.core_dumped() { " (core dumped)" } else { "" },
            stderr(o)
        );
    }
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// The `epoch`, `train_loss` and `val_loss` of each line of a run's `metrics.jsonl`.
pub fn metrics(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .expect("metrics.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON object per line"))
        .collect()
}

/// Writes a config file and returns its path.
pub fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// A small dense config on real MNIST.
pub const MNIST_SMALL: &str = r#"
name = "mnist_small"
[data]
dataset = "mnist"
limit = 2000
[model.network]
kind = "dense"
hidden = [64]
code = 8
output_activation = "sigmoid"
[train]
epochs = 3
batch_size = 50
learning_rate = 2e-3
seed = 3
"#;

/// A config of the project's `configs/` folder (experiments, then presets), by file name.
pub fn shipped_config(name: &str) -> PathBuf {
    let configs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
    let experiment = configs.join("experiments").join(name);
    if experiment.exists() { experiment } else { configs.join("presets").join(name) }
}

/// Every shipped config (experiments and presets), sorted by path.
pub fn shipped_configs() -> Vec<PathBuf> {
    let configs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
    let mut paths: Vec<PathBuf> = ["experiments", "presets"]
        .iter()
        .flat_map(|d| std::fs::read_dir(configs.join(d)).unwrap().map(|e| e.unwrap().path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    paths
}

/// Trains `config` (a path, or a file name in `configs/experiments/` or `configs/presets/`) on
/// the CPU backend, quietly, with `KEY=VALUE` overrides and extra flags.
pub fn train(cwd: &Path, config: &str, sets: &[&str], extra: &[&str]) -> Output {
    let path = if config.contains('/') { PathBuf::from(config) } else { shipped_config(config) };
    let path = path.to_string_lossy().into_owned();
    let mut args = vec!["--config", path.as_str(), "--backend", "flex", "--quiet"];
    for s in sets {
        args.extend(["--set", s]);
    }
    args.extend(extra);
    ae_train(cwd, &args)
}

/// The CPU backend's random generator is one per process: tests that seed it and compare two
/// seeded runs take turns, so that no other test of the same binary draws from it in between.
pub fn rng_turn() -> std::sync::MutexGuard<'static, ()> {
    static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

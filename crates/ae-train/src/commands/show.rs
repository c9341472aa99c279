//! `ae-train show RUN`: what a run folder holds, in a few lines: the experiment, the model, the
//! data, how training went and the final losses (from `config.toml`, `summary.json` and
//! `metrics.jsonl`), then every picture and report in the folder with what it shows.

use std::path::Path;

use serde_json::Value;

use crate::config;
use crate::error::Result;
use crate::run_folder::{self, read_json, read_metrics, run_config};
use crate::training::model::describe_network;

/// The lines `show` prints for the run folder `run` (or the sweep folder: its table). Fails (runtime error, exit 1) when `run` is
/// not a folder holding a run's `config.toml`.
pub fn lines(run: &Path) -> Result<Vec<String>> {
    if run.join(crate::commands::sweep::PLAN_FILE).is_file() && !run.join(run_folder::CONFIG).exists() {
        return crate::commands::sweep::show_lines(run);
    }
    let config_path = run_config(run)?;
    let cfg = config::load(&config_path, &[])?.config;
    let summary = read_json(&run.join(run_folder::SUMMARY))?;
    let metrics = read_metrics(&run.join(run_folder::METRICS));
    let shape = item_shape(&summary, &cfg);

    let mut out = vec![format!("run: {}", run.display())];
    let described = cfg.description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default();
    out.push(format!("experiment: {}{described}", cfg.name));
    out.push(format!("model: {}", describe_model(&cfg, shape.as_deref(), &summary)));
    out.push(format!("data: {}", describe_data(&cfg, &summary, shape.as_deref())));
    match &summary {
        Some(s) => {
            out.push(format!("training: {}", describe_training(s)));
            out.push(format!("final losses: {}", describe_losses(s)));
        }
        None => out.push(format!(
            "training: not finished (no summary.json); {} epoch(s) recorded in metrics.jsonl{}",
            metrics.len(),
            metrics.last().map(|m| format!(", last: {}", epoch_losses(m))).unwrap_or_default()
        )),
    }
    out.push("files:".into());
    let mut files = listed_files(run)?;
    for (dir, marker) in
        [("checkpoints/", "last.ckpt"), ("export/", "model.json"), ("pretrain/", ""), ("tensorboard/", "")]
    {
        if run.join(dir).join(marker).exists() {
            files.push(dir.to_string());
        }
    }
    if files.is_empty() {
        out.push("  (no pictures or reports)".into());
    }
    let width = files.iter().map(|f| f.len()).max().unwrap_or(0);
    for f in files {
        out.push(format!("  {f:width$}  {}", describe_file(&f)));
    }
    Ok(out)
}

/// The item shape: known from the dataset's name, else only the summary's width.
fn item_shape(summary: &Option<Value>, cfg: &config::ExperimentConfig) -> Option<Vec<usize>> {
    let known = if cfg.data.source.is_none() { ae_data::catalog::item_shape(&cfg.data.dataset) } else { None };
    known.or_else(|| summary.as_ref()?.get("input_features")?.as_u64().map(|n| vec![n as usize]))
}

/// `kind` of a tagged config table, e.g. `gaussian` for the bottleneck.
fn kind_of<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(v) => v.get("kind").and_then(Value::as_str).unwrap_or("?").to_string(),
        Err(_) => "?".into(),
    }
}

fn describe_model(cfg: &config::ExperimentConfig, shape: Option<&[usize]>, summary: &Option<Value>) -> String {
    let m = &cfg.model;
    let network = match shape {
        Some(s) => describe_network(cfg, s),
        None => kind_of(&m.network),
    };
    let mut parts = vec![network, format!("bottleneck {}", kind_of(&m.bottleneck)), format!("loss {}", m.loss.name())];
    let corruption = kind_of(&m.corruption);
    if corruption != "none" {
        parts.push(format!("corruption {corruption}"));
    }
    let p = &m.penalty;
    let mut penalties = Vec::new();
    if p.l1 > 0.0 {
        penalties.push(format!("l1 {}", p.l1));
    }
    if let Some(k) = &p.kl_sparsity {
        penalties.push(format!("kl_sparsity rho {} weight {}", k.rho, k.weight));
    }
    if p.contractive > 0.0 {
        penalties.push(format!("contractive {}", p.contractive));
    }
    if !penalties.is_empty() {
        parts.push(format!("penalty {}", penalties.join(", ")));
    }
    let params = summary.as_ref().and_then(|s| s.get("parameters")?.as_u64());
    format!("{}{}", parts.join(", "), params.map(|n| format!("; {n} parameters")).unwrap_or_default())
}

fn describe_data(cfg: &config::ExperimentConfig, summary: &Option<Value>, shape: Option<&[usize]>) -> String {
    let mut s = cfg.data.dataset.clone();
    if let Some(items) = summary.as_ref().and_then(|s| s.get("items")) {
        let n = |k: &str| items.get(k).and_then(Value::as_u64).unwrap_or(0);
        s.push_str(&format!(", {} train / {} val / {} test items", n("train"), n("val"), n("test")));
    }
    if let Some(shape) = shape {
        let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        s.push_str(&format!(" of shape {}", dims.join("x")));
    }
    if let Some(limit) = cfg.data.limit {
        s.push_str(&format!(" (limit {limit})"));
    }
    s
}

fn describe_training(s: &Value) -> String {
    let num = |k: &str| s.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
    let text = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("?").to_string();
    let mut t = format!(
        "{} epochs{} in {:.1} s (command {:.1} s) on {} [{}], seed {}",
        s.get("epochs").and_then(Value::as_u64).unwrap_or(0),
        if s.get("stopped_early").and_then(Value::as_bool) == Some(true) { " (stopped early)" } else { "" },
        num("train_seconds"),
        num("wall_seconds"),
        text("backend"),
        text("device"),
        s.get("seed").and_then(Value::as_u64).unwrap_or(0)
    );
    if let (Some(l), Some(e)) =
        (s.get("best_loss").and_then(Value::as_f64), s.get("best_epoch").and_then(Value::as_u64))
    {
        t.push_str(&format!("; best monitored loss {l:.6} at epoch {e}"));
    }
    t
}

fn epoch_losses(m: &Value) -> String {
    let mut t = format!("train {:.6}", m.get("train_loss").and_then(Value::as_f64).unwrap_or(f64::NAN));
    if let Some(v) = m.get("val_loss").and_then(Value::as_f64) {
        t.push_str(&format!(", val {v:.6}"));
    }
    t
}

fn describe_losses(s: &Value) -> String {
    let mut t = s.get("last_epoch").map(epoch_losses).unwrap_or_else(|| "no epoch recorded".into());
    match s.get("test").filter(|t| !t.is_null()) {
        Some(test) => {
            let f = |k: &str| test.get(k).and_then(Value::as_f64).unwrap_or(f64::NAN);
            t.push_str(&format!(", test {:.6} (test MSE {:.6})", f("loss"), f("mse")));
        }
        None => t.push_str(", no test split"),
    }
    t
}

/// The pictures and reports in the run folder, sorted by name.
fn listed_files(run: &Path) -> Result<Vec<String>> {
    let entries = std::fs::read_dir(run).map_err(|e| crate::error::io_error(run, "list", e))?;
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| !n.starts_with('.'))
        .filter(|n| [".png", ".json", ".jsonl", ".csv", ".npy"].iter().any(|ext| n.ends_with(ext)))
        .collect();
    names.sort();
    Ok(names)
}

/// One line on what a file of a run folder holds.
pub fn describe_file(name: &str) -> String {
    let known = match name {
        run_folder::LOSS_CURVE => "training and validation loss per epoch",
        run_folder::RECONSTRUCTIONS => "held-out items (top row) above their reconstructions",
        run_folder::SUMMARY => "final and test metrics, backend, seed, times, versions",
        "checkpoints/" => "last and best checkpoints: weights, optimizer state, progress (--resume)",
        "export/" => "`export`: model.safetensors and model.json for PyTorch, check inputs and outputs",
        "pretrain/" => "checkpoints and metrics of greedy layer-wise pretraining",
        "tensorboard/" => "TensorBoard event files: losses, terms, speed, pictures per epoch (tensorboard --logdir)",
        run_folder::METRICS => "one JSON object of losses and timings per epoch",
        run_folder::NORMALIZER => "normalisation statistics of the training split",
        "reconstruct.csv" => "`reconstruct`: reconstruction error of each item",
        "reconstruct.json" => "`reconstruct`: mean, median and largest reconstruction error",
        "reconstruct.png" => "`reconstruct`: best and worst reconstructed items",
        "denoise.json" => "`denoise`: PSNR and SSIM before and after denoising",
        "denoise.png" => "`denoise`: noisy, denoised and clean items",
        "encode.json" => "`encode`: code width, active units, 5-NN accuracy from codes",
        "anomaly.csv" => "`anomaly`: anomaly score of each item",
        "anomaly.json" => "`anomaly`: threshold, AUROC and average precision",
        "anomaly.png" => "`anomaly`: score histograms of normal and anomalous items",
        "generate.json" => "`generate`: prior samples, interpolations, code arithmetic",
        "generate.png" => "`generate`: items decoded from prior samples",
        "generate_interpolation.png" => "`generate`: interpolations between two items",
        "generate_arithmetic.png" => "`generate`: code arithmetic",
        "impute.json" => "`impute`: imputation error against mean imputation",
        "impute.png" => "`impute`: items with hidden values, imputed, original",
        "hash.json" => "`hash`: Hamming retrieval precision against random codes",
        "hash.png" => "`hash`: precision at k of model and random codes",
        "cluster.json" => "`cluster`: NMI and ARI of k-means on codes and on inputs",
        "cluster.png" => "`cluster`: the clusters of the codes",
        "assist.json" => "`assist`: accuracy of a classifier on codes and on inputs",
        "assist.png" => "`assist`: accuracy against the number of labels",
        "compress.json" => "`compress`: bits per pixel and PSNR of quantised codes",
        "compress.png" => "`compress`: items decoded from quantised codes",
        _ => "",
    };
    if !known.is_empty() {
        return known.into();
    }
    if let Some(split) = name.strip_prefix("codes_").and_then(|n| n.rsplit_once('.')) {
        return match split.1 {
            "csv" => format!("`encode`: label and code of each {} item", split.0),
            "npy" => format!("`encode`: codes of the {} split (NumPy array)", split.0),
            "png" => format!("`encode`: codes of the {} split coloured by class", split.0),
            _ => "(not written by ae-train)".into(),
        };
    }
    "(not written by ae-train)".into()
}

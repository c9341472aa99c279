//! `ae-train compare RUN RUN...`: what differs between runs and how they ended: a table of the
//! config keys whose values differ (dotted, as `--set` takes them) beside each run's final
//! losses, and every run's loss curve in one picture.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::report::loss_curve;
use crate::run_folder::{self, read_json, read_metrics, run_config};

/// One run as compared: its folder, its config flattened to `key = value`, its epochs.
struct Compared {
    path: PathBuf,
    config: BTreeMap<String, String>,
    summary: Option<Value>,
    metrics: Vec<Value>,
}

/// What `compare` found.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// Config keys whose values differ between the runs (dotted, sorted).
    pub differing: Vec<String>,
    /// The table as markdown: one row per run.
    pub table: String,
    /// The markdown file written.
    pub table_file: PathBuf,
    /// The loss curves' picture written.
    pub picture: PathBuf,
}

/// Compares the run folders `runs`; writes the table to `out` (default `compare.md`) and the loss
/// curves beside it (`compare.png`).
pub fn run(runs: &[PathBuf], out: Option<&Path>) -> Result<Comparison> {
    if runs.len() < 2 {
        return Err(AppError::usage("compare: name at least two run folders"));
    }
    let mut compared = Vec::new();
    for path in runs {
        let config_path = run_config(path)?;
        let text =
            std::fs::read_to_string(&config_path).map_err(|e| crate::error::io_error(&config_path, "read", e))?;
        let table: toml::Table = toml::from_str(&text)
            .map_err(|e| AppError::runtime(format!("{}: not valid TOML: {e}", config_path.display())))?;
        let mut config = BTreeMap::new();
        flatten("", &toml::Value::Table(table), &mut config);
        compared.push(Compared {
            path: path.clone(),
            config,
            summary: read_json(&path.join(run_folder::SUMMARY))?,
            metrics: read_metrics(&path.join(run_folder::METRICS)),
        });
    }
    let keys: BTreeSet<&String> = compared.iter().flat_map(|c| c.config.keys()).collect();
    let differing: Vec<String> = keys
        .into_iter()
        .filter(|k| compared.iter().any(|c| c.config.get(*k) != compared[0].config.get(*k)))
        .cloned()
        .collect();

    let mut header = vec!["run".to_string()];
    header.extend(differing.iter().cloned());
    header.extend(["epochs", "train loss", "val loss", "test loss", "train s"].map(String::from));
    let mut table = format!("| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for c in &compared {
        let last = c.metrics.last();
        let mut row = vec![c.path.display().to_string()];
        row.extend(differing.iter().map(|k| c.config.get(k).cloned().unwrap_or_else(|| "(absent)".into())));
        let epochs = match &c.summary {
            Some(_) => c.metrics.len().to_string(),
            None => format!("{} (unfinished)", c.metrics.len()),
        };
        row.push(epochs);
        row.push(number(last.and_then(|m| m.get("train_loss"))));
        row.push(number(last.and_then(|m| m.get("val_loss"))));
        row.push(number(c.summary.as_ref().and_then(|s| s.get("test")).and_then(|t| t.get("loss"))));
        row.push(number(c.summary.as_ref().and_then(|s| s.get("train_seconds"))));
        table.push_str(&format!("| {} |\n", row.join(" | ")));
    }

    let table_file = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from("compare.md"));
    if let Some(parent) = table_file.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| crate::error::io_error(parent, "create", e))?;
    }
    write_atomic(&table_file, table.as_bytes())?;
    let picture = table_file.with_extension("png");
    let runs: Vec<(String, Vec<Value>)> =
        compared.into_iter().map(|c| (c.path.display().to_string(), c.metrics)).collect();
    loss_curve::write_runs(&picture, "loss per epoch", &runs)?;
    Ok(Comparison { differing, table, table_file, picture })
}

/// `a.b.c = value` for every leaf of a TOML table (arrays and inline values as TOML text).
fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

fn number(v: Option<&Value>) -> String {
    v.and_then(Value::as_f64).map(|x| format!("{x:.6}")).unwrap_or_else(|| "-".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flattening_names_every_leaf_by_its_dotted_key() {
        let t: toml::Table = toml::from_str("name = \"a\"\n[model.network]\nhidden = [64, 8]\ncode = 2\n").unwrap();
        let mut out = BTreeMap::new();
        flatten("", &toml::Value::Table(t), &mut out);
        let got: Vec<(&str, &str)> = out.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, vec![("model.network.code", "2"), ("model.network.hidden", "[64, 8]"), ("name", "\"a\"")]);
    }
}

//! The sweep's table, read from its run folders: one row per run with the values it sets, how it
//! ended, its final and best losses and its time; written as `sweep.csv`, `sweep.md` and every
//! run's validation curve in `sweep.png`.

use std::path::Path;

use serde_json::Value;

use super::plan::PlannedRun;
use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::report::loss_curve;
use crate::run_folder::{self, read_json, read_metrics};

/// One run's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The run folder's name.
    pub name: String,
    /// The swept values, in the sweep's key order.
    pub values: Vec<String>,
    /// `done`, `stopped early`, `running`, `unfinished`, `not started` or `failed: <error>`.
    pub status: String,
    /// Epochs recorded.
    pub epochs: usize,
    /// Last epoch's training loss.
    pub train_loss: Option<f64>,
    /// Last epoch's validation loss.
    pub val_loss: Option<f64>,
    /// Best monitored loss (validation, else training) of a finished run.
    pub best_loss: Option<f64>,
    /// Its epoch.
    pub best_epoch: Option<u64>,
    /// Test loss of the kept model.
    pub test_loss: Option<f64>,
    /// Test MSE of the kept model.
    pub test_mse: Option<f64>,
    /// Seconds of all recorded epochs (resumed ones included).
    pub seconds: f64,
}

/// The rows of the runs in `dir`; `running` names the runs under way now.
pub fn rows(dir: &Path, runs: &[PlannedRun], running: &[&str]) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    for run in runs {
        let folder = dir.join(&run.name);
        let summary = read_json(&folder.join(run_folder::SUMMARY))?;
        let metrics = read_metrics(&folder.join(run_folder::METRICS));
        let num = |v: Option<&Value>| v.and_then(Value::as_f64);
        let last = metrics.last();
        let status = match &summary {
            Some(s) if s.get("stopped_early").and_then(Value::as_bool) == Some(true) => "stopped early".to_string(),
            Some(_) => "done".to_string(),
            None if running.contains(&run.name.as_str()) => "running".to_string(),
            None => match last_error(&dir.join("logs").join(format!("{}.log", run.name))) {
                Some(e) => format!("failed: {e}"),
                None if folder.exists() => "unfinished".to_string(),
                None => "not started".to_string(),
            },
        };
        let test = summary.as_ref().and_then(|s| s.get("test"));
        out.push(Row {
            name: run.name.clone(),
            values: run.values.iter().map(|(_, v)| v.clone()).collect(),
            status,
            epochs: metrics.len(),
            train_loss: num(last.and_then(|m| m.get("train_loss"))),
            val_loss: num(last.and_then(|m| m.get("val_loss"))),
            best_loss: num(summary.as_ref().and_then(|s| s.get("best_loss"))),
            best_epoch: summary.as_ref().and_then(|s| s.get("best_epoch")).and_then(Value::as_u64),
            test_loss: num(test.and_then(|t| t.get("loss"))),
            test_mse: num(test.and_then(|t| t.get("mse"))),
            seconds: metrics.iter().filter_map(|m| m.get("seconds")?.as_f64()).sum(),
        });
    }
    Ok(out)
}

/// The `error: ...` a failed run printed last in its log, if its last line is one.
fn last_error(log: &Path) -> Option<String> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().rev().find(|l| !l.trim().is_empty())?;
    line.strip_prefix("error: ").map(str::to_string)
}

/// The index of the finished run with the lowest best loss.
pub fn best(rows: &[Row]) -> Option<usize> {
    rows.iter()
        .enumerate()
        .filter(|(_, r)| r.status == "done" || r.status == "stopped early")
        .filter_map(|(i, r)| Some((i, r.best_loss.filter(|l| l.is_finite())?)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(i, _)| i)
}

/// The markdown table with the best run named below it; `labels` head the value columns.
pub fn markdown(title: &str, labels: &[String], rows: &[Row]) -> String {
    let f = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_else(|| "-".into());
    let mut header = vec!["run".to_string()];
    header.extend(labels.iter().cloned());
    header.extend(
        ["status", "epochs", "train loss", "val loss", "best loss", "best epoch", "test loss", "test MSE", "train s"]
            .map(String::from),
    );
    let mut t = format!("# {title}\n\n| {} |\n|{}\n", header.join(" | "), "---|".repeat(header.len()));
    for r in rows {
        let mut cells = vec![r.name.clone()];
        cells.extend(r.values.iter().map(|v| v.replace('|', "\\|")));
        cells.extend([
            r.status.replace('|', "\\|"),
            r.epochs.to_string(),
            f(r.train_loss),
            f(r.val_loss),
            f(r.best_loss),
            r.best_epoch.map(|e| e.to_string()).unwrap_or_else(|| "-".into()),
            f(r.test_loss),
            f(r.test_mse),
            format!("{:.1}", r.seconds),
        ]);
        t.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    t.push('\n');
    t.push_str(&best_line(rows));
    t.push_str(
        "\n\nbest loss: a run's lowest validation loss (its training loss where it has no validation split), \
         the one its best checkpoint keeps; the best run has the lowest. train s: seconds of its epochs.\n",
    );
    t
}

/// `best run: NAME (best loss X at epoch E; test loss Y)`, or that no run has finished.
pub fn best_line(rows: &[Row]) -> String {
    match best(rows) {
        Some(i) => {
            let r = &rows[i];
            let test = r.test_loss.map(|t| format!("; test loss {t:.6}")).unwrap_or_default();
            format!(
                "best run: {} (best loss {:.6} at epoch {}{test})",
                r.name,
                r.best_loss.unwrap_or(f64::NAN),
                r.best_epoch.unwrap_or(0)
            )
        }
        None => "best run: none has finished".into(),
    }
}

/// Writes `sweep.csv`, `sweep.md` and `sweep.png` into `dir`; returns the markdown.
pub fn write(dir: &Path, title: &str, keys: &[String], labels: &[String], rows: &[Row]) -> Result<String> {
    let mut csv = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = vec!["run".into()];
    header.extend(keys.iter().cloned());
    header.extend(
        [
            "status",
            "epochs",
            "train_loss",
            "val_loss",
            "best_loss",
            "best_epoch",
            "test_loss",
            "test_mse",
            "train_seconds",
            "best",
        ]
        .map(String::from),
    );
    let csv_error = |e: csv::Error| AppError::runtime(format!("{}: {e}", dir.join("sweep.csv").display()));
    csv.write_record(&header).map_err(csv_error)?;
    let best = best(rows);
    let g = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    for (i, r) in rows.iter().enumerate() {
        let mut cells = vec![r.name.clone()];
        cells.extend(r.values.iter().cloned());
        cells.extend([
            r.status.clone(),
            r.epochs.to_string(),
            g(r.train_loss),
            g(r.val_loss),
            g(r.best_loss),
            r.best_epoch.map(|e| e.to_string()).unwrap_or_default(),
            g(r.test_loss),
            g(r.test_mse),
            r.seconds.to_string(),
            (best == Some(i)).to_string(),
        ]);
        csv.write_record(&cells).map_err(csv_error)?;
    }
    let bytes = csv.into_inner().map_err(|e| AppError::runtime(format!("sweep.csv: {e}")))?;
    write_atomic(&dir.join("sweep.csv"), &bytes)?;
    let md = markdown(title, labels, rows);
    write_atomic(&dir.join("sweep.md"), md.as_bytes())?;
    let curves: Vec<(String, Vec<Value>)> = rows
        .iter()
        .map(|r| (r.name.clone(), read_metrics(&dir.join(&r.name).join(run_folder::METRICS))))
        .filter(|(_, m)| !m.is_empty())
        .collect();
    if !curves.is_empty() {
        loss_curve::write_runs(&dir.join("sweep.png"), &format!("{title}: loss per epoch"), &curves)?;
    }
    Ok(md)
}

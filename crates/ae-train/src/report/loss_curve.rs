//! Loss curves: `loss.png`, the training and validation loss of every epoch of a run, drawn at the
//! end of training (resumed epochs included); and one picture of several runs' curves (`compare`,
//! `sweep`).

use std::path::Path;

use ae_eval::plot::{self, Frame, LineChart, Series};
use serde_json::Value;

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::training::metrics::EpochMetrics;

/// Writes the loss curve of `history` to `path` (atomically): one line for the training loss, one
/// for the validation loss where there is one. The y axis is logarithmic when every loss is
/// positive and they span more than a factor of 10. Does nothing when no epoch has a finite loss.
pub fn write(path: &Path, name: &str, loss: &str, history: &[EpochMetrics]) -> Result<()> {
    let train: Vec<(f64, f64)> = history.iter().map(|m| (m.epoch as f64, m.train_loss)).collect();
    let val: Vec<(f64, f64)> = history.iter().filter_map(|m| m.val_loss.map(|v| (m.epoch as f64, v))).collect();
    let mut series = vec![Series { name: "training loss", points: &train }];
    if !val.is_empty() {
        series.push(Series { name: "validation loss", points: &val });
    }
    draw(path, &format!("{name}: loss per epoch"), &format!("{loss} loss"), &series)
}

/// The curve that stands for a run among others: its validation loss per epoch where it has one
/// (what early stopping and the best checkpoint watch), else its training loss; from the rows of
/// its `metrics.jsonl`. The second value says which: `val` or `train`.
pub fn monitored(metrics: &[Value]) -> (Vec<(f64, f64)>, &'static str) {
    let key =
        if metrics.iter().any(|m| m.get("val_loss").is_some_and(Value::is_number)) { "val_loss" } else { "train_loss" };
    let points = metrics.iter().filter_map(|m| Some((m.get("epoch")?.as_f64()?, m.get(key)?.as_f64()?))).collect();
    (points, if key == "val_loss" { "val" } else { "train" })
}

/// Writes one line per run to `path` (atomically): `runs` holds each run's label and the rows of
/// its `metrics.jsonl`, drawn as [`monitored`] says. Does nothing when no run has a finite loss.
pub fn write_runs(path: &Path, title: &str, runs: &[(String, Vec<Value>)]) -> Result<()> {
    let curves: Vec<(String, Vec<(f64, f64)>)> = runs
        .iter()
        .map(|(label, metrics)| {
            let (points, which) = monitored(metrics);
            (format!("{label} ({which})"), points)
        })
        .collect();
    let series: Vec<Series> = curves.iter().map(|(name, points)| Series { name, points }).collect();
    draw(path, title, "loss", &series).map_err(|e| AppError::runtime(format!("{}: {}", path.display(), e.message)))
}

/// Draws `series` against the epoch; the y axis is logarithmic when every loss is positive and
/// they span more than a factor of 10.
fn draw(path: &Path, title: &str, y_label: &str, series: &[Series]) -> Result<()> {
    let finite: Vec<f64> = series.iter().flat_map(|s| s.points.iter().map(|p| p.1)).filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return Ok(());
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_y = lo > 0.0 && hi / lo > 10.0;
    let y_label = format!("{y_label}{}", if log_y { " (log scale)" } else { "" });
    let png = plot::line_chart(&Frame::new(title, "epoch", &y_label), &LineChart { series, log_y })?;
    write_atomic(path, &png.bytes)
}

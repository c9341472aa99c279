//! `loss.png`: the training and validation loss of every epoch of a run, drawn at the end of
//! training (resumed epochs included).

use std::path::Path;

use ae_eval::plot::{self, Frame, LineChart, Series};

use crate::error::Result;
use crate::metrics::EpochMetrics;

/// The file name of the loss curve in a run folder.
pub const FILE: &str = "loss.png";

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
    let finite: Vec<f64> = train.iter().chain(&val).map(|p| p.1).filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return Ok(());
    }
    let lo = finite.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = finite.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let log_y = lo > 0.0 && hi / lo > 10.0;
    let title = format!("{name}: loss per epoch");
    let y_label = format!("{loss} loss{}", if log_y { " (log scale)" } else { "" });
    plot::line_chart(path, &Frame::new(&title, "epoch", &y_label), &LineChart { series: &series, log_y })?;
    Ok(())
}

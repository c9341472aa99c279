//! `ae-train reconstruct RUN`: the reconstruction error of every item of a split (CSV, sorted by
//! the data's order) and a picture of the best and worst reconstructed items.

use std::path::{Path, PathBuf};

use ae_data::BatchStream;
use serde::Serialize;

use crate::backend::BackendChoice;
use crate::error::{AppError, Result};
use crate::fsio::{write_atomic, write_json};
use crate::report::picture;
use crate::run_folder::trained;
use crate::training::data::Split;
use crate::training::fit::to_tensor;

/// `reconstruct.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ReconstructReport {
    /// The run folder.
    pub run: PathBuf,
    /// The split.
    pub split: Split,
    /// Items measured.
    pub items: usize,
    /// The loss measuring each item (the run's reconstruction loss).
    pub loss: String,
    /// Mean, median and largest per-item error.
    pub mean_error: f64,
    /// Median per-item error.
    pub median_error: f64,
    /// Largest per-item error.
    pub max_error: f64,
}

/// Runs the subcommand: writes `reconstruct.csv` (item, label, error), `reconstruct.json` and
/// `reconstruct.png` (rows: the 8 best inputs, their reconstructions, the 8 worst inputs, theirs).
pub fn run(run: &Path, backend: Option<BackendChoice>, split: Split) -> Result<ReconstructReport> {
    let t = trained::load(run, backend)?;
    let view = t
        .data
        .split(split)
        .ok_or_else(|| AppError::usage(format!("{}: the run's data has no {split:?} split", run.display())))?;
    let device = &t.backend.device;
    let mut errors = Vec::with_capacity(view.len());
    let mut labels = Vec::with_capacity(view.len());
    for batch in
        BatchStream::new(view.clone(), (0..view.len()).collect(), t.config.train.batch_size, t.config.train.workers)
    {
        labels.extend(batch.labels.clone().unwrap_or_default().into_iter().map(Some));
        let x = to_tensor(batch, device);
        let e = t.model.per_sample_loss(x).into_data().try_into_vec::<f32>();
        errors.extend(e.map_err(|e| AppError::runtime(format!("cannot read errors: {e:?}")))?);
    }
    labels.resize(errors.len(), None);
    let mut csv = String::from("item,label,error\n");
    for (i, (e, l)) in errors.iter().zip(&labels).enumerate() {
        let label = l.map(|l| l.to_string()).unwrap_or_default();
        csv.push_str(&format!("{i},{label},{e}\n"));
    }
    write_atomic(&run.join("reconstruct.csv"), csv.as_bytes())?;

    let mut order: Vec<usize> = (0..errors.len()).collect();
    order.sort_by(|&a, &b| errors[a].total_cmp(&errors[b]));
    let k = order.len().min(8);
    let rows_for = |positions: &[usize]| -> Result<[Vec<Vec<f32>>; 2]> {
        let batch = view.batch(positions);
        let cols = batch.cols;
        let inputs: Vec<Vec<f32>> = batch.x.chunks(cols).map(|c| c.to_vec()).collect();
        let x = to_tensor(batch, device);
        let out = t.model.decode(t.model.encode(x)).into_data().try_into_vec::<f32>();
        let out = out.map_err(|e| AppError::runtime(format!("cannot read reconstructions: {e:?}")))?;
        Ok([inputs, out.chunks(cols).map(|c| c.to_vec()).collect()])
    };
    let [best_in, best_out] = rows_for(&order[..k])?;
    let [worst_in, worst_out] = rows_for(&order[order.len() - k..])?;
    picture::save_rows(
        &run.join("reconstruct.png"),
        &[best_in, best_out, worst_in, worst_out],
        &t.data.shape,
        &t.data.normalizer,
    )?;

    let n = errors.len().max(1) as f64;
    let report = ReconstructReport {
        run: run.to_path_buf(),
        split,
        items: errors.len(),
        loss: t.model.loss.name().to_string(),
        mean_error: errors.iter().map(|&e| e as f64).sum::<f64>() / n,
        median_error: order.get(order.len() / 2).map(|&i| errors[i] as f64).unwrap_or(0.0),
        max_error: order.last().map(|&i| errors[i] as f64).unwrap_or(0.0),
    };
    write_json(&run.join("reconstruct.json"), &report)?;
    Ok(report)
}

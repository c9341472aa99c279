//! `ae-train denoise RUN`: corrupt a split with the run's noise, denoise it with the model, and
//! measure PSNR and SSIM before and after, against the clean images.

use std::path::{Path, PathBuf};

use ae_data::{BatchStream, View};
use ae_models::corruption::{CorruptionConfig, GaussianNoise};
use serde::Serialize;

use crate::apps::quality::{psnr, ssim};
use crate::backend::BackendChoice;
use crate::error::{AppError, Result};
use crate::fsio::write_json;
use crate::report::picture;
use crate::run_folder::trained;
use crate::training::data::Split;
use crate::training::fit::to_tensor;

/// `denoise.json`.
#[derive(Debug, Clone, Serialize)]
pub struct DenoiseReport {
    /// The run folder.
    pub run: PathBuf,
    /// The split and its dataset.
    pub split: Split,
    /// Dataset name.
    pub dataset: String,
    /// Images measured.
    pub items: usize,
    /// The corruption applied.
    pub corruption: CorruptionConfig,
    /// Seed of the noise.
    pub seed: u64,
    /// Mean PSNR (dB) of the noisy images.
    pub psnr_noisy: f64,
    /// Mean PSNR (dB) of the denoised images.
    pub psnr_denoised: f64,
    /// Mean SSIM of the noisy images.
    pub ssim_noisy: f64,
    /// Mean SSIM of the denoised images.
    pub ssim_denoised: f64,
}

/// Runs the subcommand; `sigma` replaces the run's corruption with Gaussian noise of that sigma.
pub fn run(
    run: &Path,
    backend: Option<BackendChoice>,
    split: Split,
    sigma: Option<f64>,
    seed: u64,
) -> Result<DenoiseReport> {
    let t = trained::load(run, backend)?;
    let corruption = match sigma {
        Some(s) if s > 0.0 && s.is_finite() => {
            CorruptionConfig::Gaussian(GaussianNoise { sigma: s, clip: Some([0.0, 1.0]) })
        }
        Some(s) => return Err(AppError::usage(format!("--sigma {s}: must be a finite number > 0"))),
        None if t.model.corruption.is_none() => {
            return Err(AppError::usage(format!(
                "{}: the run was trained without a corruption; pass --sigma to choose the noise",
                run.display()
            )));
        }
        None => t.model.corruption.clone(),
    };
    if !t.data.normalizer.is_unit_range() || t.data.shape.len() != 3 {
        return Err(AppError::usage(format!(
            "{}: denoise measures images with values in [0, 1]; dataset `{}` has items {:?} normalised as {:?}",
            run.display(),
            t.config.data.dataset,
            t.data.shape,
            t.data.normalizer.kind
        )));
    }
    let view: &View = t
        .data
        .split(split)
        .ok_or_else(|| AppError::usage(format!("{}: the run's data has no {split:?} split", run.display())))?;
    let shape = [t.data.shape[0], t.data.shape[1], t.data.shape[2]];
    let device = &t.backend.device;
    device.seed(seed);
    let (mut pn, mut pd, mut sn, mut sd) = (0.0, 0.0, 0.0, 0.0);
    let mut shown: Vec<Vec<(usize, Vec<f32>)>> = vec![Vec::new(); 3];
    // The pictured items, spread over the classes; scored in the same pass as every other item.
    let pictured: Vec<usize> = view.spread(8, seed);
    let mut position = 0usize;
    let batch_size = t.config.train.batch_size;
    for batch in BatchStream::new(view.clone(), (0..view.len()).collect(), batch_size, t.config.train.workers) {
        let cols = batch.cols;
        let clean = batch.x.clone();
        let x = to_tensor(batch, device);
        let noisy_t = corruption.apply(x);
        let denoised = t.model.decode(t.model.encode(noisy_t.clone()));
        let read = |v: burn::tensor::Tensor<2>| {
            v.into_data().try_into_vec::<f32>().map_err(|e| AppError::runtime(format!("cannot read results: {e:?}")))
        };
        let (noisy, denoised) = (read(noisy_t)?, read(denoised)?);
        for ((c, n), d) in clean.chunks(cols).zip(noisy.chunks(cols)).zip(denoised.chunks(cols)) {
            pn += psnr(c, n, 1.0);
            pd += psnr(c, d, 1.0);
            sn += ssim(c, n, shape, 1.0);
            sd += ssim(c, d, shape, 1.0);
            if let Some(slot) = pictured.iter().position(|&p| p == position) {
                for (row, v) in shown.iter_mut().zip([n, d, c]) {
                    row.push((slot, v.to_vec()));
                }
            }
            position += 1;
        }
    }
    let n = view.len().max(1) as f64;
    let report = DenoiseReport {
        run: run.to_path_buf(),
        split,
        dataset: t.config.data.dataset.clone(),
        items: view.len(),
        corruption,
        seed,
        psnr_noisy: pn / n,
        psnr_denoised: pd / n,
        ssim_noisy: sn / n,
        ssim_denoised: sd / n,
    };
    let shown: Vec<Vec<Vec<f32>>> = shown
        .into_iter()
        .map(|mut row| {
            row.sort_by_key(|(slot, _)| *slot);
            row.into_iter().map(|(_, v)| v).collect()
        })
        .collect();
    picture::save_rows(&run.join("denoise.png"), &shown, &t.data.shape, &t.data.normalizer)?;
    write_json(&run.join("denoise.json"), &report)?;
    Ok(report)
}

//! A trained model read back from its run folder: the resolved config, the final weights and the
//! normalisation statistics, ready to apply to data.

use std::path::{Path, PathBuf};

use ae_data::Normalizer;
use ae_models::Autoencoder;
use burn::module::Module;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;

use crate::backend::{self, Backend, BackendChoice};
use crate::config::{self, ExperimentConfig};
use crate::error::{AppError, Result};
use crate::training::data::{self, PreparedData};
use crate::training::model::init_model;

/// A run folder's model with its data.
pub struct Trained {
    /// The run folder.
    pub run: PathBuf,
    /// Its resolved config.
    pub config: ExperimentConfig,
    /// The model (for inference: no autodiff).
    pub model: Autoencoder,
    /// The backend it runs on.
    pub backend: Backend,
    /// Its dataset, normalised with the saved statistics.
    pub data: PreparedData,
}

/// Loads `run/config.toml`, `run/normalizer.json`, `run/model.bpk` and the config's dataset.
pub fn load(run: &Path, backend: Option<BackendChoice>) -> Result<Trained> {
    if !run.is_dir() {
        return Err(AppError::usage(format!("{}: not a run folder", run.display())));
    }
    let dir = super::RunDir::at(run);
    let config_path = dir.file(super::CONFIG);
    if !config_path.is_file() {
        return Err(AppError::usage(format!("{}: not a run folder (no config.toml)", run.display())));
    }
    let cfg = config::load(&config_path, &[])?.config;
    let norm_path = dir.file(super::NORMALIZER);
    let normalizer: Normalizer = std::fs::read(&norm_path)
        .map_err(|e| AppError::runtime(format!("{}: cannot read: {e}", norm_path.display())))
        .and_then(|b| {
            serde_json::from_slice(&b).map_err(|e| AppError::runtime(format!("{}: corrupt: {e}", norm_path.display())))
        })?;
    let weights = dir.file(super::MODEL);
    let bytes = std::fs::read(&weights).map_err(|e| {
        AppError::runtime(format!("{}: cannot read the final weights ({e}); did the run finish?", weights.display()))
    })?;
    let backend = backend::resolve(backend.unwrap_or(cfg.train.backend))?;
    let data = data::prepare(&cfg, &config_path, Some(normalizer))?;
    let model = init_model(&cfg, &data.shape, &backend.device)
        .map_err(|e| AppError::usage(format!("{}: key `model.{}`: {}", config_path.display(), e.key, e.message)))?;
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
        .map_err(|e| AppError::runtime(format!("{}: corrupt weights: {e:?}", weights.display())))?;
    let model = model.try_load_record(record).map_err(|e| {
        AppError::runtime(format!("{}: weights do not fit the config's model: {e:?}", weights.display()))
    })?;
    Ok(Trained { run: run.to_path_buf(), config: cfg, model, backend, data })
}

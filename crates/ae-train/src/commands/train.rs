//! `ae-train --config ...`: one training run from config to run folder.

use std::path::{Path, PathBuf};
use std::time::Instant;

use ae_models::average::WeightAverage;
use ae_models::precision::Precision;
use ae_models::step;

use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;

use crate::backend::{self, BackendChoice};
use crate::config::{self, ExperimentConfig};
use crate::error::{AppError, Result};
use crate::fsio::{write_atomic, write_json};
use crate::report::loss_curve;
use crate::report::progress::Progress;
use crate::report::training_log::{self, RunLog, Shown};
use crate::run_folder::{self, RunDir};
use crate::training::checkpoint;
use crate::training::data;
use crate::training::distributed;
use crate::training::fit::{self, CheckpointPlan, TrainData};
use crate::training::metrics::{EpochMetrics, Evaluation};
use crate::training::model::{Versions, config_hash, describe_network, init_model, versions, weight_checksum};
use crate::training::pretrain;

/// What the command line asks of a training run.
#[derive(Debug, Clone, Default)]
pub struct TrainRequest {
    /// Config file (or a name in `configs/experiments/` or `configs/presets/`).
    pub config: PathBuf,
    /// Overrides the config's `train.backend`.
    pub backend: Option<BackendChoice>,
    /// `KEY=VALUE` overrides.
    pub set: Vec<String>,
    /// Run folder; default `runs/<name>`.
    pub out: Option<PathBuf>,
    /// Continue from the run folder's last checkpoint.
    pub resume: bool,
    /// Replace a previous run in the folder.
    pub force: bool,
    /// Print nothing but the final summary.
    pub quiet: bool,
}

/// `summary.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Experiment name.
    pub name: String,
    /// Dataset name.
    pub dataset: String,
    /// Backend used and its device.
    pub backend: String,
    /// Adapter or CPU description.
    pub device: String,
    /// Seed.
    pub seed: u64,
    /// Epochs completed (resumed ones included).
    pub epochs: usize,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Best monitored loss (validation, else training) and its epoch.
    pub best_loss: Option<f64>,
    /// Epoch of the best monitored loss.
    pub best_epoch: Option<usize>,
    /// Last epoch's metrics.
    pub last_epoch: Option<EpochMetrics>,
    /// The kept model on the test split.
    pub test: Option<Evaluation>,
    /// Items in each split.
    pub items: SplitSizes,
    /// Values per item.
    pub input_features: usize,
    /// Trainable parameters.
    pub parameters: usize,
    /// Seconds spent training in this process.
    pub train_seconds: f64,
    /// Seconds for the whole command.
    pub wall_seconds: f64,
    /// Software versions.
    pub versions: Versions,
    /// The run folder.
    pub run_dir: PathBuf,
}

/// Item counts per split.
#[derive(Debug, Clone, Serialize)]
pub struct SplitSizes {
    /// Training items.
    pub train: usize,
    /// Validation items.
    pub val: usize,
    /// Test items.
    pub test: usize,
}

/// Runs training as requested and returns the summary written to `summary.json`.
pub fn train(req: &TrainRequest) -> Result<Summary> {
    let wall = Instant::now();
    let loaded = config::load(&req.config, &req.set)?;
    let cfg = loaded.config.clone();
    let out = req.out.clone().unwrap_or_else(|| Path::new("runs").join(&cfg.name));
    // Data-parallel (MPI): rank 0 owns the run folder, the others write a scratch folder of their
    // own, removed when they end.
    let world = distributed::world();
    if world.size > 1 {
        distributed::check_batch(cfg.train.batch_size, world)
            .map_err(|m| AppError::usage(format!("{}: key `train.batch_size`: {m}", loaded.path.display())))?;
    }
    let scratch = (!world.is_root()).then(|| {
        distributed::remove_dead_scratch();
        std::env::temp_dir().join(format!("{}{}-{}", distributed::SCRATCH_PREFIX, world.rank, std::process::id()))
    });
    // Checked now, created once the data, the model and any checkpoint have loaded: a run that
    // fails on its input leaves no folder behind (and `--force` removes nothing).
    let run = match &scratch {
        Some(dir) => RunDir::prepare(dir, &cfg.name, false, true)?,
        None => RunDir::prepare(&out, &cfg.name, req.resume, req.force)?,
    };
    let result = train_in(req, &cfg, &loaded.path, run, world, wall);
    if let Some(dir) = scratch {
        let _ = std::fs::remove_dir_all(dir);
    }
    result
}

/// [`train`] into the prepared run folder `run`.
fn train_in(
    req: &TrainRequest,
    cfg: &ExperimentConfig,
    config_path: &Path,
    run: RunDir,
    world: distributed::World,
    wall: Instant,
) -> Result<Summary> {
    let cfg = cfg.clone();
    let loaded = config::LoadedConfig { config: cfg.clone(), path: config_path.to_path_buf() };
    let choice = req.backend.unwrap_or(cfg.train.backend);
    let backend = backend::resolve(choice)?;
    let mut progress = Progress::new(req.quiet || !world.is_root());

    // Data: decoded once, normalised per batch with training statistics.
    let prepared = data::prepare(&cfg, &loaded.path, None)?;
    let (item_shape, input, normalizer) = (prepared.shape.clone(), prepared.item_len(), prepared.normalizer.clone());
    let test = prepared.test;
    let data = TrainData { train: prepared.train, val: prepared.val };

    // Model and optimizer, fresh or from the last checkpoint.
    let device: Device = backend.device.clone();
    let hash = config_hash(&cfg, &item_shape);
    let mut model = init_model(&cfg, &item_shape, &device.clone().autodiff())
        .map_err(|e| AppError::usage(format!("{}: key `model.{}`: {}", loaded.path.display(), e.key, e.message)))?;
    if cfg.train.init_output_bias && !req.resume {
        model = model
            .with_output_bias_from_means(&if data.train.data.features.is_streamed() {
                data.train.feature_means_sample(data::STREAMED_FIT_ITEMS, cfg.train.seed)
            } else {
                data.train.feature_means()
            })
            .map_err(|e| AppError::usage(format!("{}: key `train.init_output_bias`: {e}", loaded.path.display())))?;
    }
    let precision = cfg.train.precision;
    let (mut model, mut optims) = step::in_precision(model, precision, &device, || fit::optimizer(&cfg.train))
        .map_err(|e| {
            AppError::usage(format!(
                "{}: key `train.{}`: {} ({}, {})",
                loaded.path.display(),
                e.key,
                e.message,
                backend.name,
                backend.description
            ))
        })?;
    if let Some(decay) = cfg.train.ema_decay {
        let average = WeightAverage::new(decay)
            .map_err(|e| AppError::usage(format!("{}: key `train.{}`: {}", loaded.path.display(), e.key, e.message)))?;
        optims = optims.with_average(average);
    }
    let mut start = None;
    if let Some(mut replicas) = distributed::replicas() {
        if !req.resume {
            // Every replica must start from rank 0's weights (the same seed gives them on the
            // same backend): compare a checksum of the weights.
            let own = weight_checksum(&model);
            let mut sums = [if world.is_root() { own } else { 0.0 }, own];
            replicas.sum(&mut sums);
            let expected = sums[0] * world.size as f64;
            if (sums[1] - expected).abs() > 1e-9 * expected.abs().max(1.0) {
                return Err(AppError::runtime(format!(
                    "rank {}: the {} processes initialised different weights (checksum {own} here, {} on rank 0): \
                     start them with the same ae-train build and backend",
                    world.rank, world.size, sums[0]
                )));
            }
        }
        optims = optims.with_replicas(replicas);
    }
    if req.resume {
        let path = run.last_checkpoint();
        // Rank 0 reads the checkpoint and sends it to the others (no shared folder needed).
        let bytes = if world.is_root() {
            Some(
                std::fs::read(&path)
                    .map_err(|e| AppError::runtime(format!("{}: cannot read checkpoint: {e}", path.display())))?,
            )
        } else {
            None
        };
        let bytes = distributed::broadcast(bytes);
        let ckpt = checkpoint::decode(&bytes, &path)?;
        model = ckpt.load_model(model, &hash, &path)?;
        optims = ckpt.load_optimizers(optims, &device, &path)?;
        optims = ckpt.load_average(optims, &model, &path)?;
        if cfg.train.ema_decay.is_some() && !ckpt.has_average() {
            progress.line("the checkpoint keeps no weight average: averaging starts at this epoch");
        }
        progress.line(&format!(
            "resuming {} after epoch {} (step {})",
            run.path.display(),
            ckpt.meta.epoch,
            ckpt.meta.step
        ));
        start = Some(ckpt.meta);
    }
    let parameters = model.num_params();
    run.create()?;
    let config_text = toml::to_string(&cfg).expect("config serialises");
    write_atomic(&run.file(run_folder::CONFIG), config_text.as_bytes())?;
    write_json(&run.file(run_folder::NORMALIZER), normalizer.as_ref())?;
    progress.line(&format!(
        "{}: {} on {} ({} train / {} val / {} test items of {input} values), {parameters} parameters, backend {} [{}]{}",
        cfg.name,
        describe_network(&cfg, &item_shape),
        cfg.data.dataset,
        data.train.len(),
        data.val.as_ref().map_or(0, |v| v.len()),
        test.as_ref().map_or(0, |t| t.len()),
        backend.name,
        backend.description,
        if precision == Precision::F32 { String::new() } else { format!(", {} layers", precision.name()) }
    ));

    // Optional greedy layer-wise pretraining (a fresh optimizer holds no state yet).
    if cfg.train.pretrain_epochs > 0 && !req.resume {
        model = pretrain::pretrain(model, &cfg, &data.train, &device, &run, &mut progress)?;
    }

    let plan = CheckpointPlan {
        last: run.last_checkpoint(),
        best: run.best_checkpoint(),
        config_hash: hash,
        backend: backend.name.to_string(),
    };
    let shown_view = test.as_ref().or(data.val.as_ref()).unwrap_or(&data.train);
    let shown =
        Shown { view: shown_view, seed: cfg.train.seed, shape: &item_shape, normalizer: &normalizer, device: &device };
    let events = cfg.train.tensorboard.then(|| run.file(run_folder::TENSORBOARD));
    let mut log = RunLog::open(
        run.file(run_folder::METRICS),
        events.as_deref(),
        start.as_ref().map(|m| m.step),
        &config_text,
        shown,
        cfg.model.bottleneck.clone(),
        fit::total_steps(&cfg.train, data.train.len()),
    )?;
    let outcome = fit::fit(model, optims, &data, &cfg.train, &device, &plan, start, &mut progress, &mut log)?;

    // Final weights, test metrics, pictures, summary.
    let model = outcome.model.valid();
    let weights = model
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| AppError::runtime(format!("cannot serialise weights: {e:?}")))?;
    write_atomic(&run.file(run_folder::MODEL), &weights)?;
    let test_eval = test.as_ref().map(|t| {
        let mut e = fit::evaluate(&model, t, cfg.train.batch_size, cfg.train.workers, &device);
        if let Some(ll) = fit::mean_log_likelihood(&model, t, cfg.train.workers, &device) {
            e.extra.insert(format!("log_likelihood_iwae_k{}", fit::IWAE_SAMPLES), ll);
        }
        e
    });
    write_atomic(&run.file(run_folder::RECONSTRUCTIONS), &training_log::reconstructions(&model, shown)?.bytes)?;
    loss_curve::write(&run.file(run_folder::LOSS_CURVE), &cfg.name, cfg.model.loss.name(), &outcome.history)?;
    let summary = Summary {
        name: cfg.name.clone(),
        dataset: cfg.data.dataset.clone(),
        backend: backend.name.to_string(),
        device: backend.description.clone(),
        seed: cfg.train.seed,
        epochs: outcome.history.len(),
        stopped_early: outcome.stopped_early,
        best_loss: outcome.best.map(|b| b.0),
        best_epoch: outcome.best.map(|b| b.1),
        last_epoch: outcome.history.last().cloned(),
        test: test_eval,
        items: SplitSizes {
            train: data.train.len(),
            val: data.val.as_ref().map_or(0, |v| v.len()),
            test: test.as_ref().map_or(0, |t| t.len()),
        },
        input_features: input,
        parameters,
        train_seconds: outcome.seconds,
        wall_seconds: wall.elapsed().as_secs_f64(),
        versions: versions(),
        run_dir: run.path.clone(),
    };
    write_json(&run.file(run_folder::SUMMARY), &summary)?;
    Ok(summary)
}

//! The one training loop, shared by every autoencoder variant: minibatches from worker threads,
//! an optimizer step per batch, per-epoch validation, early stopping, checkpoints. The batches of
//! an epoch go through the library's [`fit_epoch`], the loop library users run too.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use ae_core::rng::epoch_order;
use ae_data::{Batch, BatchStream, View};
use ae_models::Autoencoder;
use ae_models::step::Optimizers;
use ae_models::train::{EpochPlan, LossSums, epoch_seed, fit_epoch};
use burn::module::Module;
use burn::optim::{AdamConfig, ModuleOptimizer, SgdConfig, decay::WeightDecayConfig, momentum::MomentumConfig};
use burn::tensor::{Device, Tensor, TensorData};

use crate::config::{OptimizerKind, TrainConfig};
use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::report::progress::Progress;
use crate::training::checkpoint::{self, CheckpointMeta};
use crate::training::early_stopping::{Monitor, Verdict};
use crate::training::metrics::{EpochMetrics, Evaluation};

/// Builds the configured optimizer (Adam with PyTorch's epsilon 1e-8, or SGD with undampened
/// momentum, as PyTorch defines it).
pub fn optimizer(t: &TrainConfig) -> ModuleOptimizer {
    let decay = (t.weight_decay > 0.0).then(|| WeightDecayConfig::new(t.weight_decay as f32));
    match t.optimizer {
        OptimizerKind::Adam => AdamConfig::new().with_epsilon(1e-8).with_weight_decay(decay).init(),
        OptimizerKind::Sgd => {
            let momentum =
                (t.momentum > 0.0).then_some(MomentumConfig { momentum: t.momentum, dampening: 0.0, nesterov: false });
            SgdConfig::new().with_momentum(momentum).with_weight_decay(decay).init()
        }
    }
}

/// A batch as a `[rows, cols]` tensor on `device`.
pub fn to_tensor(batch: Batch, device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(batch.x, [batch.rows, batch.cols]), device)
}

/// Where the trainer writes checkpoints, and what identifies the model in them.
pub struct CheckpointPlan {
    /// Latest state, rewritten every epoch.
    pub last: PathBuf,
    /// State at the best monitored loss.
    pub best: PathBuf,
    /// Architecture hash written into checkpoints.
    pub config_hash: String,
    /// Backend name written into checkpoints.
    pub backend: String,
}

/// The splits the trainer uses.
pub struct TrainData {
    /// Training items.
    pub train: View,
    /// Validation items (monitored for early stopping and the best checkpoint), if any.
    pub val: Option<View>,
}

/// How training ended.
pub struct FitOutcome {
    /// The model to keep: the last (or, when early stopping restored it, the best) weights, or
    /// their running average when `train.ema_decay` keeps one.
    pub model: Autoencoder,
    /// Every epoch's metrics, resumed ones included.
    pub history: Vec<EpochMetrics>,
    /// Best monitored loss and its epoch.
    pub best: Option<(f64, usize)>,
    /// Whether patience ran out before the last epoch.
    pub stopped_early: bool,
    /// Seconds spent in this process's training epochs.
    pub seconds: f64,
}

/// Optimizer steps of the whole training on `items` training items.
pub fn total_steps(cfg: &TrainConfig, items: usize) -> u64 {
    (cfg.epochs * items.div_ceil(cfg.batch_size)) as u64
}

/// What the loop reports as it goes (a run folder's `metrics.jsonl`, its TensorBoard log).
pub trait TrainingLog {
    /// A step at which the loss was read back: the epoch's mean loss so far.
    fn step(&mut self, _step: u64, _mean_loss: f64) {}

    /// An epoch's metrics and the model validation saw, before the epoch's checkpoint is
    /// written: a kill between the two leaves the log ahead of the checkpoint, never behind it.
    fn epoch(&mut self, _metrics: &EpochMetrics, _model: &Autoencoder) -> Result<()> {
        Ok(())
    }

    /// After the epoch's checkpoint: every epoch's metrics so far, resumed ones included.
    fn saved(&mut self, history: &[EpochMetrics]) -> Result<()>;
}

/// Runs the loop from `start` (a resumed checkpoint's metadata) or from scratch, reporting to
/// `log`.
#[allow(clippy::too_many_arguments)]
pub fn fit(
    mut model: Autoencoder,
    mut optims: Optimizers,
    data: &TrainData,
    cfg: &TrainConfig,
    device: &Device,
    plan: &CheckpointPlan,
    start: Option<CheckpointMeta>,
    progress: &mut Progress,
    log: &mut dyn TrainingLog,
) -> Result<FitOutcome> {
    let train_device = device.clone().autodiff();
    let (first_epoch, mut step, mut monitor, mut history) = match start {
        Some(m) => (m.epoch, m.step, Monitor::new(cfg.patience, m.best, m.stale_epochs), m.history),
        None => (0, 0, Monitor::new(cfg.patience, None, 0), Vec::new()),
    };
    let t0 = Instant::now();
    let mut stopped_early = false;
    // Schedules (k annealing, KL warm-up) follow the fraction of all planned steps taken.
    let total_steps = total_steps(cfg, data.train.len());
    progress.start(first_epoch + 1, cfg.epochs);
    for epoch in first_epoch..cfg.epochs {
        let epoch_no = epoch + 1;
        let started = Instant::now();
        // Noise (corruption, sampling) is seeded per epoch, so a resumed run draws what an
        // uninterrupted one would have drawn.
        train_device.seed(epoch_seed(cfg.seed, epoch));
        // Data-parallel: this process's shard of every batch of the epoch's order.
        let world = crate::training::distributed::world();
        let order =
            crate::training::distributed::shard(&epoch_order(data.train.len(), cfg.seed, epoch), cfg.batch_size, world);
        let stream = BatchStream::new(data.train.clone(), order, cfg.batch_size / world.size, cfg.workers);
        progress.start_epoch(epoch_no, stream.total());
        let epoch_plan =
            EpochPlan { learning_rate: cfg.learning_rate, first_step: step, total_steps, log_every: cfg.log_every };
        let batches = stream.map(|batch| to_tensor(batch, &train_device));
        let stats;
        (model, stats) = fit_epoch(model, &mut optims, batches, &epoch_plan, |p| {
            if let Some(mean) = p.mean_loss {
                log.step(p.step, mean);
            }
            progress.batch(epoch_no, p.batch, p.items, p.mean_loss)
        })
        .map_err(|d| diverged(epoch_no, d.step, d.loss, plan))?;
        step = stats.step;
        let (train_loss, train_terms, seen) = (stats.loss, stats.terms, stats.items);
        // Validation sees the model training keeps: the weights' running average when there is one.
        let kept = optims.averaged(model.clone()).valid();
        let val_loss = data.val.as_ref().map(|v| evaluate(&kept, v, cfg.batch_size, cfg.workers, device).loss);
        let seconds = started.elapsed().as_secs_f64();
        let metrics = EpochMetrics {
            epoch: epoch_no,
            train_loss,
            val_loss,
            train_terms,
            seconds,
            samples_per_s: seen as f64 / seconds.max(1e-9),
            step,
            learning_rate: cfg.learning_rate,
            loss_scale: optims.loss_scale.as_ref().map(|s| s.scale()),
            skipped_steps: optims.loss_scale.as_ref().map(|s| s.skipped()),
        };
        let monitored = val_loss.unwrap_or(train_loss);
        if !monitored.is_finite() {
            return Err(diverged(epoch_no, step, monitored, plan));
        }
        let verdict = monitor.update(monitored, epoch_no);
        let improved = verdict == Verdict::Improved;
        history.push(metrics.clone());
        log.epoch(&metrics, &kept)?;
        let meta = CheckpointMeta {
            format_version: checkpoint::FORMAT_VERSION,
            crate_version: env!("CARGO_PKG_VERSION").to_string(),
            config_hash: plan.config_hash.clone(),
            backend: plan.backend.clone(),
            epoch: epoch_no,
            step,
            best: monitor.best,
            stale_epochs: monitor.stale,
            history: history.clone(),
            average_updates: None, // filled in by `checkpoint::encode`
            loss_scale: None,      // likewise
        };
        // Serialised once, written to `last` (and `best` when it improved).
        let bytes = checkpoint::encode(&plan.last, &meta, &model, &optims)?;
        if improved {
            write_atomic(&plan.best, &bytes)?;
        }
        write_atomic(&plan.last, &bytes)?;
        log.saved(&history)?;
        progress.end_epoch(&metrics, if improved && data.val.is_some() { "  (best)" } else { "" });
        if verdict == Verdict::Stop && epoch_no < cfg.epochs {
            progress.line(&format!(
                "early stopping: no better loss for {} epochs (best: epoch {})",
                monitor.stale,
                monitor.best_epoch().unwrap_or(0)
            ));
            stopped_early = true;
            break;
        }
    }
    progress.finish();
    if cfg.patience > 0 && monitor.best_epoch().is_some_and(|e| history.last().is_some_and(|m| m.epoch != e)) {
        // Early stopping keeps the best model, not the last.
        let ckpt = checkpoint::read(&plan.best)?;
        model = ckpt.load_kept_model(model, &plan.config_hash, &plan.best)?;
    } else {
        model = optims.averaged(model);
    }
    Ok(FitOutcome { model, history, best: monitor.best, stopped_early, seconds: t0.elapsed().as_secs_f64() })
}

fn diverged(epoch: usize, step: u64, loss: f64, plan: &CheckpointPlan) -> AppError {
    AppError::runtime(format!(
        "training diverged: the loss became {loss} in epoch {epoch} (detected at step {step}); \
         the last good checkpoint is kept at {} — try a smaller train.learning_rate",
        plan.last.display()
    ))
}

/// Importance samples per item for a VAE's log-likelihood estimate.
pub const IWAE_SAMPLES: usize = 100;

/// Mean importance-sampled `log p(x)` (nats per item, K = [`IWAE_SAMPLES`]) of a VAE with a
/// likelihood loss over a view; `None` for other models.
pub fn mean_log_likelihood(model: &Autoencoder, view: &View, workers: usize, device: &Device) -> Option<f64> {
    // K copies of each item are decoded at once: keep K x batch near 5000 rows.
    let batch = (5000 / IWAE_SAMPLES).max(1);
    let mut total = 0.0;
    for b in BatchStream::new(view.clone(), (0..view.len()).collect(), batch, workers) {
        let x = to_tensor(b, device);
        total +=
            ae_models::likelihood::importance_log_likelihood(model, x, IWAE_SAMPLES)?.sum().into_scalar::<f32>() as f64;
    }
    Some(total / view.len().max(1) as f64)
}

/// Evaluates a model (on a non-autodiff device) on a view: mean objective without corruption,
/// mean squared error, mean terms.
pub fn evaluate(model: &Autoencoder, view: &View, batch_size: usize, workers: usize, device: &Device) -> Evaluation {
    let stream = BatchStream::new(view.clone(), (0..view.len()).collect(), batch_size, workers);
    let mut sums = LossSums::default();
    let mut se: Option<Tensor<1>> = None;
    for batch in stream {
        let rows = batch.rows;
        let x = to_tensor(batch, device);
        let out = model.forward(x.clone(), None);
        sums.add(&out.loss, &out.terms, rows);
        let e = (out.reconstruction - x).square().sum();
        se = Some(match se {
            Some(s) => s + e,
            None => e,
        });
    }
    let (loss, terms) = sums.read(view.len());
    let mse = se.map(|s| s.into_scalar::<f32>() as f64).unwrap_or(0.0) / (view.len().max(1) * view.item_len()) as f64;
    Evaluation { items: view.len(), loss, mse, terms, extra: BTreeMap::new() }
}

//! Fitting a model to a dataset held in memory, one tensor of items, with [`fit_epoch`].

use ae_core::rng::epoch_order;
use burn::optim::AdamConfig;
use burn::tensor::{Int, Tensor, TensorData};

use super::{Diverged, EpochPlan, EpochStats, epoch_seed, fit_epoch};
use crate::error::ConfigError;
use crate::step::{Optimizers, Trainable};

/// Settings of a [`Trainer`].
#[derive(Debug, Clone, PartialEq)]
pub struct TrainerConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// Items per optimizer step (the last batch of an epoch may be smaller).
    pub batch_size: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Seeds the order of the items and the device's noise (corruption, sampling).
    pub seed: u64,
}

impl Default for TrainerConfig {
    /// 10 epochs of batches of 64 at learning rate 1e-3, seed 0.
    fn default() -> Self {
        Self { epochs: 10, batch_size: 64, learning_rate: 1e-3, seed: 0 }
    }
}

/// Why [`Trainer::fit`] stopped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TrainError {
    /// A setting or the data cannot be trained on; the key names which.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The loss stopped being finite (try a smaller learning rate).
    #[error("epoch {epoch}: {source}")]
    Diverged {
        /// The epoch (from 1).
        epoch: usize,
        /// Where and how.
        source: Diverged,
    },
}

/// A trained model and the statistics of its epochs.
#[derive(Debug)]
pub struct Fitted<M> {
    /// The model after the last epoch (still on the autodiff device: call `.valid()` for
    /// inference without gradients). When the optimizers given to [`Trainer::fit_with`] keep a
    /// weight average, `optims.averaged(model)` gives the averaged model.
    pub model: M,
    /// One entry per epoch, in order.
    pub history: Vec<EpochStats>,
}

/// Trains any [`Trainable`] model (an [`Autoencoder`](crate::Autoencoder) or your own) on items
/// held in one `[items, features]` tensor: shuffled minibatches, one step each, every epoch.
///
/// Epoch `e` visits the items in `ae_core::rng::epoch_order(items, seed, e)`, the order the
/// `ae-train` binary uses. Runs repeat exactly for the same seed and initial model as long as nothing else draws from
/// the device's random generator meanwhile (the CPU backend's is shared by the whole process).
///
/// # Examples
///
/// ```
/// use ae_models::AutoencoderConfig;
/// use ae_models::network::DenseConfig;
/// use ae_models::train::{Trainer, TrainerConfig};
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex().autodiff();
/// let data = Tensor::<2>::random([200, 6], Distribution::Uniform(0.0, 1.0), &device);
/// let model = AutoencoderConfig::dense(DenseConfig::new(vec![32], 3)).init(6, &device).unwrap();
/// let trainer = Trainer::new(TrainerConfig { epochs: 5, batch_size: 20, learning_rate: 1e-2, seed: 7 });
/// let fitted = trainer.fit(model, &data).unwrap();
/// assert_eq!(fitted.history.len(), 5);
/// assert!(fitted.history[4].loss < fitted.history[0].loss);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Trainer {
    /// The settings.
    pub config: TrainerConfig,
}

impl Trainer {
    /// A trainer with these settings.
    pub fn new(config: TrainerConfig) -> Self {
        Self { config }
    }

    /// Trains `model` (built on an autodiff device) on the rows of `data` with Adam.
    pub fn fit<M: Trainable>(&self, model: M, data: &Tensor<2>) -> Result<Fitted<M>, TrainError> {
        let mut optims = Optimizers::new(&model, || AdamConfig::new().with_epsilon(1e-8).init());
        self.fit_with(model, &mut optims, data)
    }

    /// [`Trainer::fit`] with optimizers of your own (SGD, weight decay, or state kept from
    /// an earlier fit).
    pub fn fit_with<M: Trainable>(
        &self,
        mut model: M,
        optims: &mut Optimizers,
        data: &Tensor<2>,
    ) -> Result<Fitted<M>, TrainError> {
        let c = &self.config;
        let items = data.dims()[0];
        if c.batch_size == 0 {
            return Err(ConfigError::new("batch_size", "must be at least 1").into());
        }
        if !(c.learning_rate.is_finite() && c.learning_rate > 0.0) {
            return Err(ConfigError::new("learning_rate", format!("must be > 0, got {}", c.learning_rate)).into());
        }
        if items == 0 {
            return Err(ConfigError::new("data", "the data has no items (rows)").into());
        }
        let device = data.device();
        let per_epoch = items.div_ceil(c.batch_size) as u64;
        let mut history = Vec::with_capacity(c.epochs);
        for epoch in 0..c.epochs {
            device.seed(epoch_seed(c.seed, epoch));
            let order: Vec<i64> = epoch_order(items, c.seed, epoch).into_iter().map(|i| i as i64).collect();
            let batches = order.chunks(c.batch_size).map(|rows| {
                let index = TensorData::new(rows.to_vec(), [rows.len()]);
                data.clone().select(0, Tensor::<1, Int>::from_data(index, &device))
            });
            let plan = EpochPlan {
                learning_rate: c.learning_rate,
                first_step: epoch as u64 * per_epoch,
                total_steps: c.epochs as u64 * per_epoch,
                log_every: 0,
            };
            let stats;
            (model, stats) = fit_epoch(model, optims, batches, &plan, |_| {})
                .map_err(|source| TrainError::Diverged { epoch: epoch + 1, source })?;
            history.push(stats);
        }
        Ok(Fitted { model, history })
    }
}

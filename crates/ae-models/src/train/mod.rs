//! Training over batches you bring: [`fit_epoch`] is the one epoch loop (the `ae-train` binary
//! runs it on batches streamed from disk), [`Trainer`] fits a model to a dataset held in one
//! tensor.
//!
//! Each batch takes one [`train_step`]; the loss and its named terms
//! are summed on the device, weighted by the items of each batch, and read back every
//! [`EpochPlan::log_every`] steps and at the end of the epoch, when a non-finite mean stops
//! training with [`Diverged`].

pub mod sums;
pub mod trainer;

use std::collections::BTreeMap;

use burn::tensor::Tensor;

pub use sums::LossSums;
pub use trainer::{Fitted, TrainError, Trainer, TrainerConfig};

use crate::schedule::Schedule;
use crate::step::{Optimizers, Trainable, train_step};

/// The seed of the device's random numbers (corruption, sampling) in epoch `epoch` (from 0) of
/// training seeded with `seed`. Seeding per epoch lets a resumed run draw what an uninterrupted
/// one would have drawn.
pub fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64 + 1)
}

/// Where one epoch stands in the whole training.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochPlan {
    /// Step size of every optimizer step.
    pub learning_rate: f64,
    /// Steps taken before this epoch.
    pub first_step: u64,
    /// Steps planned over the whole training: schedules (k annealing, KL warm-up) follow
    /// `step / total_steps`.
    pub total_steps: u64,
    /// Read the running loss back, and check that it is finite, every this many steps (0: only
    /// at the end of the epoch).
    pub log_every: usize,
}

/// Where an epoch stands after a batch, handed to the `on_batch` callback of [`fit_epoch`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchProgress {
    /// Batches done in this epoch (from 1).
    pub batch: usize,
    /// Items seen in this epoch.
    pub items: usize,
    /// Steps taken since training began.
    pub step: u64,
    /// The epoch's mean loss so far, at the steps where it was read back.
    pub mean_loss: Option<f64>,
}

/// What one epoch added up to.
#[derive(Debug, Clone, PartialEq)]
pub struct EpochStats {
    /// Mean training loss per item (the sum of the terms, with corruption and sampling).
    pub loss: f64,
    /// Mean of each named loss term per item (`reconstruction`, `kl`...).
    pub terms: BTreeMap<String, f64>,
    /// Items trained on.
    pub items: usize,
    /// Batches (optimizer steps) taken.
    pub batches: usize,
    /// Steps taken since training began, this epoch's included.
    pub step: u64,
}

/// The loss stopped being a finite number.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("training diverged: the loss became {loss} (detected at step {step})")]
pub struct Diverged {
    /// The step after which it was detected.
    pub step: u64,
    /// The mean loss read back.
    pub loss: f64,
}

/// Trains `model` for one epoch on `batches` of clean inputs `[rows, features]`, on the
/// model's (autodiff) device: a [`train_step`] per batch, `on_batch` after each. Returns the
/// updated model and the epoch's mean loss and terms, or [`Diverged`].
///
/// The caller seeds the device (see [`epoch_seed`]) and orders the batches.
///
/// # Examples
///
/// ```
/// use ae_models::AutoencoderConfig;
/// use ae_models::network::DenseConfig;
/// use ae_models::step::Optimizers;
/// use ae_models::train::{EpochPlan, fit_epoch};
/// use burn::optim::AdamConfig;
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex().autodiff();
/// let model = AutoencoderConfig::dense(DenseConfig::new(vec![16], 4)).init(8, &device).unwrap();
/// let mut optims = Optimizers::new(&model, || AdamConfig::new().init());
/// let batches = (0..5).map(|_| Tensor::<2>::random([10, 8], Distribution::Default, &device));
/// let plan = EpochPlan { learning_rate: 1e-3, first_step: 0, total_steps: 5, log_every: 0 };
/// let (_model, stats) = fit_epoch(model, &mut optims, batches, &plan, |p| assert!(p.batch <= 5)).unwrap();
/// assert_eq!((stats.items, stats.batches, stats.step), (50, 5, 5));
/// assert!(stats.loss > 0.0 && stats.terms.contains_key("reconstruction"));
/// ```
pub fn fit_epoch<M: Trainable>(
    mut model: M,
    optims: &mut Optimizers,
    batches: impl IntoIterator<Item = Tensor<2>>,
    plan: &EpochPlan,
    mut on_batch: impl FnMut(&BatchProgress),
) -> Result<(M, EpochStats), Diverged> {
    let mut sums = LossSums::default();
    let mut step = plan.first_step;
    let mut seen = 0usize;
    for (b, x) in batches.into_iter().enumerate() {
        let rows = x.dims()[0];
        let out;
        (model, out) = train_step(model, optims, x, Schedule::at(step, plan.total_steps), plan.learning_rate);
        // Data-parallel: the losses are the whole batch's means, weighed by its items.
        let rows = optims.replicas.as_mut().and_then(|r| r.take_last_items()).unwrap_or(rows);
        sums.add(&out.loss, &out.terms, rows);
        step += 1;
        seen += rows;
        let mut mean_loss = None;
        if plan.log_every > 0 && step.is_multiple_of(plan.log_every as u64) {
            let mean = sums.read_loss() / seen as f64;
            if !mean.is_finite() {
                return Err(Diverged { step, loss: mean });
            }
            mean_loss = Some(mean);
        }
        on_batch(&BatchProgress { batch: b + 1, items: seen, step, mean_loss });
    }
    let (loss, terms) = sums.read(seen);
    if !loss.is_finite() {
        return Err(Diverged { step, loss });
    }
    Ok((model, EpochStats { loss, terms, items: seen, batches: (step - plan.first_step) as usize, step }))
}

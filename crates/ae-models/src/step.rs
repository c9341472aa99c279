//! One optimisation step for any variant: the only place that turns a batch into parameter
//! updates, shared by the `ae-train` loop and by library users' own loops.
//!
//! Every model takes one autoencoder update per batch: corrupt the input (if configured), run
//! [`Autoencoder::forward_at`], back-propagate the sum of the loss terms, step the model's
//! optimizer. An adversarial autoencoder then takes a second, alternating update: its
//! discriminator, with its own optimizer, learns to tell that batch's codes (held fixed) from
//! prior samples. The discriminator's weights get no gradient in the first update and the
//! autoencoder's none in the second.

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::schedule::Schedule;
use crate::{Autoencoder, ForwardOutput, LossTerm};

/// The optimizers a model trains with.
pub struct Optimizers {
    /// Updates the encoder, bottleneck and decoder.
    pub model: ModuleOptimizer,
    /// Updates an adversarial bottleneck's discriminator (`None` for other models).
    pub adversary: Option<ModuleOptimizer>,
}

impl Optimizers {
    /// Optimizers for `model`: `make` builds each one (the adversary gets its own only when the
    /// model has one).
    pub fn new(model: &Autoencoder, make: impl Fn() -> ModuleOptimizer) -> Self {
        Self { model: make(), adversary: model.bottleneck.adversary().map(|_| make()) }
    }
}

/// The autoencoder update on a batch of clean inputs (on an autodiff device): the new model and
/// the forward pass it was computed from.
pub fn autoencoder_step(
    model: Autoencoder,
    optim: &mut ModuleOptimizer,
    clean: Tensor<2>,
    schedule: Schedule,
    learning_rate: f64,
) -> (Autoencoder, ForwardOutput) {
    let input = model.corrupt(clean.clone());
    let out = model.forward_at(input, Some(clean), schedule);
    let grads = GradientsParams::from_grads(out.loss.backward(), &model);
    (optim.step(learning_rate, model, grads), out)
}

/// The discriminator update of an adversarial model on a batch of codes (held fixed); returns
/// the model unchanged and `None` for other models.
pub fn adversary_step(
    model: Autoencoder,
    optim: &mut ModuleOptimizer,
    code: Tensor<2>,
    learning_rate: f64,
) -> (Autoencoder, Option<Tensor<1>>) {
    let Some(adversary) = model.bottleneck.adversary() else {
        return (model, None);
    };
    let lr = adversary.learning_rate.unwrap_or(learning_rate);
    let loss = adversary.discriminator_loss(code);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (optim.step(lr, model, grads), Some(loss.detach()))
}

/// A full training step: the autoencoder update, then (adversarial models) the discriminator
/// update, whose loss is appended to the output's terms as `discriminator` (reported, not part
/// of `loss`).
pub fn train_step(
    model: Autoencoder,
    optims: &mut Optimizers,
    clean: Tensor<2>,
    schedule: Schedule,
    learning_rate: f64,
) -> (Autoencoder, ForwardOutput) {
    let (model, mut out) = autoencoder_step(model, &mut optims.model, clean, schedule, learning_rate);
    match optims.adversary.as_mut() {
        Some(optim) => {
            let (model, d_loss) = adversary_step(model, optim, out.code.clone(), learning_rate);
            if let Some(d) = d_loss {
                out.terms.push(LossTerm::new("discriminator", d));
            }
            (model, out)
        }
        None => (model, out),
    }
}

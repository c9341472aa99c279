//! One optimisation step for any variant: the only place that turns a batch into parameter
//! updates, shared by the `ae-train` loop and by library users' own loops.
//!
//! Every model takes one autoencoder update per batch: corrupt the input (if configured), run
//! [`Autoencoder::forward_at`], back-propagate the sum of the loss terms, step the model's
//! optimizer. An adversarial autoencoder then takes a second, alternating update: its
//! discriminator, with its own optimizer, learns to tell that batch's codes (held fixed) from
//! prior samples. The discriminator's weights get no gradient in the first update and the
//! autoencoder's none in the second.

use burn::module::Module;
use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::Tensor;

use crate::autoencoder::Autoencoder;
use crate::average::WeightAverage;
use crate::bottleneck::AdversarialBottleneck;
use crate::error::ConfigError;
use crate::objective::{ForwardOutput, LossTerm};
use crate::precision::{LossScale, Precision};
use crate::replicas::Replicas;
use crate::schedule::Schedule;

/// A model the training step can update: a Burn module whose forward pass returns every loss
/// term. [`Autoencoder`] is one; implement it for a model of your own (a custom encoder in front
/// of a library bottleneck and decoder, say) to train it with [`train_step`] and
/// [`crate::train::Trainer`].
///
/// # Examples
///
/// A model whose encoder is any Burn module, with the library's Gaussian bottleneck, decoder
/// and loss (the full version is `examples/custom_encoder.rs`):
///
/// ```
/// use ae_models::bottleneck::{Bottleneck, GaussianBottleneck};
/// use ae_models::network::{DenseConfig, DenseDecoder};
/// use ae_models::loss::ReconstructionLoss;
/// use ae_models::schedule::Schedule;
/// use ae_models::step::Trainable;
/// use ae_models::{ForwardOutput, LossTerm};
/// use burn::module::Module;
/// use burn::nn::{Linear, LinearConfig};
/// use burn::tensor::{Device, Tensor, activation::tanh};
///
/// #[derive(Module, Debug)]
/// struct MyVae {
///     encoder: Linear,
///     bottleneck: Bottleneck,
///     decoder: DenseDecoder,
/// }
///
/// impl Trainable for MyVae {
///     fn forward_at(&self, input: Tensor<2>, target: Option<Tensor<2>>, schedule: Schedule) -> ForwardOutput {
///         let target = target.unwrap_or_else(|| input.clone());
///         let out = self.bottleneck.forward(tanh(self.encoder.forward(input)), schedule);
///         let logits = self.decoder.forward(out.code.clone());
///         let mse = ReconstructionLoss::Mse.mean(logits.clone(), logits.clone(), target);
///         let mut terms = vec![LossTerm::new("reconstruction", mse)];
///         terms.extend(out.terms); // the KL term, already weighted
///         ForwardOutput::from_terms(logits.clone(), logits, out.code, terms)
///     }
/// }
///
/// let device = Device::flex();
/// let (_, decoder) = DenseConfig::new(vec![], 2).init(6, &device);
/// let model = MyVae {
///     encoder: LinearConfig::new(6, 16).init(&device),
///     bottleneck: Bottleneck::Gaussian(GaussianBottleneck::new(16, 2, 1.0, 0.0, &device)),
///     decoder,
/// };
/// let out = model.forward_at(Tensor::zeros([3, 6], &device), None, Schedule::END);
/// let names: Vec<_> = out.terms.iter().map(|t| t.name).collect();
/// assert_eq!(names, ["reconstruction", "kl"]);
/// ```
pub trait Trainable: Module + Sized {
    /// The full pass on `input` with every loss term, measured against `target` (`None`: the
    /// input itself), at this point of training.
    fn forward_at(&self, input: Tensor<2>, target: Option<Tensor<2>>, schedule: Schedule) -> ForwardOutput;

    /// The training corruption of a batch of clean inputs (default: none).
    fn corrupt(&self, x: Tensor<2>) -> Tensor<2> {
        x
    }

    /// An adversarial bottleneck whose discriminator [`train_step`] updates after each
    /// autoencoder update (default: none).
    fn adversary(&self) -> Option<&AdversarialBottleneck> {
        None
    }
}

impl Trainable for Autoencoder {
    fn forward_at(&self, input: Tensor<2>, target: Option<Tensor<2>>, schedule: Schedule) -> ForwardOutput {
        Autoencoder::forward_at(self, input, target, schedule)
    }

    fn corrupt(&self, x: Tensor<2>) -> Tensor<2> {
        Autoencoder::corrupt(self, x)
    }

    fn adversary(&self) -> Option<&AdversarialBottleneck> {
        self.bottleneck.adversary()
    }
}

/// The optimizers a model trains with.
pub struct Optimizers {
    /// Updates the encoder, bottleneck and decoder.
    pub model: ModuleOptimizer,
    /// Updates an adversarial bottleneck's discriminator (`None` for other models).
    pub adversary: Option<ModuleOptimizer>,
    /// The running average of the weights, updated after every [`train_step`] (`None`: off).
    pub average: Option<WeightAverage>,
    /// Data-parallel replicas whose gradients every [`train_step`] combines before stepping
    /// (`None`: this process trains alone).
    pub replicas: Option<Replicas>,
    /// The loss scale of f16 training (`None`: the loss is not scaled): the autoencoder update
    /// back-propagates the scaled loss, unscales the gradients and skips the step when they
    /// overflow ([`crate::precision`]).
    pub loss_scale: Option<LossScale>,
}

impl Optimizers {
    /// Optimizers for `model`: `make` builds each one (the adversary gets its own only when the
    /// model has one).
    pub fn new<M: Trainable>(model: &M, make: impl Fn() -> ModuleOptimizer) -> Self {
        Self {
            model: make(),
            adversary: model.adversary().map(|_| make()),
            average: None,
            replicas: None,
            loss_scale: None,
        }
    }

    /// The same optimizers, scaling the loss dynamically from `scale` (f16 training).
    pub fn with_loss_scale(mut self, scale: LossScale) -> Self {
        self.loss_scale = Some(scale);
        self
    }

    /// The same optimizers, stepping on the gradients of the whole batch that `replicas` (this
    /// one included) took shards of ([`crate::replicas`]).
    pub fn with_replicas(mut self, replicas: Replicas) -> Self {
        self.replicas = Some(replicas);
        self
    }

    /// The same optimizers, also keeping an exponential moving average of the weights
    /// ([`WeightAverage`]).
    pub fn with_average(mut self, average: WeightAverage) -> Self {
        self.average = Some(average);
        self
    }

    /// `model` with its weights replaced by their running average, or `model` itself when no
    /// average is kept: the model to validate, test and keep.
    pub fn averaged<M: Module>(&self, model: M) -> M {
        match &self.average {
            Some(average) => average.apply(model),
            None => model,
        }
    }
}

/// `model` training its encoder's and decoder's layers in `precision` on `device`, with its
/// optimizers (each built by `make`) scaling the loss where the format needs it (f16): the setup
/// every trainer in `precision` makes. An error names `precision` when the device does not
/// compute in the format ([`Precision::check`]) or the model cannot train in it
/// ([`Autoencoder::with_precision`]).
pub fn in_precision(
    model: Autoencoder,
    precision: Precision,
    device: &burn::tensor::Device,
    make: impl Fn() -> ModuleOptimizer,
) -> Result<(Autoencoder, Optimizers), ConfigError> {
    precision.check(device)?;
    let model = model.with_precision(precision)?;
    let mut optims = Optimizers::new(&model, make);
    if precision.needs_loss_scale() {
        optims = optims.with_loss_scale(LossScale::default());
    }
    Ok((model, optims))
}

/// The autoencoder update on a batch of clean inputs (on an autodiff device): the new model and
/// the forward pass it was computed from.
pub fn autoencoder_step<M: Trainable>(
    model: M,
    optim: &mut ModuleOptimizer,
    clean: Tensor<2>,
    schedule: Schedule,
    learning_rate: f64,
) -> (M, ForwardOutput) {
    let (model, out, _) = replicated_autoencoder_step(model, optim, None, None, clean, schedule, learning_rate);
    (model, out)
}

/// [`autoencoder_step`] with the gradients (and the loss terms reported) combined over
/// `replicas` first, when given, and the loss scaled by `loss_scale`, when given (a step whose
/// gradients overflow leaves the model as it was); also whether the step was taken.
fn replicated_autoencoder_step<M: Trainable>(
    model: M,
    optim: &mut ModuleOptimizer,
    replicas: Option<&mut Replicas>,
    loss_scale: Option<&mut LossScale>,
    clean: Tensor<2>,
    schedule: Schedule,
    learning_rate: f64,
) -> (M, ForwardOutput, bool) {
    let items = clean.dims()[0];
    let input = model.corrupt(clean.clone());
    let mut out = model.forward_at(input, Some(clean), schedule);
    let objective = match &loss_scale {
        Some(s) => out.loss.clone().mul_scalar(s.scale()),
        None => out.loss.clone(),
    };
    let mut grads = GradientsParams::from_grads(objective.backward(), &model);
    if let Some(r) = replicas {
        let mut losses: Vec<&mut Tensor<1>> =
            std::iter::once(&mut out.loss).chain(out.terms.iter_mut().map(|t| &mut t.value)).collect();
        r.average(&model, &mut grads, items, &mut losses);
    }
    if let Some(s) = loss_scale
        && !s.unscale(&model, &mut grads)
    {
        return (model, out, false);
    }
    (optim.step(learning_rate, model, grads), out, true)
}

/// The discriminator update of an adversarial model on a batch of codes (held fixed); returns
/// the model unchanged and `None` for other models.
pub fn adversary_step<M: Trainable>(
    model: M,
    optim: &mut ModuleOptimizer,
    code: Tensor<2>,
    learning_rate: f64,
) -> (M, Option<Tensor<1>>) {
    replicated_adversary_step(model, optim, None, code, learning_rate)
}

/// [`adversary_step`] with the discriminator's gradients (and loss) combined over `replicas`
/// first, when given.
fn replicated_adversary_step<M: Trainable>(
    model: M,
    optim: &mut ModuleOptimizer,
    replicas: Option<&mut Replicas>,
    code: Tensor<2>,
    learning_rate: f64,
) -> (M, Option<Tensor<1>>) {
    let Some(adversary) = model.adversary() else {
        return (model, None);
    };
    let lr = adversary.learning_rate.unwrap_or(learning_rate);
    let items = code.dims()[0];
    let mut loss = adversary.discriminator_loss(code);
    let mut grads = GradientsParams::from_grads(loss.backward(), &model);
    if let Some(r) = replicas {
        r.average(&model, &mut grads, items, &mut [&mut loss]);
    }
    (optim.step(lr, model, grads), Some(loss.detach()))
}

/// A full training step: the autoencoder update, then (adversarial models) the discriminator
/// update, whose loss is appended to the output's terms as `discriminator` (reported, not part
/// of `loss`), then the update of the weights' running average when one is kept. A step skipped
/// by the loss scale (f16 gradients that overflowed) changes nothing else either: neither the
/// discriminator nor the average.
///
/// # Examples
///
/// A loop of your own over an adversarial autoencoder (see [`crate::train`] for a ready one):
///
/// ```
/// use ae_models::AutoencoderConfig;
/// use ae_models::bottleneck::{BottleneckConfig, Prior};
/// use ae_models::network::DenseConfig;
/// use ae_models::schedule::Schedule;
/// use ae_models::step::{Optimizers, train_step};
/// use burn::optim::AdamConfig;
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex().autodiff();
/// let config = AutoencoderConfig::dense(DenseConfig::new(vec![32], 2))
///     .with_bottleneck(BottleneckConfig::adversarial(Prior::Normal));
/// let mut model = config.init(12, &device).unwrap();
/// let mut optims = Optimizers::new(&model, || AdamConfig::new().init()); // two: model and discriminator
/// for step in 0..3 {
///     let x = Tensor::<2>::random([16, 12], Distribution::Default, &device);
///     let out;
///     (model, out) = train_step(model, &mut optims, x, Schedule::at(step, 3), 1e-3);
///     let names: Vec<&str> = out.terms.iter().map(|t| t.name).collect();
///     assert_eq!(names, ["reconstruction", "adversarial", "discriminator"]);
/// }
/// ```
pub fn train_step<M: Trainable>(
    model: M,
    optims: &mut Optimizers,
    clean: Tensor<2>,
    schedule: Schedule,
    learning_rate: f64,
) -> (M, ForwardOutput) {
    let (mut model, mut out, stepped) = replicated_autoencoder_step(
        model,
        &mut optims.model,
        optims.replicas.as_mut(),
        optims.loss_scale.as_mut(),
        clean,
        schedule,
        learning_rate,
    );
    if !stepped {
        return (model, out);
    }
    if let Some(optim) = optims.adversary.as_mut() {
        let d_loss;
        (model, d_loss) =
            replicated_adversary_step(model, optim, optims.replicas.as_mut(), out.code.clone(), learning_rate);
        if let Some(d) = d_loss {
            out.terms.push(LossTerm::new("discriminator", d));
        }
    }
    if let Some(average) = optims.average.as_mut() {
        average.update(&model);
    }
    (model, out)
}

//! The composed model: network + bottleneck + penalty + corruption + loss.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::activation::Activation;
use crate::bottleneck::{Bottleneck, BottleneckConfig};
use crate::corruption::CorruptionConfig;
use crate::loss::ReconstructionLoss;
use crate::network::{ConvConfig, Decoder, DenseConfig, Encoder, NetworkConfig, SequenceConfig};
use crate::penalty::PenaltyConfig;
use crate::schedule::Schedule;

/// Most weights a model may have (2^30, 4 GiB of `f32`): larger configs are refused by
/// validation instead of exhausting memory.
pub const MAX_WEIGHTS: u128 = 1 << 30;

/// Most values one item may occupy in a layer's output (2^26).
pub const MAX_VALUES_PER_ITEM: u128 = 1 << 26;

/// Everything that defines an autoencoder, one field per axis.
///
/// Start from a network ([`AutoencoderConfig::dense`], [`conv`](AutoencoderConfig::conv),
/// [`sequence`](AutoencoderConfig::sequence)) and set the other axes with the `with_*` methods;
/// the same value deserialises from the `[model]` table of an `ae-train` config.
///
/// # Examples
///
/// ```
/// use ae_models::AutoencoderConfig;
/// use ae_models::bottleneck::BottleneckConfig;
/// use ae_models::corruption::CorruptionConfig;
/// use ae_models::network::{ConvConfig, DenseConfig, SequenceConfig};
/// use ae_models::penalty::PenaltyConfig;
/// use burn::tensor::Device;
///
/// let device = Device::flex();
/// // A denoising, k-sparse dense autoencoder for 64 features.
/// let sparse = AutoencoderConfig::dense(DenseConfig::new(vec![128], 32))
///     .with_bottleneck(BottleneckConfig::top_k(5))
///     .with_corruption(CorruptionConfig::Masking { p: 0.25 })
///     .with_penalty(PenaltyConfig { l1: 1e-4, ..Default::default() });
/// assert!(sparse.init(64, &device).is_ok());
/// // A convolutional autoencoder for 1x28x28 images with a 10-wide dense code.
/// let conv = AutoencoderConfig::conv(ConvConfig { code: Some(10), ..ConvConfig::new(vec![16, 32]) });
/// assert!(conv.init_for_shape(&[1, 28, 28], &device).is_ok());
/// // An LSTM autoencoder for series of 140 steps.
/// let lstm = AutoencoderConfig::sequence(SequenceConfig::new(32, 8));
/// assert!(lstm.init_for_shape(&[1, 140], &device).is_ok());
/// // Invalid settings are refused with the key at fault.
/// let bad = AutoencoderConfig::dense(DenseConfig::new(vec![128], 4)).with_bottleneck(BottleneckConfig::top_k(9));
/// assert_eq!(bad.init(64, &device).unwrap_err().key, "bottleneck.k");
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoencoderConfig {
    /// Encoder and decoder.
    pub network: NetworkConfig,
    /// What the code is.
    #[serde(default)]
    pub bottleneck: BottleneckConfig,
    /// Regularisers added to the loss.
    #[serde(default)]
    pub penalty: PenaltyConfig,
    /// Noise on training inputs.
    #[serde(default)]
    pub corruption: CorruptionConfig,
    /// Reconstruction loss.
    #[serde(default)]
    pub loss: ReconstructionLoss,
}

impl AutoencoderConfig {
    /// An autoencoder with this network, a deterministic code, no penalty, no corruption and
    /// MSE loss; the `with_*` methods change the other axes.
    pub fn new(network: NetworkConfig) -> Self {
        Self {
            network,
            bottleneck: BottleneckConfig::default(),
            penalty: PenaltyConfig::default(),
            corruption: CorruptionConfig::default(),
            loss: ReconstructionLoss::default(),
        }
    }

    /// A plain dense autoencoder with MSE loss.
    pub fn dense(network: DenseConfig) -> Self {
        Self::new(NetworkConfig::Dense(network))
    }

    /// A plain convolutional autoencoder with MSE loss (for items `[channels, height, width]`,
    /// built with [`AutoencoderConfig::init_for_shape`]).
    pub fn conv(network: ConvConfig) -> Self {
        Self::new(NetworkConfig::Conv(network))
    }

    /// A plain sequence autoencoder with MSE loss (for series `[channels, length]`).
    pub fn sequence(network: SequenceConfig) -> Self {
        Self::new(NetworkConfig::Sequence(network))
    }

    /// This config with another bottleneck.
    pub fn with_bottleneck(self, bottleneck: BottleneckConfig) -> Self {
        Self { bottleneck, ..self }
    }

    /// This config with other penalties.
    pub fn with_penalty(self, penalty: PenaltyConfig) -> Self {
        Self { penalty, ..self }
    }

    /// This config with another training corruption.
    pub fn with_corruption(self, corruption: CorruptionConfig) -> Self {
        Self { corruption, ..self }
    }

    /// This config with another reconstruction loss.
    pub fn with_loss(self, loss: ReconstructionLoss) -> Self {
        Self { loss, ..self }
    }

    /// Checks every axis for flat inputs of `input` features; the error names the key, e.g.
    /// `network.code`.
    pub fn validate(&self, input: usize) -> Result<(), ConfigError> {
        self.validate_for_shape(&[input])
    }

    /// Checks every axis for items of `shape` (`[features]`, or `[channels, height, width]` for
    /// images).
    pub fn validate_for_shape(&self, shape: &[usize]) -> Result<(), ConfigError> {
        if shape.iter().product::<usize>() == 0 {
            return Err(ConfigError::new(
                "network",
                format!("the data's items have shape {shape:?}: nothing to encode"),
            ));
        }
        self.network.validate(shape).map_err(|e| e.within("network"))?;
        let code = self.network.code_size(shape).map_err(|e| e.within("network"))?;
        self.validate_size(shape, code)?;
        self.bottleneck.validate(code).map_err(|e| e.within("bottleneck"))?;
        self.penalty.validate().map_err(|e| e.within("penalty"))?;
        self.corruption.validate().map_err(|e| e.within("corruption"))?;
        self.loss.validate(self.output_activation())?;
        let deterministic = matches!(self.bottleneck, BottleneckConfig::Deterministic);
        let identity = matches!(self.bottleneck, BottleneckConfig::Identity);
        if identity == self.network.has_code_layer() {
            return Err(ConfigError::new(
                "bottleneck.kind",
                if identity {
                    "the identity bottleneck keeps the encoder's output as the code: it needs a convolutional network without network.code"
                } else {
                    "this network has no code layer (no network.code): use bottleneck kind \"identity\", or set network.code"
                },
            ));
        }
        let code_activation = self.network.code_activation();
        if self.penalty.kl_sparsity.is_some() && (code_activation.range() != (Some(0.0), Some(1.0)) || !deterministic) {
            return Err(ConfigError::new(
                "penalty.kl_sparsity",
                format!(
                    "KL sparsity compares mean activations with rho in (0, 1): it needs a deterministic code with code_activation = \"sigmoid\" (it is \"{}\")",
                    code_activation.name()
                ),
            ));
        }
        if self.penalty.contractive > 0.0 && !(deterministic && matches!(self.network, NetworkConfig::Dense(_))) {
            return Err(ConfigError::new(
                "penalty.contractive",
                "the contractive penalty needs a dense network with a deterministic bottleneck",
            ));
        }
        if self.penalty.contractive > 0.0
            && let NetworkConfig::Dense(d) = &self.network
            && (d.batch_norm || d.dropout.any())
        {
            return Err(ConfigError::new(
                "penalty.contractive",
                "the contractive penalty's Jacobian is built for linear maps and activations: turn off network.batch_norm and network.dropout",
            ));
        }
        let tied = matches!(&self.network, NetworkConfig::Dense(d) if d.tied);
        let single_layer_code = matches!(
            self.bottleneck,
            BottleneckConfig::Deterministic
                | BottleneckConfig::TopK { .. }
                | BottleneckConfig::Binary { .. }
                | BottleneckConfig::Adversarial { .. }
        );
        if tied && !single_layer_code {
            return Err(ConfigError::new(
                "network.tied",
                "tied weights mirror a single code layer: use a deterministic, top_k or binary bottleneck",
            ));
        }
        if !deterministic && code_activation != Activation::Linear {
            return Err(ConfigError::new(
                "network.code_activation",
                format!(
                    "only a deterministic code takes a code activation: this bottleneck defines its own code (got \"{}\"; use \"linear\")",
                    code_activation.name()
                ),
            ));
        }
        Ok(())
    }

    /// Refuses a model too big to build (it would exhaust memory, or overflow sizes, when
    /// allocated): more than [`MAX_WEIGHTS`] weights or [`MAX_VALUES_PER_ITEM`] values in a layer's
    /// output per item.
    fn validate_size(&self, shape: &[usize], code: usize) -> Result<(), ConfigError> {
        let (network, values) = self.network.size_estimate(shape);
        let features = self.network.features(shape).unwrap_or(usize::MAX) as u128;
        // A code layer maps the features to the code (twice for a Gaussian's two heads); the
        // identity bottleneck has no weights.
        let mut bottleneck = match self.bottleneck {
            BottleneckConfig::Identity => 0,
            _ => features.saturating_mul(code as u128).saturating_mul(2),
        };
        if let BottleneckConfig::Adversarial { discriminator, .. } = &self.bottleneck {
            let widths: Vec<u128> =
                std::iter::once(code).chain(discriminator.iter().copied()).chain([1]).map(|w| w as u128).collect();
            for p in widths.windows(2) {
                bottleneck = bottleneck.saturating_add(p[0].saturating_mul(p[1]));
            }
        }
        let weights = network.saturating_add(bottleneck);
        if weights > MAX_WEIGHTS {
            return Err(ConfigError::new(
                "network",
                format!(
                    "about {weights} weights for items of shape {shape:?}: more than the {MAX_WEIGHTS} this program builds; use narrower layers"
                ),
            ));
        }
        if values > MAX_VALUES_PER_ITEM {
            return Err(ConfigError::new(
                "network",
                format!(
                    "a layer outputs about {values} values per item of shape {shape:?}: more than {MAX_VALUES_PER_ITEM}; use fewer channels or units, or more stride"
                ),
            ));
        }
        Ok(())
    }

    /// The activation of the reconstruction.
    pub fn output_activation(&self) -> Activation {
        self.network.output_activation()
    }

    /// Validates, then builds the model for flat inputs of `input` features on `device`.
    ///
    /// For training, pass an autodiff device (`device.autodiff()`).
    pub fn init(&self, input: usize, device: &Device) -> Result<Autoencoder, ConfigError> {
        self.init_for_shape(&[input], device)
    }

    /// Validates, then builds the model for items of `shape` on `device`.
    pub fn init_for_shape(&self, shape: &[usize], device: &Device) -> Result<Autoencoder, ConfigError> {
        self.validate_for_shape(shape)?;
        let (encoder, decoder) = self.network.init(shape, device);
        let code = self.network.code_size(shape)?;
        let bottleneck = self.bottleneck.init(encoder.features(), code, self.network.code_activation(), device);
        Ok(Autoencoder {
            encoder,
            bottleneck,
            decoder,
            output_activation: self.output_activation(),
            penalty: self.penalty.clone(),
            corruption: self.corruption.clone(),
            loss: self.loss.clone(),
            input: shape.iter().product(),
        })
    }
}

/// One named, weighted part of the training objective.
#[derive(Debug, Clone)]
pub struct LossTerm {
    /// Name as reported in metrics (`reconstruction`, `l1`, `kl`...).
    pub name: &'static str,
    /// Its value, already weighted, as a `[1]` tensor.
    pub value: Tensor<1>,
}

impl LossTerm {
    /// A new term.
    pub fn new(name: &'static str, value: Tensor<1>) -> Self {
        Self { name, value }
    }
}

/// Everything a forward pass produces.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// The reconstruction, `[batch, input]`, after the output activation.
    pub reconstruction: Tensor<2>,
    /// The decoder's pre-activation output.
    pub logits: Tensor<2>,
    /// The code handed to the decoder, `[batch, code]`.
    pub code: Tensor<2>,
    /// Every term of the objective; `terms[0]` is the reconstruction loss.
    pub terms: Vec<LossTerm>,
    /// The sum of the terms: what training minimises.
    pub loss: Tensor<1>,
}

impl ForwardOutput {
    /// Assembles a forward pass from its parts; `loss` is the sum of `terms` (the reconstruction
    /// term first, by convention). For models of your own (see
    /// [`Trainable`](crate::step::Trainable)).
    pub fn from_terms(reconstruction: Tensor<2>, logits: Tensor<2>, code: Tensor<2>, terms: Vec<LossTerm>) -> Self {
        let loss = match terms.split_first() {
            Some((first, rest)) => rest.iter().fold(first.value.clone(), |acc, t| acc + t.value.clone()),
            None => Tensor::zeros([1], &reconstruction.device()),
        };
        Self { reconstruction, logits, code, terms, loss }
    }

    /// The value of the term called `name`, read back to the host (`None` if there is none).
    pub fn term(&self, name: &str) -> Option<f64> {
        self.terms.iter().find(|t| t.name == name).map(|t| t.value.clone().into_scalar::<f32>() as f64)
    }
}

/// An autoencoder built from an [`AutoencoderConfig`].
///
/// # Examples
///
/// Codes and reconstructions (on a plain device: no gradients are recorded).
///
/// ```
/// use ae_models::AutoencoderConfig;
/// use ae_models::network::DenseConfig;
/// use burn::tensor::{Device, Distribution, Tensor};
///
/// let device = Device::flex();
/// let model = AutoencoderConfig::dense(DenseConfig::new(vec![32], 2)).init(10, &device).unwrap();
/// let x = Tensor::<2>::random([5, 10], Distribution::Default, &device);
/// let code = model.encode(x.clone());
/// assert_eq!(code.dims(), [5, 2]);
/// let reconstruction = model.decode(code);
/// assert_eq!(reconstruction.dims(), [5, 10]);
/// // Per-item reconstruction error (an anomaly score), and the batch objective by term.
/// assert_eq!(model.per_sample_loss(x.clone()).dims(), [5]);
/// let out = model.forward(x, None);
/// assert_eq!(out.terms[0].name, "reconstruction");
/// assert!(model.generate(3, &device).is_none()); // a plain autoencoder has no prior
/// ```
#[derive(Module, Debug)]
pub struct Autoencoder {
    /// Input to features.
    pub encoder: Encoder,
    /// Features to code.
    pub bottleneck: Bottleneck,
    /// Code to reconstruction logits.
    pub decoder: Decoder,
    /// Activation of the reconstruction.
    #[module(skip)]
    pub output_activation: Activation,
    /// Penalties added to the loss.
    #[module(skip)]
    pub penalty: PenaltyConfig,
    /// Noise applied by [`Autoencoder::corrupt`].
    #[module(skip)]
    pub corruption: CorruptionConfig,
    /// Reconstruction loss.
    #[module(skip)]
    pub loss: ReconstructionLoss,
    /// Number of input features.
    #[module(skip)]
    pub input: usize,
}

impl Autoencoder {
    /// The code representing each input, `[batch, input] -> [batch, code]` (deterministic).
    pub fn encode(&self, x: Tensor<2>) -> Tensor<2> {
        self.bottleneck.encode(self.encoder.forward(x))
    }

    /// The reconstruction of each code, `[batch, code] -> [batch, input]`.
    pub fn decode(&self, code: Tensor<2>) -> Tensor<2> {
        self.output_activation.apply(self.decode_logits(code))
    }

    /// The decoder's pre-activation output for each code (tied weights resolved).
    pub fn decode_logits(&self, code: Tensor<2>) -> Tensor<2> {
        match &self.decoder {
            Decoder::Dense(d) if d.is_tied() => d.forward_tied(code, &self.tied_weights()),
            d => d.forward(code),
        }
    }

    /// The weights a tied decoder uses, code side first: the code layer's, then the encoder's
    /// layers from the last to the first.
    fn tied_weights(&self) -> Vec<Tensor<2>> {
        let code_layer = match &self.bottleneck {
            Bottleneck::Deterministic(b) => Some(b.linear.weight.val()),
            Bottleneck::TopK(b) => Some(b.linear.weight.val()),
            Bottleneck::Binary(b) => Some(b.linear.weight.val()),
            Bottleneck::Adversarial(b) => Some(b.linear.weight.val()),
            Bottleneck::Gaussian(_) | Bottleneck::Identity(_) => None,
        };
        let encoder: Vec<Tensor<2>> = match &self.encoder {
            Encoder::Dense(e) => e.layers.iter().rev().map(|l| l.weight.val()).collect(),
            Encoder::Conv(_) | Encoder::Sequence(_) => Vec::new(),
        };
        code_layer.into_iter().chain(encoder).collect()
    }

    /// Decodes `n` codes drawn from the prior: the adversarial bottleneck's own prior, else
    /// N(0, I) (the VAE's). Meaningful for generative models: `[n, input]`.
    pub fn sample_prior(&self, n: usize, device: &Device) -> Tensor<2> {
        let code = match self.bottleneck.adversary() {
            Some(a) => a.sample_prior(n, device),
            None => {
                Tensor::random([n, self.bottleneck.code_width()], burn::tensor::Distribution::Normal(0.0, 1.0), device)
            }
        };
        self.decode(code)
    }

    /// `n` new items decoded from codes drawn from the prior, `[n, input]`, for a generative
    /// model (a VAE or an AAE); `None` for the others, whose codes have no prior.
    pub fn generate(&self, n: usize, device: &Device) -> Option<Tensor<2>> {
        self.is_generative().then(|| self.sample_prior(n, device))
    }

    /// Whether this model's prior is meaningful to sample from (a VAE or an AAE).
    pub fn is_generative(&self) -> bool {
        matches!(self.bottleneck, Bottleneck::Gaussian(_) | Bottleneck::Adversarial(_))
    }

    /// Applies the configured training corruption to a batch (identity when there is none).
    pub fn corrupt(&self, x: Tensor<2>) -> Tensor<2> {
        self.corruption.apply(x)
    }

    /// Full pass on `input` with every loss term, measured against `target` (the clean input;
    /// `None` means `input` itself), with every schedule at its final value.
    pub fn forward(&self, input: Tensor<2>, target: Option<Tensor<2>>) -> ForwardOutput {
        self.forward_at(input, target, Schedule::END)
    }

    /// [`Autoencoder::forward`] at a point of training (what the training loop calls).
    pub fn forward_at(&self, input: Tensor<2>, target: Option<Tensor<2>>, schedule: Schedule) -> ForwardOutput {
        let target = target.unwrap_or_else(|| input.clone());
        let contract_at = input.clone();
        let features = self.encoder.forward(input);
        let code_out = self.bottleneck.forward(features, schedule);
        let logits = self.decode_logits(code_out.code.clone());
        let reconstruction = self.output_activation.apply(logits.clone());
        let mut terms =
            vec![LossTerm::new("reconstruction", self.loss.mean(logits.clone(), reconstruction.clone(), target))];
        terms.extend(code_out.terms);
        terms.extend(self.penalty.code_terms(&code_out.code));
        if self.penalty.contractive > 0.0
            && let Some(norms) = crate::jacobian::encoder_jacobian_norm_squared(self, contract_at.clone())
        {
            let c = norms.mean().mul_scalar(self.penalty.contractive);
            terms.push(LossTerm::new("contractive", c));
        }
        ForwardOutput::from_terms(reconstruction, logits, code_out.code, terms)
    }

    /// Reconstruction loss of each item (no corruption, no penalties): `[batch]`.
    pub fn per_sample_loss(&self, x: Tensor<2>) -> Tensor<1> {
        let logits = self.decode_logits(self.encode(x.clone()));
        let reconstruction = self.output_activation.apply(logits.clone());
        self.loss.per_sample(logits, reconstruction, x)
    }
}

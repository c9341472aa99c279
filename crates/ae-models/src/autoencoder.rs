//! The composed model: network + bottleneck + penalty + corruption + loss.

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::activation::Activation;
use crate::bottleneck::{Bottleneck, BottleneckConfig};
use crate::corruption::CorruptionConfig;
use crate::error::ConfigError;
use crate::loss::ReconstructionLoss;
use crate::network::{ConvConfig, Decoder, DenseConfig, Encoder, NetworkConfig, SequenceConfig};
use crate::objective::{ForwardOutput, LossTerm};
use crate::penalty::PenaltyConfig;
use crate::precision::Precision;
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
/// use ae_models::corruption::{CorruptionConfig, Masking};
/// use ae_models::network::{ConvConfig, DenseConfig, SequenceConfig};
/// use ae_models::penalty::PenaltyConfig;
/// use burn::tensor::Device;
///
/// let device = Device::flex();
/// // A denoising, k-sparse dense autoencoder for 64 features.
/// let sparse = AutoencoderConfig::dense(DenseConfig::new(vec![128], 32))
///     .with_bottleneck(BottleneckConfig::top_k(5))
///     .with_corruption(CorruptionConfig::Masking(Masking { p: 0.25 }))
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
        let bottleneck = self.bottleneck.settings();
        let identity = !bottleneck.has_code_layer();
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
        self.penalty.validate_model(&self.network, &self.bottleneck)?;
        let code_activation = self.network.code_activation();
        let tied = matches!(&self.network, NetworkConfig::Dense(d) if d.tied);
        if tied && !bottleneck.single_code_layer() {
            return Err(ConfigError::new(
                "network.tied",
                "tied weights mirror a single code layer: use a deterministic, top_k or binary bottleneck",
            ));
        }
        if !bottleneck.takes_code_activation() && code_activation != Activation::Linear {
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
        let features = self.network.features(shape).unwrap_or(usize::MAX);
        let bottleneck = self.bottleneck.settings().weights(features, code);
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
            precision: Precision::F32,
        })
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
    /// Format of the encoder's and decoder's layers in [`Autoencoder::forward_at`] (training);
    /// f32 unless set with [`Autoencoder::with_precision`].
    #[module(skip)]
    pub precision: Precision,
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
        self.decode_logits_in(Precision::F32, code)
    }

    /// [`Autoencoder::decode_logits`] with the decoder's layers in `precision`.
    fn decode_logits_in(&self, precision: Precision, code: Tensor<2>) -> Tensor<2> {
        match &self.decoder {
            Decoder::Dense(d) if d.is_tied() => {
                let weights: Vec<_> = self.tied_weights().into_iter().map(|w| precision.cast(w)).collect();
                precision.run(d, code, |d, code| d.forward_tied(code, &weights))
            }
            d => precision.run(d, code, |d, code| d.forward(code)),
        }
    }

    /// The same model training its encoder's and decoder's layers in `precision` (f32 master
    /// weights; see [`crate::precision`]). Evaluation stays f32. f16 and bf16 need a dense or
    /// convolutional network without batch norm (an LSTM's states and batch norm's running
    /// statistics are f32 tensors the layers would mix with half ones); an error names
    /// `precision` otherwise.
    pub fn with_precision(mut self, precision: Precision) -> Result<Self, ConfigError> {
        if precision != Precision::F32 {
            let why = if matches!(self.encoder, Encoder::Sequence(_)) {
                Some("an LSTM network")
            } else if crate::precision::has_batch_norm(&self) {
                Some("batch norm (its running statistics stay f32)")
            } else {
                None
            };
            if let Some(why) = why {
                return Err(ConfigError::new(
                    "precision",
                    format!("{} layers are not available with {why}; use \"f32\"", precision.name()),
                ));
            }
        }
        self.precision = precision;
        Ok(self)
    }

    /// The weights a tied decoder uses, code side first: the code layer's, then the encoder's
    /// layers from the last to the first.
    fn tied_weights(&self) -> Vec<Tensor<2>> {
        let code_layer = self.bottleneck.layer().code_layer();
        code_layer.into_iter().chain(self.encoder.mirrored_weights()).collect()
    }

    /// Decodes `n` codes drawn from the prior: the adversarial bottleneck's own prior, else
    /// N(0, I) (the VAE's). Meaningful for generative models: `[n, input]`.
    pub fn sample_prior(&self, n: usize, device: &Device) -> Tensor<2> {
        self.decode(self.bottleneck.layer().sample_prior(n, device))
    }

    /// `n` new items decoded from codes drawn from the prior, `[n, input]`, for a generative
    /// model (a VAE or an AAE); `None` for the others, whose codes have no prior.
    pub fn generate(&self, n: usize, device: &Device) -> Option<Tensor<2>> {
        self.is_generative().then(|| self.sample_prior(n, device))
    }

    /// Whether this model's prior is meaningful to sample from (a VAE or an AAE).
    pub fn is_generative(&self) -> bool {
        self.bottleneck.layer().is_generative()
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
        let features = self.precision.run(&self.encoder, input, |e, x| e.forward(x));
        let code_out = self.bottleneck.forward(features, schedule);
        let logits = self.decode_logits_in(self.precision, code_out.code.clone());
        let reconstruction = self.output_activation.apply(logits.clone());
        let mut terms =
            vec![LossTerm::new("reconstruction", self.loss.mean(logits.clone(), reconstruction.clone(), target))];
        terms.extend(code_out.terms);
        terms.extend(self.penalty.terms(&code_out.code, &self.encoder, &self.bottleneck, contract_at));
        ForwardOutput::from_terms(reconstruction, logits, code_out.code, terms)
    }

    /// The Jacobian of the code with respect to the input, `[batch, code, input]`, for a dense
    /// encoder with a deterministic code (`None` for other models); see [`crate::penalty::contractive`].
    pub fn encoder_jacobian(&self, x: Tensor<2>) -> Option<Tensor<3>> {
        crate::penalty::contractive::encoder_jacobian(&self.encoder, &self.bottleneck, x)
    }

    /// `||J||_F^2` of each item, `[batch]`, without forming the Jacobian (what the contractive
    /// penalty uses); `None` where [`Autoencoder::encoder_jacobian`] is.
    pub fn encoder_jacobian_norm_squared(&self, x: Tensor<2>) -> Option<Tensor<1>> {
        crate::penalty::contractive::encoder_jacobian_norm_squared(&self.encoder, &self.bottleneck, x)
    }

    /// Reconstruction loss of each item (no corruption, no penalties): `[batch]`.
    pub fn per_sample_loss(&self, x: Tensor<2>) -> Tensor<1> {
        let logits = self.decode_logits(self.encode(x.clone()));
        let reconstruction = self.output_activation.apply(logits.clone());
        self.loss.per_sample(logits, reconstruction, x)
    }
}

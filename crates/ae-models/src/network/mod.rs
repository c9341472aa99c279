//! The network axis: which encoder and decoder carry the data to and from the code.
//!
//! Every network takes and returns flat batches `[batch, features]`; a network that needs another
//! shape (images, series) reshapes inside, so the rest of the model never depends on it. The
//! encoder ends at its last hidden layer (or feature map): turning its features into the code is
//! the [bottleneck](crate::bottleneck)'s job, so any network combines with any bottleneck.
//!
//! Each network lives in one file: its settings implement [`NetworkSettings`]; adding one is its
//! file, a line in each of the three enums and their `match`es here.

pub mod conv;
pub mod dense;
pub mod sequence;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use conv::{ConvConfig, ConvDecoder, ConvEncoder, Upsampling};
pub use dense::{DenseConfig, DenseDecoder, DenseEncoder, DropoutRates};
pub use sequence::{SequenceConfig, SequenceDecoder, SequenceEncoder};

use crate::activation::Activation;
use crate::error::ConfigError;

/// Which network to build, with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NetworkConfig {
    /// A multilayer perceptron with a mirrored decoder.
    Dense(DenseConfig),
    /// Convolutions with a mirrored transposed-convolution or upsampling decoder.
    Conv(ConvConfig),
    /// LSTMs over series: the final hidden state encodes, the repeated code decodes.
    Sequence(SequenceConfig),
}

/// What the settings of every network answer, for items of `shape` (`[features]`,
/// `[channels, height, width]` or `[channels, length]`).
pub trait NetworkSettings {
    /// Checks the settings for items of `shape`; keys relative to `network`.
    fn validate_shape(&self, shape: &[usize]) -> Result<(), ConfigError>;

    /// Builds the encoder and decoder.
    fn build(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder);

    /// Width of the encoder's output (what the bottleneck receives).
    fn features(&self, shape: &[usize]) -> Result<usize, ConfigError>;

    /// Width of the code: the configured code, or the encoder's output when the network has no
    /// code layer of its own.
    fn code_size(&self, shape: &[usize]) -> Result<usize, ConfigError>;

    /// Rough size (already validated): weights, and values per item in its widest layer output;
    /// saturating, so that absurd widths are refused before anything is allocated.
    fn size_estimate(&self, shape: &[usize]) -> (u128, u128);

    /// Whether the network defines a code width of its own (false: the code is the encoder's
    /// output).
    fn has_code_layer(&self) -> bool {
        true
    }

    /// Activation of the hidden layers.
    fn activation(&self) -> Activation;

    /// Activation of the code layer.
    fn code_activation(&self) -> Activation;

    /// Activation of the reconstruction.
    fn output_activation(&self) -> Activation;

    /// A one-line description for items of `shape`, e.g. `784-400-20 dense` or
    /// `1x28x28 conv [16, 32] -> code 16`.
    fn describe(&self, shape: &[usize]) -> String;
}

/// `shape` written as `1x28x28`.
pub(crate) fn dims(shape: &[usize]) -> String {
    shape.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("x")
}

/// The code width as described: the number, or nothing when it cannot be computed.
pub(crate) fn code_text(settings: &dyn NetworkSettings, shape: &[usize]) -> String {
    settings.code_size(shape).map(|c| c.to_string()).unwrap_or_default()
}

/// `sum` of `a * b + b` (a layer's weights and biases) over consecutive widths, saturating.
pub(crate) fn dense_weights(widths: &[u128]) -> u128 {
    widths.windows(2).fold(0u128, |a, p| a.saturating_add(p[0].saturating_mul(p[1]).saturating_add(p[1])))
}

impl NetworkConfig {
    /// The settings of whichever network this is.
    pub fn settings(&self) -> &dyn NetworkSettings {
        match self {
            NetworkConfig::Dense(n) => n,
            NetworkConfig::Conv(n) => n,
            NetworkConfig::Sequence(n) => n,
        }
    }

    /// The dense settings. Panics for another network (for code that built a dense one).
    pub fn dense(&self) -> &DenseConfig {
        match self {
            NetworkConfig::Dense(d) => d,
            _ => panic!("not a dense network"),
        }
    }

    /// Mutable access to the dense settings. Panics for another network.
    pub fn dense_mut(&mut self) -> &mut DenseConfig {
        match self {
            NetworkConfig::Dense(d) => d,
            _ => panic!("not a dense network"),
        }
    }

    /// Width of the encoder's output for items of `shape` (what the bottleneck receives).
    pub fn features(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        self.settings().features(shape)
    }

    /// Width of the code for items of `shape`: the configured code, or (a convolutional network
    /// without one) the flattened last feature map.
    pub fn code_size(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        self.settings().code_size(shape)
    }

    /// Rough size of the network for items of `shape` (already validated): weights, and values
    /// per item in its widest layer output.
    pub fn size_estimate(&self, shape: &[usize]) -> (u128, u128) {
        self.settings().size_estimate(shape)
    }

    /// Whether the network defines a code width of its own (false: the code is the encoder's output).
    pub fn has_code_layer(&self) -> bool {
        self.settings().has_code_layer()
    }

    /// Activation of the hidden layers.
    pub fn activation(&self) -> Activation {
        self.settings().activation()
    }

    /// Activation of the code layer.
    pub fn code_activation(&self) -> Activation {
        self.settings().code_activation()
    }

    /// Activation of the reconstruction.
    pub fn output_activation(&self) -> Activation {
        self.settings().output_activation()
    }

    /// Checks the settings for items of `shape`.
    pub fn validate(&self, shape: &[usize]) -> Result<(), ConfigError> {
        self.settings().validate_shape(shape)
    }

    /// A one-line description for items of `shape` (see [`NetworkSettings::describe`]).
    pub fn describe(&self, shape: &[usize]) -> String {
        self.settings().describe(shape)
    }

    /// Builds the encoder and decoder for items of `shape`.
    pub fn init(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder) {
        self.settings().build(shape, device)
    }
}

/// The encoder half of a network: input to features.
// Built once per model: the size of the largest variant (the LSTM's) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Encoder {
    /// Dense layers.
    Dense(DenseEncoder),
    /// Convolutions.
    Conv(ConvEncoder),
    /// An LSTM.
    Sequence(SequenceEncoder),
}

impl Encoder {
    /// Maps `[batch, input]` to `[batch, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Encoder::Dense(e) => e.forward(x),
            Encoder::Conv(e) => e.forward(x),
            Encoder::Sequence(e) => e.forward(x),
        }
    }

    /// The weights of its layers from the last to the first, what a tied decoder mirrors (dense
    /// encoders; empty for the others, which cannot be tied).
    pub fn mirrored_weights(&self) -> Vec<Tensor<2>> {
        match self {
            Encoder::Dense(e) => e.layers.iter().rev().map(|l| l.weight.val()).collect(),
            Encoder::Conv(_) | Encoder::Sequence(_) => Vec::new(),
        }
    }

    /// Width of the features handed to the bottleneck.
    pub fn features(&self) -> usize {
        match self {
            Encoder::Dense(e) => e.features(),
            Encoder::Conv(e) => e.features(),
            Encoder::Sequence(e) => e.features(),
        }
    }
}

/// The decoder half of a network: code to reconstruction logits (before the output activation).
// Built once per model: the size of the largest variant (the LSTM's) does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Decoder {
    /// Dense layers.
    Dense(DenseDecoder),
    /// Transposed convolutions or upsampling.
    Conv(ConvDecoder),
    /// An LSTM fed the code at every step.
    Sequence(SequenceDecoder),
}

impl Decoder {
    /// Maps `[batch, code]` to `[batch, input]` pre-activation outputs.
    pub fn forward(&self, code: Tensor<2>) -> Tensor<2> {
        match self {
            Decoder::Dense(d) => d.forward(code),
            Decoder::Conv(d) => d.forward(code),
            Decoder::Sequence(d) => d.forward(code),
        }
    }
}

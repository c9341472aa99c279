//! The network axis: which encoder and decoder carry the data to and from the code.
//!
//! Every network takes and returns flat batches `[batch, features]`; a network that needs another
//! shape (images, series) reshapes inside, so the rest of the model never depends on it. The
//! encoder ends at its last hidden layer (or feature map): turning its features into the code is
//! the [bottleneck](crate::bottleneck)'s job, so any network combines with any bottleneck.

pub mod conv;
pub mod dense;
pub mod sequence;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use conv::{ConvConfig, ConvDecoder, ConvEncoder, Upsampling};
pub use dense::{DenseConfig, DenseDecoder, DenseEncoder, DropoutRates};
pub use sequence::{SequenceConfig, SequenceDecoder, SequenceEncoder};

use crate::ConfigError;
use crate::activation::Activation;

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

impl NetworkConfig {
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
        match self {
            NetworkConfig::Dense(d) => Ok(d.hidden.last().copied().unwrap_or(shape.iter().product())),
            NetworkConfig::Conv(c) => c.features(shape),
            NetworkConfig::Sequence(s) => Ok(s.hidden),
        }
    }

    /// Width of the code for items of `shape`: the configured code, or (a convolutional network
    /// without one) the flattened last feature map.
    pub fn code_size(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        match self {
            NetworkConfig::Dense(d) => Ok(d.code),
            NetworkConfig::Conv(c) => match c.code {
                Some(code) => Ok(code),
                None => c.features(shape),
            },
            NetworkConfig::Sequence(s) => Ok(s.code),
        }
    }

    /// Rough size of the network for items of `shape` (already validated): weights, and values
    /// per item in its widest layer output; saturating, so that absurd widths are refused before
    /// anything is allocated.
    pub fn size_estimate(&self, shape: &[usize]) -> (u128, u128) {
        let w = |v: usize| v as u128;
        let sum = |it: &mut dyn Iterator<Item = u128>| it.fold(0u128, |a, b| a.saturating_add(b));
        match self {
            NetworkConfig::Dense(d) => {
                let mut widths = vec![w(shape.iter().product())];
                widths.extend(d.hidden.iter().map(|&h| w(h)));
                widths.push(w(d.code));
                let layers = sum(&mut widths.windows(2).map(|p| p[0].saturating_mul(p[1]).saturating_add(p[1])));
                (layers.saturating_mul(2), widths.iter().copied().max().unwrap_or(0))
            }
            NetworkConfig::Conv(c) => {
                let sizes = c.map_sizes(shape).unwrap_or_default();
                let mut ins = vec![w(shape[0])];
                ins.extend(c.channels.iter().map(|&ch| w(ch)));
                let taps = w(c.kernel)
                    .saturating_pow(2)
                    .saturating_add(w(c.decoder_kernel.unwrap_or(c.kernel)).saturating_pow(2));
                let convs = sum(&mut ins.windows(2).map(|p| p[0].saturating_mul(p[1]).saturating_mul(taps)));
                let features = w(c.features(shape).unwrap_or(usize::MAX));
                let code = c.code.map_or(0, |code| features.saturating_mul(w(code)).saturating_mul(2));
                let maps = sizes.iter().zip(&ins).map(|(s, &ch)| ch.saturating_mul(w(s[0])).saturating_mul(w(s[1])));
                (convs.saturating_add(code), maps.max().unwrap_or(0))
            }
            NetworkConfig::Sequence(s) => {
                let (h, code) = (w(s.hidden), w(s.code));
                let [channels, length] =
                    SequenceConfig::series_shape(shape).map(|[c, l]| [w(c), w(l)]).unwrap_or([0, 0]);
                let lstm = |input: u128| h.saturating_mul(4).saturating_mul(input.saturating_add(h).saturating_add(1));
                let weights = sum(&mut [
                    lstm(channels),
                    lstm(code),
                    code.saturating_mul(h).saturating_mul(2),
                    h.saturating_mul(channels),
                ]
                .into_iter());
                (weights, length.saturating_mul(h.max(channels)))
            }
        }
    }

    /// Whether the network defines a code width of its own (false: the code is the encoder's output).
    pub fn has_code_layer(&self) -> bool {
        match self {
            NetworkConfig::Dense(_) => true,
            NetworkConfig::Conv(c) => c.code.is_some(),
            NetworkConfig::Sequence(_) => true,
        }
    }

    /// Activation of the hidden layers.
    pub fn activation(&self) -> Activation {
        match self {
            NetworkConfig::Dense(d) => d.activation,
            NetworkConfig::Conv(c) => c.activation,
            NetworkConfig::Sequence(_) => Activation::Tanh,
        }
    }

    /// Activation of the code layer.
    pub fn code_activation(&self) -> Activation {
        match self {
            NetworkConfig::Dense(d) => d.code_activation,
            NetworkConfig::Conv(c) => c.code_activation,
            NetworkConfig::Sequence(s) => s.code_activation,
        }
    }

    /// Activation of the reconstruction.
    pub fn output_activation(&self) -> Activation {
        match self {
            NetworkConfig::Dense(d) => d.output_activation,
            NetworkConfig::Conv(c) => c.output_activation,
            NetworkConfig::Sequence(s) => s.output_activation,
        }
    }

    /// Checks the settings for items of `shape`.
    pub fn validate(&self, shape: &[usize]) -> Result<(), ConfigError> {
        match self {
            NetworkConfig::Dense(d) => d.validate(shape.iter().product()),
            NetworkConfig::Conv(c) => c.validate(shape),
            NetworkConfig::Sequence(s) => s.validate(shape),
        }
    }

    /// Builds the encoder and decoder for items of `shape`.
    pub fn init(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder) {
        match self {
            NetworkConfig::Dense(d) => {
                let (e, dec) = d.init(shape.iter().product(), device);
                (Encoder::Dense(e), Decoder::Dense(dec))
            }
            NetworkConfig::Conv(c) => {
                let (e, dec) = c.init(shape, device);
                (Encoder::Conv(e), Decoder::Conv(dec))
            }
            NetworkConfig::Sequence(s) => {
                let (e, dec) = s.init(shape, device);
                (Encoder::Sequence(e), Decoder::Sequence(dec))
            }
        }
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

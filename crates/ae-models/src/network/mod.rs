//! The network axis: which encoder and decoder carry the data to and from the code.
//!
//! Every network takes and returns flat batches `[batch, features]`; a network that needs another
//! shape (images, series) reshapes inside, so the rest of the model never depends on it. The
//! encoder ends at the last hidden layer: turning its features into the code is the
//! [bottleneck](crate::bottleneck)'s job, so any network combines with any bottleneck.

pub mod dense;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use dense::{DenseConfig, DenseDecoder, DenseEncoder};

use crate::ConfigError;

/// Which network to build, with its settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum NetworkConfig {
    /// A multilayer perceptron with a mirrored decoder.
    Dense(DenseConfig),
}

impl NetworkConfig {
    /// The dense settings (the only network so far).
    pub fn dense(&self) -> &DenseConfig {
        match self {
            NetworkConfig::Dense(d) => d,
        }
    }

    /// Mutable access to the dense settings.
    pub fn dense_mut(&mut self) -> &mut DenseConfig {
        match self {
            NetworkConfig::Dense(d) => d,
        }
    }

    /// Width of the code the bottleneck must produce.
    pub fn code_size(&self) -> usize {
        self.dense().code
    }

    /// Checks the settings for an input of `input` features.
    pub fn validate(&self, input: usize) -> Result<(), ConfigError> {
        match self {
            NetworkConfig::Dense(d) => d.validate(input),
        }
    }

    /// Builds the encoder and decoder for inputs of `input` features.
    pub fn init(&self, input: usize, device: &Device) -> (Encoder, Decoder) {
        match self {
            NetworkConfig::Dense(d) => {
                let (e, dec) = d.init(input, device);
                (Encoder::Dense(e), Decoder::Dense(dec))
            }
        }
    }
}

/// The encoder half of a network: input to features (the last hidden layer).
#[derive(Module, Debug)]
pub enum Encoder {
    /// Dense layers.
    Dense(DenseEncoder),
}

impl Encoder {
    /// Maps `[batch, input]` to `[batch, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Encoder::Dense(e) => e.forward(x),
        }
    }

    /// Width of the features handed to the bottleneck.
    pub fn features(&self) -> usize {
        match self {
            Encoder::Dense(e) => e.features(),
        }
    }
}

/// The decoder half of a network: code to reconstruction logits (before the output activation).
#[derive(Module, Debug)]
pub enum Decoder {
    /// Dense layers.
    Dense(DenseDecoder),
}

impl Decoder {
    /// Maps `[batch, code]` to `[batch, input]` pre-activation outputs.
    pub fn forward(&self, code: Tensor<2>) -> Tensor<2> {
        match self {
            Decoder::Dense(d) => d.forward(code),
        }
    }
}

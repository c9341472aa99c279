//! The bottleneck axis: what the code is and how it is made from the encoder's features.

pub mod deterministic;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use deterministic::DeterministicBottleneck;

use crate::activation::Activation;
use crate::{ConfigError, LossTerm};

/// Which bottleneck to build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BottleneckConfig {
    /// A plain code: one linear layer and the code activation.
    #[default]
    Deterministic,
}

impl BottleneckConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Builds the bottleneck from `features` encoder features to a `code`-wide code.
    pub fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck {
        match self {
            BottleneckConfig::Deterministic => {
                Bottleneck::Deterministic(DeterministicBottleneck::new(features, code, activation, device))
            }
        }
    }
}

/// What a bottleneck gives back for a batch.
#[derive(Debug, Clone)]
pub struct CodeOutput {
    /// The code handed to the decoder, `[batch, code]`.
    pub code: Tensor<2>,
    /// Loss terms the bottleneck adds (e.g. a KL divergence); empty for a plain code.
    pub terms: Vec<LossTerm>,
}

/// A built bottleneck.
#[derive(Module, Debug)]
pub enum Bottleneck {
    /// A plain code.
    Deterministic(DeterministicBottleneck),
}

impl Bottleneck {
    /// The code of `features` used in training (may be stochastic) with the bottleneck's loss terms.
    pub fn forward(&self, features: Tensor<2>) -> CodeOutput {
        match self {
            Bottleneck::Deterministic(b) => CodeOutput { code: b.forward(features), terms: Vec::new() },
        }
    }

    /// The code used to represent an input once trained (deterministic: a posterior mean, say).
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Bottleneck::Deterministic(b) => b.forward(features),
        }
    }
}

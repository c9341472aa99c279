//! The bottleneck axis: what the code is and how it is made from the encoder's features.

pub mod deterministic;
pub mod gaussian;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use deterministic::DeterministicBottleneck;
pub use gaussian::GaussianBottleneck;

use crate::activation::Activation;
use crate::{ConfigError, LossTerm};

/// Which bottleneck to build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BottleneckConfig {
    /// A plain code: one linear layer and the code activation.
    #[default]
    Deterministic,
    /// A variational code: Gaussian posterior, reparameterised samples, KL to N(0, I).
    Gaussian {
        /// Weight of the KL term (1: the ELBO; > 1: beta-VAE).
        #[serde(default = "one")]
        beta: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl BottleneckConfig {
    /// Checks the settings.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            BottleneckConfig::Deterministic => Ok(()),
            BottleneckConfig::Gaussian { beta } => {
                if !(beta.is_finite() && *beta >= 0.0) {
                    return Err(ConfigError::new("beta", format!("must be a finite number >= 0, got {beta}")));
                }
                Ok(())
            }
        }
    }

    /// Whether the code is a sample of a Gaussian posterior (a VAE).
    pub fn is_variational(&self) -> bool {
        matches!(self, BottleneckConfig::Gaussian { .. })
    }

    /// Builds the bottleneck from `features` encoder features to a `code`-wide code.
    pub fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck {
        match self {
            BottleneckConfig::Deterministic => {
                Bottleneck::Deterministic(DeterministicBottleneck::new(features, code, activation, device))
            }
            BottleneckConfig::Gaussian { beta } => Bottleneck::Gaussian(GaussianBottleneck::new(features, code, *beta, device)),
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
    /// A variational code.
    Gaussian(GaussianBottleneck),
}

impl Bottleneck {
    /// The code of `features` used in training (may be stochastic) with the bottleneck's loss terms.
    pub fn forward(&self, features: Tensor<2>) -> CodeOutput {
        match self {
            Bottleneck::Deterministic(b) => CodeOutput { code: b.forward(features), terms: Vec::new() },
            Bottleneck::Gaussian(b) => {
                let (code, kl) = b.sample(features);
                CodeOutput { code, terms: vec![LossTerm::new("kl", kl.mul_scalar(b.beta))] }
            }
        }
    }

    /// The code used to represent an input once trained (deterministic: a posterior mean, say).
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Bottleneck::Deterministic(b) => b.forward(features),
            Bottleneck::Gaussian(b) => b.encode(features),
        }
    }
}

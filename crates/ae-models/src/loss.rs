//! The reconstruction-loss axis: how far a reconstruction is from its target.
//!
//! Losses are means over every element of the batch, as PyTorch's `F.mse_loss` computes them,
//! so numbers compare one to one with reference runs. [`ReconstructionLoss::per_sample`] gives
//! the same quantity per item (anomaly scores, reports).

use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::activation::Activation;

/// Which reconstruction loss to use.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReconstructionLoss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Binary cross-entropy, computed from the logits for stability; needs a sigmoid output and
    /// targets in [0, 1].
    Bce,
    /// Mean absolute error.
    Mae,
}

impl ReconstructionLoss {
    /// The config name of the loss.
    pub fn name(&self) -> &'static str {
        match self {
            ReconstructionLoss::Mse => "mse",
            ReconstructionLoss::Bce => "bce",
            ReconstructionLoss::Mae => "mae",
        }
    }

    /// Checks that the loss can be used with this output activation.
    pub fn validate(&self, output: Activation) -> Result<(), ConfigError> {
        if *self == ReconstructionLoss::Bce && output != Activation::Sigmoid {
            return Err(ConfigError::new(
                "loss.kind",
                format!(
                    "bce needs a reconstruction in (0, 1): set network.output_activation = \"sigmoid\" (it is \"{}\")",
                    output.name()
                ),
            ));
        }
        Ok(())
    }

    /// Whether the loss needs targets in [0, 1].
    pub fn needs_unit_targets(&self) -> bool {
        matches!(self, ReconstructionLoss::Bce)
    }

    /// Elementwise loss `[batch, features]` from the decoder's logits, the reconstruction (logits
    /// after the output activation) and the target.
    pub fn elementwise(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        match self {
            ReconstructionLoss::Mse => (reconstruction - target).square(),
            ReconstructionLoss::Mae => (reconstruction - target).abs(),
            // max(z, 0) - z x + log(1 + exp(-|z|)) = -[x log s(z) + (1-x) log(1-s(z))]
            ReconstructionLoss::Bce => {
                activation::relu(logits.clone()) - logits.clone() * target + logits.abs().neg().exp().log1p()
            }
        }
    }

    /// Mean loss over every element: a `[1]` tensor.
    pub fn mean(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        self.elementwise(logits, reconstruction, target).mean()
    }

    /// Mean loss of each item: `[batch]`.
    pub fn per_sample(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        self.elementwise(logits, reconstruction, target).mean_dim(1).squeeze_dim(1)
    }
}

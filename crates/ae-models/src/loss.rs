//! The reconstruction-loss axis: how far a reconstruction is from its target.
//!
//! Two families:
//! - distances (`mse`, `bce`, `mae`): means over every element of the batch, as PyTorch's
//!   `F.mse_loss` computes them, so numbers compare one to one with reference runs;
//! - likelihoods (`bernoulli`, `gaussian`): negative log-likelihoods of the decoder's distribution,
//!   summed over an item's features and averaged over the batch, in nats per item (what a VAE's
//!   ELBO needs).
//!
//! [`ReconstructionLoss::per_sample`] gives the same quantity per item (anomaly scores, reports).

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
    /// Correntropy-induced loss (robust autoencoder, Qi et al. 2014):
    /// `mean(1 - exp(-(x - y)^2 / (2 sigma^2)))`, which grows like MSE for small errors and
    /// saturates at 1 for outliers.
    Correntropy {
        /// Kernel width, in the data's units.
        sigma: f64,
    },
    /// Bernoulli negative log-likelihood `-sum_i [x_i ln p_i + (1 - x_i) ln(1 - p_i)]` per item
    /// (nats); needs a sigmoid output and targets in [0, 1].
    Bernoulli,
    /// Gaussian negative log-likelihood with fixed standard deviation `sigma`:
    /// `sum_i [(x_i - mu_i)^2 / (2 sigma^2) + ln(sigma) + ln(2 pi) / 2]` per item (nats).
    Gaussian {
        /// Standard deviation of the decoder's Gaussian.
        #[serde(default = "one")]
        sigma: f64,
    },
}

fn one() -> f64 {
    1.0
}

impl ReconstructionLoss {
    /// The config name of the loss.
    pub fn name(&self) -> &'static str {
        match self {
            ReconstructionLoss::Mse => "mse",
            ReconstructionLoss::Bce => "bce",
            ReconstructionLoss::Mae => "mae",
            ReconstructionLoss::Correntropy { .. } => "correntropy",
            ReconstructionLoss::Bernoulli => "bernoulli",
            ReconstructionLoss::Gaussian { .. } => "gaussian",
        }
    }

    /// Checks the parameters and that the loss can be used with this output activation.
    pub fn validate(&self, output: Activation) -> Result<(), ConfigError> {
        if self.needs_unit_targets() && output != Activation::Sigmoid {
            return Err(ConfigError::new(
                "loss.kind",
                format!(
                    "{} needs a reconstruction in (0, 1): set network.output_activation = \"sigmoid\" (it is \"{}\")",
                    self.name(),
                    output.name()
                ),
            ));
        }
        if let ReconstructionLoss::Gaussian { sigma } | ReconstructionLoss::Correntropy { sigma } = self
            && !(sigma.is_finite() && *sigma > 0.0)
        {
            return Err(ConfigError::new("loss.sigma", format!("must be a finite number > 0, got {sigma}")));
        }
        Ok(())
    }

    /// Whether the loss needs targets in [0, 1].
    pub fn needs_unit_targets(&self) -> bool {
        matches!(self, ReconstructionLoss::Bce | ReconstructionLoss::Bernoulli)
    }

    /// Whether the loss is a negative log-likelihood in nats per item.
    pub fn is_likelihood(&self) -> bool {
        matches!(self, ReconstructionLoss::Bernoulli | ReconstructionLoss::Gaussian { .. })
    }

    /// Elementwise loss `[batch, features]` from the decoder's logits, the reconstruction (logits
    /// after the output activation) and the target.
    pub fn elementwise(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        match self {
            ReconstructionLoss::Mse => (reconstruction - target).square(),
            ReconstructionLoss::Mae => (reconstruction - target).abs(),
            ReconstructionLoss::Correntropy { sigma } => {
                (reconstruction - target).square().div_scalar(-2.0 * sigma * sigma).exp().neg().add_scalar(1.0)
            }
            // max(z, 0) - z x + log(1 + exp(-|z|)) = -[x log s(z) + (1-x) log(1-s(z))]. The last
            // term as ln(1 + e) rather than log1p(e): e is in (0, 1], where the two differ by under
            // 1e-7 absolute, and glibc's logf is much faster than its log1pf (which took 9% of a
            // VAE training step on flex).
            ReconstructionLoss::Bce | ReconstructionLoss::Bernoulli => {
                activation::relu(logits.clone()) - logits.clone() * target
                    + logits.abs().neg().exp().add_scalar(1.0).log()
            }
            ReconstructionLoss::Gaussian { sigma } => (reconstruction - target)
                .square()
                .div_scalar(2.0 * sigma * sigma)
                .add_scalar(sigma.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln()),
        }
    }

    /// The loss of a batch: a `[1]` tensor.
    pub fn mean(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        let e = self.elementwise(logits, reconstruction, target);
        if self.is_likelihood() { e.sum_dim(1).mean().reshape([1]) } else { e.mean() }
    }

    /// The loss of each item: `[batch]`.
    pub fn per_sample(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
        let e = self.elementwise(logits, reconstruction, target);
        if self.is_likelihood() { e.sum_dim(1).squeeze_dim(1) } else { e.mean_dim(1).squeeze_dim(1) }
    }
}

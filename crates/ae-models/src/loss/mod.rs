//! The reconstruction-loss axis: how far a reconstruction is from its target.
//!
//! Two families:
//! - distances (`mse`, `bce`, `mae`, `correntropy`): means over every element of the batch, as
//!   PyTorch's `F.mse_loss` computes them, so numbers compare one to one with reference runs;
//! - likelihoods (`bernoulli`, `gaussian`): negative log-likelihoods of the decoder's distribution,
//!   summed over an item's features and averaged over the batch, in nats per item (what a VAE's
//!   ELBO needs).
//!
//! [`ReconstructionLoss::per_sample`] gives the same quantity per item (anomaly scores, reports).
//! Each loss lives in one file implementing [`Loss`]; adding one is its file, a line in
//! [`ReconstructionLoss`] and a line in [`ReconstructionLoss::loss`].

pub mod bce;
pub mod bernoulli;
pub mod correntropy;
pub mod gaussian;
pub mod mae;
pub mod mse;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use bce::BceLoss;
pub use bernoulli::BernoulliLikelihood;
pub use correntropy::CorrentropyLoss;
pub use gaussian::GaussianLikelihood;
pub use mae::MaeLoss;
pub use mse::MseLoss;

use crate::activation::Activation;
use crate::error::ConfigError;

/// What every reconstruction loss answers.
pub trait Loss {
    /// The config name.
    fn name(&self) -> &'static str;

    /// Elementwise loss `[batch, features]` from the decoder's logits, the reconstruction (logits
    /// after the output activation) and the target.
    fn elementwise(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2>;

    /// Checks the parameters (keys relative to `loss`).
    fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }

    /// Whether the loss needs targets and reconstructions in [0, 1].
    fn needs_unit_targets(&self) -> bool {
        false
    }

    /// Whether the loss is a negative log-likelihood in nats per item (summed over features).
    fn is_likelihood(&self) -> bool {
        false
    }
}

/// Which reconstruction loss to use (the `[model.loss]` table, chosen by `kind`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReconstructionLoss {
    /// Mean squared error.
    #[default]
    Mse,
    /// Binary cross-entropy from the logits; needs a sigmoid output and targets in [0, 1].
    Bce,
    /// Mean absolute error.
    Mae,
    /// Correntropy-induced loss (robust autoencoder).
    Correntropy(CorrentropyLoss),
    /// Bernoulli negative log-likelihood per item (nats); needs a sigmoid output.
    Bernoulli,
    /// Gaussian negative log-likelihood with a fixed standard deviation, per item (nats).
    Gaussian(GaussianLikelihood),
}

impl ReconstructionLoss {
    /// The loss this value selects.
    pub fn loss(&self) -> &dyn Loss {
        match self {
            ReconstructionLoss::Mse => &MseLoss,
            ReconstructionLoss::Bce => &BceLoss,
            ReconstructionLoss::Mae => &MaeLoss,
            ReconstructionLoss::Correntropy(l) => l,
            ReconstructionLoss::Bernoulli => &BernoulliLikelihood,
            ReconstructionLoss::Gaussian(l) => l,
        }
    }

    /// The config name of the loss.
    pub fn name(&self) -> &'static str {
        self.loss().name()
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
        self.loss().validate().map_err(|e| e.within("loss"))
    }

    /// Whether the loss needs targets in [0, 1].
    pub fn needs_unit_targets(&self) -> bool {
        self.loss().needs_unit_targets()
    }

    /// Whether the loss is a negative log-likelihood in nats per item.
    pub fn is_likelihood(&self) -> bool {
        self.loss().is_likelihood()
    }

    /// Elementwise loss `[batch, features]` from the decoder's logits, the reconstruction (logits
    /// after the output activation) and the target.
    pub fn elementwise(&self, logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        self.loss().elementwise(logits, reconstruction, target)
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

/// Fails unless `sigma` is finite and > 0.
pub(crate) fn check_sigma(sigma: f64) -> Result<(), ConfigError> {
    if !(sigma.is_finite() && sigma > 0.0) {
        return Err(ConfigError::new("sigma", format!("must be a finite number > 0, got {sigma}")));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod test_values {
    //! One element's loss computed through a loss, for the files' tests.
    use burn::tensor::{Device, Tensor, TensorData};

    /// The elementwise loss of `loss` at one element: (logit, reconstruction, target).
    pub fn at(loss: &dyn super::Loss, logit: f32, reconstruction: f32, target: f32) -> f64 {
        let d = Device::flex();
        let t = |v: f32| Tensor::<2>::from_data(TensorData::new(vec![v], [1, 1]), &d);
        loss.elementwise(t(logit), t(reconstruction), t(target)).into_scalar::<f32>() as f64
    }
}

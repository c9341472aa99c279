//! The adversarial bottleneck of an adversarial autoencoder (Makhzani et al. 2016).
//!
//! The code is a plain linear code; a discriminator network learns to tell codes from samples of
//! a chosen prior, and the encoder learns to fool it, which pushes the aggregate posterior
//! `q(z)` toward the prior. Training alternates two updates per batch (see [`crate::step`]):
//! 1. the autoencoder (encoder, code layer, decoder) minimises the reconstruction loss plus
//!    `weight * E[softplus(-D(code))]` (the non-saturating generator loss), with the
//!    discriminator's weights held fixed;
//! 2. the discriminator, with its own optimizer, minimises
//!    `E[softplus(-D(z_prior))] + E[softplus(D(code))]` (binary cross-entropy on logits), with
//!    the codes held fixed.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{relu, softplus};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// The distribution the codes are matched to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Prior {
    /// Independent normals `N(0, scale^2)`.
    #[default]
    Normal,
    /// Independent uniforms on `[-scale, scale]`.
    Uniform,
    /// A mixture of 10 Gaussians (std `scale / 4`) with means equally spaced on a circle of
    /// radius `scale` in the first two code units (other units `N(0, (scale / 4)^2)`), as in the
    /// paper's 2-D MNIST figures.
    Mixture,
}

impl Prior {
    /// The name used in configs.
    pub fn name(self) -> &'static str {
        match self {
            Prior::Normal => "normal",
            Prior::Uniform => "uniform",
            Prior::Mixture => "mixture",
        }
    }

    /// `n` samples of a `width`-dimensional prior with this `scale`, on `device`.
    pub fn sample(self, n: usize, width: usize, scale: f64, device: &Device) -> Tensor<2> {
        match self {
            Prior::Normal => Tensor::random([n, width], Distribution::Normal(0.0, scale), device),
            Prior::Uniform => Tensor::random([n, width], Distribution::Uniform(-scale, scale), device),
            Prior::Mixture => {
                let spread = Tensor::random([n, width], Distribution::Normal(0.0, scale / 4.0), device);
                if width < 2 {
                    return spread;
                }
                // Component of each sample, then its mean on the circle in units 0 and 1.
                let component: Tensor<2> =
                    Tensor::random([n, 1], Distribution::Uniform(0.0, MIXTURE_COMPONENTS as f64), device)
                        .floor()
                        .clamp(0.0, MIXTURE_COMPONENTS as f64 - 1.0);
                let angle = component.mul_scalar(2.0 * std::f64::consts::PI / MIXTURE_COMPONENTS as f64);
                let means = Tensor::cat(vec![angle.clone().cos(), angle.sin()], 1).mul_scalar(scale);
                let means =
                    if width > 2 { Tensor::cat(vec![means, Tensor::zeros([n, width - 2], device)], 1) } else { means };
                spread + means
            }
        }
    }
}

/// Number of components of [`Prior::Mixture`].
pub const MIXTURE_COMPONENTS: usize = 10;

/// A multilayer perceptron from a code to one logit ("this code came from the prior").
#[derive(Module, Debug)]
pub struct Discriminator {
    /// Hidden layers (ReLU), then the output layer (one unit, no activation).
    pub layers: Vec<Linear>,
}

impl Discriminator {
    /// A discriminator for `code`-wide codes with the given hidden widths.
    pub fn new(code: usize, hidden: &[usize], device: &Device) -> Self {
        let widths: Vec<usize> = std::iter::once(code).chain(hidden.iter().copied()).chain([1]).collect();
        Self { layers: widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect() }
    }

    /// The logit of each code, `[batch, code] -> [batch]`. With `frozen`, the discriminator's own
    /// weights are detached: gradients reach the codes only (the encoder's update).
    pub fn forward(&self, code: Tensor<2>, frozen: bool) -> Tensor<1> {
        let last = self.layers.len() - 1;
        let mut x = code;
        for (i, layer) in self.layers.iter().enumerate() {
            x = if frozen {
                let y = x.matmul(layer.weight.val().detach());
                match &layer.bias {
                    Some(b) => y + b.val().detach().unsqueeze_dim(0),
                    None => y,
                }
            } else {
                layer.forward(x)
            };
            if i < last {
                x = relu(x);
            }
        }
        x.squeeze_dim(1)
    }
}

/// A linear code matched to a prior by a discriminator.
#[derive(Module, Debug)]
pub struct AdversarialBottleneck {
    /// Features to code.
    pub linear: Linear,
    /// Codes to "from the prior" logits.
    pub discriminator: Discriminator,
    /// The distribution codes are matched to.
    #[module(skip)]
    pub prior: Prior,
    /// Scale of the prior.
    #[module(skip)]
    pub scale: f64,
    /// Weight of the generator (fool-the-discriminator) term in the autoencoder's objective.
    #[module(skip)]
    pub weight: f64,
    /// Learning rate of the discriminator's optimizer (`None`: the autoencoder's).
    #[module(skip)]
    pub learning_rate: Option<f64>,
}

impl AdversarialBottleneck {
    /// A bottleneck from `features` to `code` units with a discriminator of `hidden` widths.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        features: usize,
        code: usize,
        hidden: &[usize],
        prior: Prior,
        scale: f64,
        weight: f64,
        learning_rate: Option<f64>,
        device: &Device,
    ) -> Self {
        Self {
            linear: LinearConfig::new(features, code).init(device),
            discriminator: Discriminator::new(code, hidden, device),
            prior,
            scale,
            weight,
            learning_rate,
        }
    }

    /// The code of a batch of features.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.linear.forward(features)
    }

    /// The encoder's adversarial term: `weight * mean softplus(-D(code))`, the discriminator
    /// frozen.
    pub fn generator_loss(&self, code: Tensor<2>) -> Tensor<1> {
        softplus(self.discriminator.forward(code, true).neg(), 1.0).mean().mul_scalar(self.weight)
    }

    /// The discriminator's loss on a batch of codes (detached here) against as many prior
    /// samples: `mean softplus(-D(z)) + mean softplus(D(code))`.
    pub fn discriminator_loss(&self, code: Tensor<2>) -> Tensor<1> {
        let [n, width] = code.dims();
        let code = code.detach();
        let z = self.prior.sample(n, width, self.scale, &code.device());
        let real = softplus(self.discriminator.forward(z, false).neg(), 1.0).mean();
        let fake = softplus(self.discriminator.forward(code, false), 1.0).mean();
        real + fake
    }

    /// `n` samples of the prior (what `generate` decodes).
    pub fn sample_prior(&self, n: usize, device: &Device) -> Tensor<2> {
        self.prior.sample(n, self.linear.weight.dims()[1], self.scale, device)
    }
}

/// Checks an adversarial bottleneck's settings.
pub fn validate(hidden: &[usize], scale: f64, weight: f64, learning_rate: Option<f64>) -> Result<(), ConfigError> {
    if hidden.contains(&0) {
        return Err(ConfigError::new("discriminator", format!("hidden widths must be >= 1, got {hidden:?}")));
    }
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ConfigError::new("scale", format!("must be a finite number > 0, got {scale}")));
    }
    if !(weight.is_finite() && weight >= 0.0) {
        return Err(ConfigError::new("weight", format!("must be a finite number >= 0, got {weight}")));
    }
    if let Some(lr) = learning_rate
        && !(lr.is_finite() && lr > 0.0)
    {
        return Err(ConfigError::new("learning_rate", format!("must be a finite number > 0, got {lr}")));
    }
    Ok(())
}

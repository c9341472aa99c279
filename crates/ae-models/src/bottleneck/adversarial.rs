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

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::objective::LossTerm;
use crate::schedule::Schedule;

/// Settings of an adversarial code: a linear code matched to a prior by a discriminator that
/// has its own optimizer; updates alternate between the autoencoder and the discriminator.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialConfig {
    /// Hidden widths of the discriminator (ReLU).
    #[serde(default = "default_discriminator")]
    pub discriminator: Vec<usize>,
    /// The distribution codes are matched to: `normal`, `uniform` or `mixture`.
    #[serde(default)]
    pub prior: Prior,
    /// Scale of the prior (standard deviation, half-width or circle radius).
    #[serde(default = "one")]
    pub scale: f64,
    /// Weight of the adversarial term in the autoencoder's objective.
    #[serde(default = "one")]
    pub weight: f64,
    /// Learning rate of the discriminator's optimizer (default: `train.learning_rate`).
    #[serde(default)]
    pub learning_rate: Option<f64>,
}

fn default_discriminator() -> Vec<usize> {
    vec![256, 256]
}

fn one() -> f64 {
    1.0
}

impl AdversarialConfig {
    /// Codes matched to `prior` by a 256-256 discriminator, scale 1, weight 1, the model's
    /// learning rate.
    pub fn new(prior: Prior) -> Self {
        Self { discriminator: default_discriminator(), prior, scale: one(), weight: one(), learning_rate: None }
    }
}

impl BottleneckSettings for AdversarialConfig {
    fn validate(&self, _code: usize) -> Result<(), ConfigError> {
        let hidden = &self.discriminator;
        if hidden.contains(&0) {
            return Err(ConfigError::new("discriminator", format!("hidden widths must be >= 1, got {hidden:?}")));
        }
        let (scale, weight) = (self.scale, self.weight);
        if !(scale.is_finite() && scale > 0.0) {
            return Err(ConfigError::new("scale", format!("must be a finite number > 0, got {scale}")));
        }
        if !(weight.is_finite() && weight >= 0.0) {
            return Err(ConfigError::new("weight", format!("must be a finite number >= 0, got {weight}")));
        }
        if let Some(lr) = self.learning_rate
            && !(lr.is_finite() && lr > 0.0)
        {
            return Err(ConfigError::new("learning_rate", format!("must be a finite number > 0, got {lr}")));
        }
        Ok(())
    }

    fn init(&self, features: usize, code: usize, _activation: Activation, device: &Device) -> Bottleneck {
        Bottleneck::Adversarial(AdversarialBottleneck {
            linear: LinearConfig::new(features, code).init(device),
            discriminator: Discriminator::new(code, &self.discriminator, device),
            prior: self.prior,
            scale: self.scale,
            weight: self.weight,
            learning_rate: self.learning_rate,
        })
    }

    fn weights(&self, features: usize, code: usize) -> u128 {
        let widths: Vec<u128> =
            std::iter::once(code).chain(self.discriminator.iter().copied()).chain([1]).map(|w| w as u128).collect();
        let code_layer = (features as u128).saturating_mul(code as u128).saturating_mul(2);
        widths.windows(2).fold(code_layer, |sum, p| sum.saturating_add(p[0].saturating_mul(p[1])))
    }
}

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
}

impl BottleneckLayer for AdversarialBottleneck {
    /// The linear code and the generator term.
    fn forward(&self, features: Tensor<2>, _schedule: Schedule) -> CodeOutput {
        let code = self.linear.forward(features);
        let g = self.generator_loss(code.clone());
        CodeOutput { code, terms: vec![LossTerm::new("adversarial", g)] }
    }

    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        self.linear.forward(features)
    }

    fn code_linear(&self) -> Option<&Linear> {
        Some(&self.linear)
    }

    fn is_generative(&self) -> bool {
        true
    }

    /// `n` samples of the bottleneck's own prior (what `generate` decodes).
    fn sample_prior(&self, n: usize, device: &Device) -> Tensor<2> {
        self.prior.sample(n, self.code_width(), self.scale, device)
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "adversarial",
            layers: vec![("linear", &self.linear)],
            activation: Some(Activation::Linear),
            settings: Vec::new(),
            note: Some("the discriminator is not exported: it plays no part in reconstruction"),
            code: self.code_width(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_are_checked_and_the_discriminator_is_counted() {
        let c = AdversarialConfig::new(Prior::Normal);
        assert!(c.validate(8).is_ok());
        // Code layer 2 x 10 x 8, then 8 x 256, 256 x 256, 256 x 1.
        assert_eq!(c.weights(10, 8), 160 + 8 * 256 + 256 * 256 + 256);
        for (bad, key) in [
            (AdversarialConfig { discriminator: vec![0], ..c.clone() }, "discriminator"),
            (AdversarialConfig { scale: 0.0, ..c.clone() }, "scale"),
            (AdversarialConfig { weight: f64::NAN, ..c.clone() }, "weight"),
            (AdversarialConfig { learning_rate: Some(-1.0), ..c.clone() }, "learning_rate"),
        ] {
            assert_eq!(bad.validate(8).unwrap_err().key, key);
        }
    }

    #[test]
    fn mixture_prior_means_lie_on_the_circle() {
        let device = Device::flex();
        let z: Vec<f32> = Prior::Mixture.sample(2000, 2, 4.0, &device).into_data().try_into_vec::<f32>().unwrap();
        // Radius 4, spread 1: every sample within 4 +- 5 spreads of the origin, mean radius near 4.
        let radii: Vec<f32> = z.chunks(2).map(|p| (p[0] * p[0] + p[1] * p[1]).sqrt()).collect();
        let mean = radii.iter().sum::<f32>() / radii.len() as f32;
        assert!((mean - 4.0).abs() < 0.3, "mean radius {mean}");
    }
}

//! The bottleneck axis: what the code is and how it is made from the encoder's features.

pub mod adversarial;
pub mod binary;
pub mod deterministic;
pub mod gaussian;
pub mod top_k;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

pub use adversarial::{AdversarialBottleneck, Discriminator, Prior};
pub use binary::{Binarization, BinaryBottleneck};
pub use deterministic::DeterministicBottleneck;
pub use gaussian::GaussianBottleneck;
pub use top_k::TopKBottleneck;

use crate::activation::Activation;
use crate::schedule::Schedule;
use crate::{ConfigError, LossTerm};

/// Which bottleneck to build.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BottleneckConfig {
    /// A plain code: one linear layer and the code activation.
    #[default]
    Deterministic,
    /// The encoder's output itself is the code (a convolutional network's last feature map).
    Identity,
    /// A variational code: Gaussian posterior, reparameterised samples, KL to N(0, I).
    Gaussian {
        /// Weight of the KL term (1: the ELBO; > 1: beta-VAE).
        #[serde(default = "one")]
        beta: f64,
        /// Fraction of training over which the KL weight rises linearly from 0 to `beta` (KL
        /// warm-up, Bowman et al. 2016); 0 starts at `beta`.
        #[serde(default)]
        warmup: f64,
    },
    /// A k-sparse code: the k largest of a linear code's units are kept per item.
    TopK {
        /// Units kept at the end of training and when encoding.
        k: usize,
        /// Units kept at the start of training (default: all of them).
        #[serde(default)]
        k_start: Option<usize>,
        /// Fraction of training over which k falls linearly from `k_start` to `k`.
        #[serde(default = "half")]
        anneal: f64,
    },
    /// A binary code for semantic hashing: sigmoid units pushed to 0/1.
    Binary {
        /// `noise` (Gaussian noise before the sigmoid) or `straight_through` (rounding).
        #[serde(default)]
        method: Binarization,
        /// Standard deviation of the pre-sigmoid noise (`noise` method).
        #[serde(default = "default_noise")]
        noise: f64,
    },
    /// An adversarial code (AAE): a linear code matched to a prior by a discriminator that has
    /// its own optimizer; updates alternate between the autoencoder and the discriminator.
    Adversarial {
        /// Hidden widths of the discriminator (ReLU).
        #[serde(default = "default_discriminator")]
        discriminator: Vec<usize>,
        /// The distribution codes are matched to: `normal`, `uniform` or `mixture`.
        #[serde(default)]
        prior: Prior,
        /// Scale of the prior (standard deviation, half-width or circle radius).
        #[serde(default = "one")]
        scale: f64,
        /// Weight of the adversarial term in the autoencoder's objective.
        #[serde(default = "one")]
        weight: f64,
        /// Learning rate of the discriminator's optimizer (default: `train.learning_rate`).
        #[serde(default)]
        learning_rate: Option<f64>,
    },
}

fn default_discriminator() -> Vec<usize> {
    vec![256, 256]
}

fn default_noise() -> f64 {
    4.0
}

fn half() -> f64 {
    0.5
}

fn one() -> f64 {
    1.0
}

impl BottleneckConfig {
    /// A variational code with KL weight `beta` (1: the ELBO) and no warm-up.
    pub fn gaussian(beta: f64) -> Self {
        BottleneckConfig::Gaussian { beta, warmup: 0.0 }
    }

    /// A k-sparse code keeping `k` units, annealed from all units over the first half of training
    /// (the config file's defaults).
    pub fn top_k(k: usize) -> Self {
        BottleneckConfig::TopK { k, k_start: None, anneal: half() }
    }

    /// A binary code with the config file's defaults (pre-sigmoid noise of standard deviation 4).
    pub fn binary() -> Self {
        BottleneckConfig::Binary { method: Binarization::default(), noise: default_noise() }
    }

    /// An adversarial code matched to `prior` with the config file's defaults (a 256-256
    /// discriminator, scale 1, weight 1, the model's learning rate).
    pub fn adversarial(prior: Prior) -> Self {
        BottleneckConfig::Adversarial {
            discriminator: default_discriminator(),
            prior,
            scale: one(),
            weight: one(),
            learning_rate: None,
        }
    }

    /// The weight of the KL term at this point of training (a variational code's `beta`, ramped
    /// up during warm-up); `None` for codes without one.
    pub fn kl_weight(&self, schedule: Schedule) -> Option<f64> {
        match self {
            BottleneckConfig::Gaussian { beta, warmup } => Some(gaussian::kl_weight(*beta, *warmup, schedule)),
            _ => None,
        }
    }

    /// Checks the settings.
    pub fn validate(&self, code: usize) -> Result<(), ConfigError> {
        let fraction = |key: &str, v: f64| {
            if (0.0..=1.0).contains(&v) {
                Ok(())
            } else {
                Err(ConfigError::new(key, format!("must be a fraction of training in [0, 1], got {v}")))
            }
        };
        match self {
            BottleneckConfig::Deterministic | BottleneckConfig::Identity => Ok(()),
            BottleneckConfig::Gaussian { beta, warmup } => {
                if !(beta.is_finite() && *beta >= 0.0) {
                    return Err(ConfigError::new("beta", format!("must be a finite number >= 0, got {beta}")));
                }
                fraction("warmup", *warmup)
            }
            BottleneckConfig::Binary { noise, .. } => {
                if !(noise.is_finite() && *noise >= 0.0) {
                    return Err(ConfigError::new("noise", format!("must be a finite number >= 0, got {noise}")));
                }
                Ok(())
            }
            BottleneckConfig::Adversarial { discriminator, scale, weight, learning_rate, .. } => {
                adversarial::validate(discriminator, *scale, *weight, *learning_rate)
            }
            BottleneckConfig::TopK { k, k_start, anneal } => {
                if *k == 0 || *k > code {
                    return Err(ConfigError::new("k", format!("must be between 1 and the code width {code}, got {k}")));
                }
                if let Some(s) = k_start
                    && (*s < *k || *s > code)
                {
                    return Err(ConfigError::new(
                        "k_start",
                        format!("must be between k = {k} and the code width {code}, got {s}"),
                    ));
                }
                fraction("anneal", *anneal)
            }
        }
    }

    /// Builds the bottleneck from `features` encoder features to a `code`-wide code.
    pub fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck {
        match self {
            BottleneckConfig::Deterministic => {
                Bottleneck::Deterministic(DeterministicBottleneck::new(features, code, activation, device))
            }
            BottleneckConfig::Identity => Bottleneck::Identity(IdentityBottleneck { width: features }),
            BottleneckConfig::Gaussian { beta, warmup } => {
                Bottleneck::Gaussian(GaussianBottleneck::new(features, code, *beta, *warmup, device))
            }
            BottleneckConfig::TopK { k, k_start, anneal } => {
                Bottleneck::TopK(TopKBottleneck::new(features, code, *k, k_start.unwrap_or(code), *anneal, device))
            }
            BottleneckConfig::Binary { method, noise } => {
                Bottleneck::Binary(BinaryBottleneck::new(features, code, *method, *noise, device))
            }
            BottleneckConfig::Adversarial { discriminator, prior, scale, weight, learning_rate } => {
                Bottleneck::Adversarial(AdversarialBottleneck::new(
                    features,
                    code,
                    discriminator,
                    *prior,
                    *scale,
                    *weight,
                    *learning_rate,
                    device,
                ))
            }
        }
    }
}

/// The identity bottleneck: no parameters, the code is the encoder's output.
#[derive(Module, Debug)]
pub struct IdentityBottleneck {
    /// Width of the code.
    #[module(skip)]
    pub width: usize,
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
    /// The features themselves.
    Identity(IdentityBottleneck),
    /// A variational code.
    Gaussian(GaussianBottleneck),
    /// A k-sparse code.
    TopK(TopKBottleneck),
    /// A binary code.
    Binary(BinaryBottleneck),
    /// An adversarial code.
    Adversarial(AdversarialBottleneck),
}

impl Bottleneck {
    /// The code of `features` used in training at this point of the `schedule` (may be
    /// stochastic), with the bottleneck's loss terms.
    pub fn forward(&self, features: Tensor<2>, schedule: Schedule) -> CodeOutput {
        match self {
            Bottleneck::Deterministic(b) => CodeOutput { code: b.forward(features), terms: Vec::new() },
            Bottleneck::Gaussian(b) => {
                let (code, kl) = b.sample(features);
                CodeOutput { code, terms: vec![LossTerm::new("kl", kl.mul_scalar(b.kl_weight(schedule)))] }
            }
            Bottleneck::TopK(b) => CodeOutput { code: b.forward(features, schedule), terms: Vec::new() },
            Bottleneck::Binary(b) => CodeOutput { code: b.forward(features), terms: Vec::new() },
            Bottleneck::Identity(_) => CodeOutput { code: features, terms: Vec::new() },
            Bottleneck::Adversarial(b) => {
                let code = b.forward(features);
                let g = b.generator_loss(code.clone());
                CodeOutput { code, terms: vec![LossTerm::new("adversarial", g)] }
            }
        }
    }

    /// The code used to represent an input once trained (deterministic: a posterior mean, say).
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        match self {
            Bottleneck::Deterministic(b) => b.forward(features),
            Bottleneck::Gaussian(b) => b.encode(features),
            Bottleneck::TopK(b) => b.forward(features, Schedule::END),
            Bottleneck::Binary(b) => b.encode(features),
            Bottleneck::Identity(_) => features,
            Bottleneck::Adversarial(b) => b.forward(features),
        }
    }

    /// Width of the code.
    pub fn code_width(&self) -> usize {
        match self {
            Bottleneck::Deterministic(b) => b.linear.weight.dims()[1],
            Bottleneck::Gaussian(b) => b.mu.weight.dims()[1],
            Bottleneck::TopK(b) => b.linear.weight.dims()[1],
            Bottleneck::Binary(b) => b.linear.weight.dims()[1],
            Bottleneck::Identity(b) => b.width,
            Bottleneck::Adversarial(b) => b.linear.weight.dims()[1],
        }
    }

    /// The adversary, if this bottleneck trains one (its own optimizer updates it).
    pub fn adversary(&self) -> Option<&AdversarialBottleneck> {
        match self {
            Bottleneck::Adversarial(b) => Some(b),
            _ => None,
        }
    }
}

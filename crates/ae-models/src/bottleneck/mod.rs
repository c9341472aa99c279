//! The bottleneck axis: what the code is and how it is made from the encoder's features.
//!
//! Each bottleneck lives in one file: its settings (`...Config`: fields, defaults, validation,
//! `init`) implement [`BottleneckSettings`], its module implements [`BottleneckLayer`]. This file
//! only lists them: adding a bottleneck is its file, a line in each enum, and a line in each of
//! [`BottleneckConfig::settings`] and [`Bottleneck::layer`].

pub mod adversarial;
pub mod binary;
pub mod deterministic;
pub mod gaussian;
pub mod identity;
pub mod top_k;

use burn::module::Module;
use burn::nn::Linear;
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

pub use adversarial::{AdversarialBottleneck, AdversarialConfig, Discriminator, Prior};
pub use binary::{Binarization, BinaryBottleneck, BinaryConfig};
pub use deterministic::{DeterministicBottleneck, DeterministicConfig};
pub use gaussian::{GaussianBottleneck, GaussianConfig};
pub use identity::{IdentityBottleneck, IdentityConfig};
pub use top_k::{TopKBottleneck, TopKConfig};

use crate::activation::Activation;
use crate::error::ConfigError;
use crate::objective::LossTerm;
use crate::schedule::Schedule;

/// What the settings of every bottleneck answer.
pub trait BottleneckSettings {
    /// Checks the settings for a code of `code` units; the key is relative to `bottleneck`.
    fn validate(&self, code: usize) -> Result<(), ConfigError>;

    /// Builds the bottleneck from `features` encoder features to a `code`-wide code, with the
    /// network's code activation.
    fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck;

    /// About how many weights it adds (what the model's size check counts).
    fn weights(&self, features: usize, code: usize) -> u128 {
        // One layer (a Gaussian code has two heads): counted twice to stay on the safe side.
        (features as u128).saturating_mul(code as u128).saturating_mul(2)
    }

    /// Whether the code is made by a layer of its own (else the encoder's output is the code).
    fn has_code_layer(&self) -> bool {
        true
    }

    /// Whether the code is a single linear layer, the one a tied decoder mirrors.
    fn single_code_layer(&self) -> bool {
        true
    }

    /// Whether `network.code_activation` applies (other bottlenecks define their own code).
    fn takes_code_activation(&self) -> bool {
        false
    }

    /// The weight of a KL term at this point of training (`None` for codes without one).
    fn kl_weight(&self, _schedule: Schedule) -> Option<f64> {
        None
    }
}

/// What every built bottleneck does.
pub trait BottleneckLayer {
    /// The code of `features` used in training at this point of the `schedule` (may be
    /// stochastic), with the bottleneck's loss terms.
    fn forward(&self, features: Tensor<2>, schedule: Schedule) -> CodeOutput;

    /// The code used to represent an input once trained (deterministic: a posterior mean, say).
    fn encode(&self, features: Tensor<2>) -> Tensor<2>;

    /// The single linear layer that makes the code (what a tied decoder mirrors); `None` when
    /// the code is not one linear layer.
    fn code_linear(&self) -> Option<&Linear> {
        None
    }

    /// Width of the code (by default, the code layer's output width).
    fn code_width(&self) -> usize {
        self.code_linear().map_or(0, |l| l.weight.dims()[1])
    }

    /// The weight `[features, code]` of the single linear code layer; see
    /// [`code_linear`](BottleneckLayer::code_linear).
    fn code_layer(&self) -> Option<Tensor<2>> {
        self.code_linear().map(|l| l.weight.val())
    }

    /// Whether codes have a prior worth sampling from (a VAE's or an AAE's).
    fn is_generative(&self) -> bool {
        false
    }

    /// `n` codes drawn from the prior: N(0, I) unless the bottleneck has its own.
    fn sample_prior(&self, n: usize, device: &Device) -> Tensor<2> {
        Tensor::random([n, self.code_width()], Distribution::Normal(0.0, 1.0), device)
    }

    /// How the deterministic code is made, for exporters.
    fn recipe(&self) -> CodeRecipe<'_>;
}

/// How a bottleneck makes its deterministic code from the features: for exporters, which
/// write each layer out and describe the rest.
#[derive(Debug, Clone)]
pub struct CodeRecipe<'a> {
    /// The config's `kind`.
    pub kind: &'static str,
    /// The linear layers by name (`linear`, or `mu` and `log_var`); the code is the first's
    /// output after `activation`.
    pub layers: Vec<(&'static str, &'a Linear)>,
    /// The activation of the code, where the bottleneck applies one.
    pub activation: Option<Activation>,
    /// Settings an exporter records (the `k` of a k-sparse code).
    pub settings: Vec<(&'static str, usize)>,
    /// A note for readers of the export.
    pub note: Option<&'static str>,
    /// Width of the code.
    pub code: usize,
}

/// What a bottleneck gives back for a batch.
#[derive(Debug, Clone)]
pub struct CodeOutput {
    /// The code handed to the decoder, `[batch, code]`.
    pub code: Tensor<2>,
    /// Loss terms the bottleneck adds (e.g. a KL divergence); empty for a plain code.
    pub terms: Vec<LossTerm>,
}

impl CodeOutput {
    /// A code without loss terms.
    pub fn plain(code: Tensor<2>) -> Self {
        Self { code, terms: Vec::new() }
    }
}

/// Which bottleneck to build (the `[model.bottleneck]` table, chosen by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BottleneckConfig {
    /// A plain code: one linear layer and the code activation.
    Deterministic(DeterministicConfig),
    /// The encoder's output itself is the code (a convolutional network's last feature map).
    Identity(IdentityConfig),
    /// A variational code: Gaussian posterior, reparameterised samples, KL to N(0, I).
    Gaussian(GaussianConfig),
    /// A k-sparse code: the k largest of a linear code's units are kept per item.
    TopK(TopKConfig),
    /// A binary code for semantic hashing: sigmoid units pushed to 0/1.
    Binary(BinaryConfig),
    /// An adversarial code (AAE): a linear code matched to a prior by a discriminator.
    Adversarial(AdversarialConfig),
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

impl Default for BottleneckConfig {
    /// A deterministic code.
    fn default() -> Self {
        BottleneckConfig::Deterministic(DeterministicConfig {})
    }
}

impl BottleneckConfig {
    /// A variational code with KL weight `beta` (1: the ELBO) and no warm-up.
    pub fn gaussian(beta: f64) -> Self {
        BottleneckConfig::Gaussian(GaussianConfig::new(beta))
    }

    /// A k-sparse code keeping `k` units, annealed from all units over the first half of training
    /// (the config file's defaults).
    pub fn top_k(k: usize) -> Self {
        BottleneckConfig::TopK(TopKConfig::new(k))
    }

    /// A binary code with the config file's defaults (pre-sigmoid noise of standard deviation 4).
    pub fn binary() -> Self {
        BottleneckConfig::Binary(BinaryConfig::default())
    }

    /// An adversarial code matched to `prior` with the config file's defaults (a 256-256
    /// discriminator, scale 1, weight 1, the model's learning rate).
    pub fn adversarial(prior: Prior) -> Self {
        BottleneckConfig::Adversarial(AdversarialConfig::new(prior))
    }

    /// The code the encoder's output is, without a layer of its own.
    pub fn identity() -> Self {
        BottleneckConfig::Identity(IdentityConfig {})
    }

    /// The settings of whichever bottleneck this is.
    pub fn settings(&self) -> &dyn BottleneckSettings {
        match self {
            BottleneckConfig::Deterministic(b) => b,
            BottleneckConfig::Identity(b) => b,
            BottleneckConfig::Gaussian(b) => b,
            BottleneckConfig::TopK(b) => b,
            BottleneckConfig::Binary(b) => b,
            BottleneckConfig::Adversarial(b) => b,
        }
    }

    /// The weight of the KL term at this point of training (a variational code's `beta`, ramped
    /// up during warm-up); `None` for codes without one.
    pub fn kl_weight(&self, schedule: Schedule) -> Option<f64> {
        self.settings().kl_weight(schedule)
    }

    /// Checks the settings for a code of `code` units.
    pub fn validate(&self, code: usize) -> Result<(), ConfigError> {
        self.settings().validate(code)
    }

    /// Builds the bottleneck from `features` encoder features to a `code`-wide code.
    pub fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck {
        self.settings().init(features, code, activation, device)
    }
}

impl Bottleneck {
    /// The layer of whichever bottleneck this is.
    pub fn layer(&self) -> &dyn BottleneckLayer {
        match self {
            Bottleneck::Deterministic(b) => b,
            Bottleneck::Identity(b) => b,
            Bottleneck::Gaussian(b) => b,
            Bottleneck::TopK(b) => b,
            Bottleneck::Binary(b) => b,
            Bottleneck::Adversarial(b) => b,
        }
    }

    /// The code of `features` used in training at this point of the `schedule` (may be
    /// stochastic), with the bottleneck's loss terms.
    pub fn forward(&self, features: Tensor<2>, schedule: Schedule) -> CodeOutput {
        self.layer().forward(features, schedule)
    }

    /// The code used to represent an input once trained (deterministic: a posterior mean, say).
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        self.layer().encode(features)
    }

    /// Width of the code.
    pub fn code_width(&self) -> usize {
        self.layer().code_width()
    }

    /// The adversary, if this bottleneck trains one (its own optimizer updates it).
    pub fn adversary(&self) -> Option<&AdversarialBottleneck> {
        match self {
            Bottleneck::Adversarial(b) => Some(b),
            _ => None,
        }
    }
}

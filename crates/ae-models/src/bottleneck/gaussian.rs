//! The Gaussian bottleneck of a variational autoencoder (Kingma & Welling 2014).
//!
//! The encoder's features give the mean and log-variance of `q(z|x) = N(mu, diag(exp(log_var)))`;
//! training draws `z = mu + eps * exp(log_var / 2)` with `eps ~ N(0, I)` (reparameterisation), and
//! adds `beta * KL(q(z|x) || N(0, I))`, computed in closed form:
//! `KL = -1/2 sum_j (1 + log_var_j - mu_j^2 - exp(log_var_j))` per item, averaged over the batch.
//! [`GaussianBottleneck::encode`] gives the posterior mean; sampling from the prior is separate.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::objective::LossTerm;
use crate::schedule::Schedule;

/// Settings of a variational code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianConfig {
    /// Weight of the KL term (1: the ELBO; > 1: beta-VAE).
    #[serde(default = "one")]
    pub beta: f64,
    /// Fraction of training over which the KL weight rises linearly from 0 to `beta` (KL
    /// warm-up, Bowman et al. 2016); 0 starts at `beta`.
    #[serde(default)]
    pub warmup: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for GaussianConfig {
    /// The ELBO: beta 1, no warm-up.
    fn default() -> Self {
        Self::new(1.0)
    }
}

impl GaussianConfig {
    /// KL weight `beta`, no warm-up.
    pub fn new(beta: f64) -> Self {
        Self { beta, warmup: 0.0 }
    }
}

impl BottleneckSettings for GaussianConfig {
    fn validate(&self, _code: usize) -> Result<(), ConfigError> {
        let beta = self.beta;
        if !(beta.is_finite() && beta >= 0.0) {
            return Err(ConfigError::new("beta", format!("must be a finite number >= 0, got {beta}")));
        }
        ConfigError::check_fraction("warmup", self.warmup)
    }

    fn init(&self, features: usize, code: usize, _activation: Activation, device: &Device) -> Bottleneck {
        Bottleneck::Gaussian(GaussianBottleneck::new(features, code, self.beta, self.warmup, device))
    }

    fn single_code_layer(&self) -> bool {
        false
    }

    fn kl_weight(&self, schedule: Schedule) -> Option<f64> {
        Some(kl_weight(self.beta, self.warmup, schedule))
    }
}

/// Mean and log-variance heads.
#[derive(Module, Debug)]
pub struct GaussianBottleneck {
    /// Features to the posterior mean.
    pub mu: Linear,
    /// Features to the posterior log-variance.
    pub log_var: Linear,
    /// Weight of the KL term (1 for the ELBO; > 1 for a beta-VAE).
    #[module(skip)]
    pub beta: f64,
    /// Fraction of training over which the KL weight rises from 0 to `beta`.
    #[module(skip)]
    pub warmup: f64,
}

/// The posterior of a batch.
#[derive(Debug, Clone)]
pub struct Posterior {
    /// Means `[batch, code]`.
    pub mu: Tensor<2>,
    /// Log-variances `[batch, code]`.
    pub log_var: Tensor<2>,
}

impl GaussianBottleneck {
    /// Heads from `features` inputs to a `code`-wide latent.
    pub fn new(features: usize, code: usize, beta: f64, warmup: f64, device: &Device) -> Self {
        Self {
            mu: LinearConfig::new(features, code).init(device),
            log_var: LinearConfig::new(features, code).init(device),
            beta,
            warmup,
        }
    }

    /// The KL weight at this point of training: `beta`, ramped up from 0 during warm-up.
    pub fn kl_weight(&self, schedule: Schedule) -> f64 {
        kl_weight(self.beta, self.warmup, schedule)
    }

    /// The posterior of each item.
    pub fn posterior(&self, features: Tensor<2>) -> Posterior {
        Posterior { mu: self.mu.forward(features.clone()), log_var: self.log_var.forward(features) }
    }

    /// A reparameterised sample of each item's posterior and the (unweighted) mean KL divergence.
    pub fn sample(&self, features: Tensor<2>) -> (Tensor<2>, Tensor<1>) {
        let p = self.posterior(features);
        let eps = Tensor::random(p.mu.shape(), Distribution::Normal(0.0, 1.0), &p.mu.device());
        let z = p.mu.clone() + eps * p.log_var.clone().mul_scalar(0.5).exp();
        (z, kl_divergence(&p).mean())
    }
}

impl BottleneckLayer for GaussianBottleneck {
    fn forward(&self, features: Tensor<2>, schedule: Schedule) -> CodeOutput {
        let (code, kl) = self.sample(features);
        CodeOutput { code, terms: vec![LossTerm::new("kl", kl.mul_scalar(self.kl_weight(schedule)))] }
    }

    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        self.mu.forward(features)
    }

    fn code_width(&self) -> usize {
        self.mu.weight.dims()[1]
    }

    fn is_generative(&self) -> bool {
        true
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "gaussian",
            layers: vec![("mu", &self.mu), ("log_var", &self.log_var)],
            activation: None,
            settings: Vec::new(),
            note: Some("the code is the posterior mean mu; log_var gives the posterior variance exp(log_var)"),
            code: self.code_width(),
        }
    }
}

/// `KL(N(mu, exp(log_var)) || N(0, I))` of each item: `[batch]`.
pub fn kl_divergence(p: &Posterior) -> Tensor<1> {
    (p.log_var.clone().add_scalar(1.0) - p.mu.clone().square() - p.log_var.clone().exp())
        .sum_dim(1)
        .squeeze_dim(1)
        .mul_scalar(-0.5)
}

/// `beta` ramped linearly from 0 over the first `warmup` fraction of training (KL warm-up).
pub fn kl_weight(beta: f64, warmup: f64, schedule: Schedule) -> f64 {
    beta * schedule.ramp(warmup)
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn kl_of_a_known_posterior_and_the_warm_up() {
        let device = Device::flex();
        // mu = (1, 0), log_var = (0, ln 4): KL = 1/2 [(1 + 0 - 1) + (4 - 1 - ln 4)].
        let p = Posterior {
            mu: Tensor::from_data(TensorData::new(vec![1.0f32, 0.0], [1, 2]), &device),
            log_var: Tensor::from_data(TensorData::new(vec![0.0f32, 4f32.ln()], [1, 2]), &device),
        };
        let kl: f32 = kl_divergence(&p).into_scalar();
        assert!((kl as f64 - 0.5 * (1.0 + 3.0 - 4f64.ln())).abs() < 1e-6, "{kl}");
        let c = GaussianConfig { beta: 2.0, warmup: 0.5 };
        assert_eq!(c.kl_weight(Schedule::at(25, 100)), Some(1.0));
        assert_eq!(c.kl_weight(Schedule::END), Some(2.0));
        assert!(c.validate(4).is_ok());
        assert_eq!(GaussianConfig { beta: 1.0, warmup: 1.5 }.validate(4).unwrap_err().key, "warmup");
        assert_eq!(GaussianConfig::new(f64::NAN).validate(4).unwrap_err().key, "beta");
    }
}

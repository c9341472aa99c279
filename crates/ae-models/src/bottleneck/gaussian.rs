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

use crate::schedule::Schedule;

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

    /// The posterior mean.
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        self.mu.forward(features)
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

//! Importance-sampled log-likelihood of a variational autoencoder (Burda, Grosse & Salakhutdinov
//! 2016):
//!
//! `log p(x) ~= logsumexp_k [log p(x|z_k) + log p(z_k) - log q(z_k|x)] - log K`, `z_k ~ q(z|x)`,
//!
//! a lower bound on `log p(x)` that tightens as `K` grows (`K = 1` is the ELBO).

use std::f64::consts::PI;

use burn::tensor::{Distribution, Tensor};

use crate::autoencoder::Autoencoder;
use crate::bottleneck::Bottleneck;

/// `log p(x)` estimates (nats) for each item of `x` `[batch, input]` with `k` importance samples,
/// or `None` when the model is not a VAE with a likelihood loss.
pub fn importance_log_likelihood(model: &Autoencoder, x: Tensor<2>, k: usize) -> Option<Tensor<1>> {
    let Bottleneck::Gaussian(g) = &model.bottleneck else {
        return None;
    };
    if !model.loss.is_likelihood() || k == 0 {
        return None;
    }
    let [n, d] = x.dims();
    let p = g.posterior(model.encoder.forward(x.clone()));
    let c = p.mu.dims()[1];
    let tile = |t: Tensor<2>, w: usize| t.unsqueeze_dim::<3>(0).repeat_dim(0, k).reshape([k * n, w]);
    let (mu, log_var) = (tile(p.mu, c), tile(p.log_var, c));
    let eps = Tensor::<2>::random([k * n, c], Distribution::Normal(0.0, 1.0), &mu.device());
    let z = mu + eps.clone() * log_var.clone().mul_scalar(0.5).exp();
    let half_log_2pi = 0.5 * (2.0 * PI).ln();
    // log q(z|x) = sum_j -[log(2 pi) + log_var_j + eps_j^2] / 2, since z - mu = eps * sigma.
    let log_q = (log_var + eps.square()).mul_scalar(0.5).add_scalar(half_log_2pi).sum_dim(1).neg();
    let log_prior = z.clone().square().mul_scalar(0.5).add_scalar(half_log_2pi).sum_dim(1).neg();
    let logits = model.decode_logits(z);
    let recon = model.output_activation.apply(logits.clone());
    let log_px = model.loss.per_sample(logits, recon, tile(x, d)).neg().unsqueeze_dim::<2>(1);
    let w = (log_px + log_prior - log_q).reshape([k, n]);
    let m = w.clone().max_dim(0);
    let lse = (w - m.clone()).exp().sum_dim(0).log() + m;
    Some(lse.reshape([n]).sub_scalar((k as f64).ln()))
}

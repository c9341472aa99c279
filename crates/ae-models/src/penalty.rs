//! The penalty axis: regularisers added to the reconstruction loss. A weight of 0 turns a penalty
//! off; penalties combine freely.
//!
//! - L1 activity: `l1 * mean_batch(sum_j |h_j|)`.
//! - KL sparsity (Ng's sparse autoencoder): `weight * sum_j KL(rho || rho_hat_j)`, where `rho_hat_j`
//!   is unit j's mean activation over the batch; needs a code in (0, 1) (sigmoid).
//! - Contractive (Rifai et al. 2011): `contractive * mean_batch(||J_f(x)||_F^2)`, the squared
//!   Frobenius norm of the real encoder's Jacobian (see [`crate::jacobian`]).
//!
//! Weight decay is applied by the optimizer (`train.weight_decay`).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::{ConfigError, LossTerm};

/// Weights of the penalties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyConfig {
    /// Weight of the L1 activity penalty on the code.
    #[serde(default)]
    pub l1: f64,
    /// KL sparsity toward a target mean activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kl_sparsity: Option<KlSparsity>,
    /// Weight of the contractive penalty.
    #[serde(default)]
    pub contractive: f64,
}

/// KL sparsity settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlSparsity {
    /// Target mean activation of each code unit, in (0, 1).
    pub rho: f64,
    /// Weight of the penalty.
    pub weight: f64,
}

impl PenaltyConfig {
    /// Checks the weights.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_weight("l1", self.l1)?;
        check_weight("contractive", self.contractive)?;
        if let Some(k) = &self.kl_sparsity {
            if !(k.rho > 0.0 && k.rho < 1.0) {
                return Err(ConfigError::new("kl_sparsity.rho", format!("must be in (0, 1), got {}", k.rho)));
            }
            check_weight("kl_sparsity.weight", k.weight)?;
        }
        Ok(())
    }

    /// The penalty terms that depend on the code alone (`[batch, code]`), each already weighted.
    pub fn code_terms(&self, code: &Tensor<2>) -> Vec<LossTerm> {
        let mut terms = Vec::new();
        if self.l1 > 0.0 {
            terms.push(LossTerm::new("l1", code.clone().abs().sum_dim(1).mean().mul_scalar(self.l1)));
        }
        if let Some(k) = self.kl_sparsity.as_ref().filter(|k| k.weight > 0.0) {
            terms.push(LossTerm::new("kl_sparsity", kl_sparsity(code, k.rho).mul_scalar(k.weight)));
        }
        terms
    }
}

/// `sum_j KL(rho || rho_hat_j)` with `rho_hat_j` the batch mean of unit j (clamped away from 0
/// and 1 so the logarithms stay finite): a `[1]` tensor.
pub fn kl_sparsity(code: &Tensor<2>, rho: f64) -> Tensor<1> {
    let rho_hat = code.clone().mean_dim(0).clamp(1e-6, 1.0 - 1e-6); // [1, code]
    let a = rho_hat.clone().recip().mul_scalar(rho).log().mul_scalar(rho);
    let b = rho_hat.neg().add_scalar(1.0).recip().mul_scalar(1.0 - rho).log().mul_scalar(1.0 - rho);
    (a + b).sum()
}

/// The largest penalty weight accepted.
pub const MAX_WEIGHT: f64 = 1e6;

fn check_weight(key: &str, w: f64) -> Result<(), ConfigError> {
    if !w.is_finite() || w < 0.0 {
        return Err(ConfigError::new(key, format!("a penalty weight must be a finite number >= 0, got {w}")));
    }
    // Far above any useful weight (the reconstruction term is O(1) to O(100) per item), and
    // large enough to overflow the f32 loss: refused here rather than reported as divergence.
    if w > MAX_WEIGHT {
        return Err(ConfigError::new(
            key,
            format!("a penalty weight above {MAX_WEIGHT:e} overflows the loss, got {w}"),
        ));
    }
    Ok(())
}

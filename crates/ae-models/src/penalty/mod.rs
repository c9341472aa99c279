//! The penalty axis: regularisers added to the reconstruction loss. A weight of 0 turns a penalty
//! off; penalties combine freely. Each lives in one file (its settings, checks and term):
//!
//! - [`l1`]: L1 activity, `l1 * mean_batch(sum_j |h_j|)`.
//! - [`kl_sparsity`]: Ng's sparse autoencoder, `weight * sum_j KL(rho || rho_hat_j)`.
//! - [`contractive`]: Rifai et al. 2011, `contractive * mean_batch(||J_f(x)||_F^2)`, the squared
//!   Frobenius norm of the real encoder's Jacobian.
//!
//! Adding one is its file, a field of [`PenaltyConfig`] and a line in each of its methods.
//! Weight decay is applied by the optimizer (`train.weight_decay`).

pub mod contractive;
pub mod kl_sparsity;
pub mod l1;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use kl_sparsity::{KlSparsity, kl_sparsity};

use crate::bottleneck::{Bottleneck, BottleneckConfig};
use crate::error::ConfigError;
use crate::network::{Encoder, NetworkConfig};
use crate::objective::LossTerm;

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

impl PenaltyConfig {
    /// Checks the weights.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_weight("l1", self.l1)?;
        check_weight("contractive", self.contractive)?;
        if let Some(k) = &self.kl_sparsity {
            k.validate().map_err(|e| e.within("kl_sparsity"))?;
        }
        Ok(())
    }

    /// Checks that the penalties in use suit the rest of the model (keys from the model's root).
    pub fn validate_model(&self, network: &NetworkConfig, bottleneck: &BottleneckConfig) -> Result<(), ConfigError> {
        if let Some(k) = &self.kl_sparsity {
            let takes_activation = bottleneck.settings().takes_code_activation();
            k.validate_code(takes_activation, network.code_activation())
                .map_err(|e| e.within("penalty.kl_sparsity"))?;
        }
        if self.contractive > 0.0 {
            contractive::validate_model(network, bottleneck).map_err(|e| e.within("penalty.contractive"))?;
        }
        Ok(())
    }

    /// The penalty terms of a batch, each already weighted: those of the code
    /// (`[batch, code]`), then the contractive term of the encoder at `input`.
    pub fn terms(
        &self,
        code: &Tensor<2>,
        encoder: &Encoder,
        bottleneck: &Bottleneck,
        input: Tensor<2>,
    ) -> Vec<LossTerm> {
        let mut terms = self.code_terms(code);
        if self.contractive > 0.0
            && let Some(t) = contractive::term(encoder, bottleneck, input, self.contractive)
        {
            terms.push(t);
        }
        terms
    }

    /// The penalty terms that depend on the code alone (`[batch, code]`), each already weighted.
    pub fn code_terms(&self, code: &Tensor<2>) -> Vec<LossTerm> {
        let mut terms = Vec::new();
        if self.l1 > 0.0 {
            terms.push(l1::term(code, self.l1));
        }
        if let Some(k) = self.kl_sparsity.as_ref().filter(|k| k.weight > 0.0) {
            terms.push(k.term(code));
        }
        terms
    }
}

/// The largest penalty weight accepted.
pub const MAX_WEIGHT: f64 = 1e6;

pub(crate) fn check_weight(key: &str, w: f64) -> Result<(), ConfigError> {
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

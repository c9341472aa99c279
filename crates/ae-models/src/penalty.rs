//! The penalty axis: regularisers added to the reconstruction loss.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use crate::{ConfigError, LossTerm};

/// Weights of the penalties; a weight of 0 turns a penalty off. Penalties combine freely.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PenaltyConfig {
    /// Weight of the L1 activity penalty `mean_batch(sum_j |h_j|)` on the code.
    #[serde(default)]
    pub l1: f64,
}

impl PenaltyConfig {
    /// Checks the weights.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_weight("l1", self.l1)
    }

    /// The penalty terms for a batch of codes `[batch, code]`, each already weighted.
    pub fn terms(&self, code: &Tensor<2>) -> Vec<LossTerm> {
        let mut terms = Vec::new();
        if self.l1 > 0.0 {
            let l1 = code.clone().abs().sum_dim(1).mean().mul_scalar(self.l1);
            terms.push(LossTerm::new("l1", l1));
        }
        terms
    }
}

fn check_weight(key: &str, w: f64) -> Result<(), ConfigError> {
    if !w.is_finite() || w < 0.0 {
        return Err(ConfigError::new(key, format!("a penalty weight must be a finite number >= 0, got {w}")));
    }
    Ok(())
}

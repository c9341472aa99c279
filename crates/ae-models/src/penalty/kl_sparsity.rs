//! KL sparsity (Ng's sparse autoencoder): `weight * sum_j KL(rho || rho_hat_j)`, where `rho_hat_j`
//! is unit j's mean activation over the batch; needs a deterministic code in (0, 1) (sigmoid).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::check_weight;
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::objective::LossTerm;

/// KL sparsity settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KlSparsity {
    /// Target mean activation of each code unit, in (0, 1).
    pub rho: f64,
    /// Weight of the penalty.
    pub weight: f64,
}

impl KlSparsity {
    /// Checks the settings (keys relative to `kl_sparsity`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if !(self.rho > 0.0 && self.rho < 1.0) {
            return Err(ConfigError::new("rho", format!("must be in (0, 1), got {}", self.rho)));
        }
        check_weight("weight", self.weight)
    }

    /// Checks that the model's code suits the penalty: a deterministic code (`takes_activation`)
    /// with values in (0, 1).
    pub fn validate_code(&self, takes_activation: bool, activation: Activation) -> Result<(), ConfigError> {
        if activation.range() != (Some(0.0), Some(1.0)) || !takes_activation {
            return Err(ConfigError::new(
                "",
                format!(
                    "KL sparsity compares mean activations with rho in (0, 1): it needs a deterministic code with code_activation = \"sigmoid\" (it is \"{}\")",
                    activation.name()
                ),
            ));
        }
        Ok(())
    }

    /// The weighted term of a batch of codes.
    pub fn term(&self, code: &Tensor<2>) -> LossTerm {
        LossTerm::new("kl_sparsity", kl_sparsity(code, self.rho).mul_scalar(self.weight))
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn zero_at_the_target_and_checked() {
        let code = Tensor::<2>::from_data(TensorData::new(vec![0.2f32, 0.0, 0.0, 0.4], [2, 2]), &Device::flex());
        // Unit means 0.1 and 0.2 against rho 0.1: 0 + KL(0.1 || 0.2).
        let want = 0.1 * (0.1f64 / 0.2).ln() + 0.9 * (0.9f64 / 0.8).ln();
        let v = kl_sparsity(&code, 0.1).into_scalar::<f32>() as f64;
        assert!((v - want).abs() < 1e-6, "{v} vs {want}");
        assert_eq!(KlSparsity { rho: 1.0, weight: 1.0 }.validate().unwrap_err().key, "rho");
        let k = KlSparsity { rho: 0.1, weight: 1.0 };
        assert!(k.validate_code(true, Activation::Sigmoid).is_ok());
        assert!(
            k.validate_code(true, Activation::Relu).is_err() && k.validate_code(false, Activation::Sigmoid).is_err()
        );
    }
}

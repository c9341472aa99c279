//! Correntropy-induced loss (robust autoencoder, Qi et al. 2014):
//! `1 - exp(-(x - y)^2 / (2 sigma^2))` per element, which grows like MSE for small errors and
//! saturates at 1 for outliers.

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{Loss, check_sigma};
use crate::error::ConfigError;

/// Settings of the correntropy loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorrentropyLoss {
    /// Kernel width, in the data's units.
    pub sigma: f64,
}

impl Loss for CorrentropyLoss {
    fn name(&self) -> &'static str {
        "correntropy"
    }

    fn elementwise(&self, _logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        let s = self.sigma;
        (reconstruction - target).square().div_scalar(-2.0 * s * s).exp().neg().add_scalar(1.0)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_sigma(self.sigma)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_values::at;

    #[test]
    fn small_errors_cost_like_mse_and_outliers_saturate() {
        let l = CorrentropyLoss { sigma: 0.5 };
        assert!((at(&l, 0.0, 0.01, 0.0) - 0.0002).abs() < 1e-6);
        assert!((at(&l, 0.0, 100.0, 0.0) - 1.0).abs() < 1e-7);
        assert_eq!(CorrentropyLoss { sigma: 0.0 }.validate().unwrap_err().key, "sigma");
    }
}

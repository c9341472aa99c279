//! Gaussian negative log-likelihood with a fixed standard deviation `sigma`:
//! `sum_i [(x_i - mu_i)^2 / (2 sigma^2) + ln(sigma) + ln(2 pi) / 2]` per item (nats).

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::{Loss, check_sigma};
use crate::error::ConfigError;

/// Settings of the Gaussian likelihood.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianLikelihood {
    /// Standard deviation of the decoder's Gaussian.
    #[serde(default = "one")]
    pub sigma: f64,
}

fn one() -> f64 {
    1.0
}

impl Default for GaussianLikelihood {
    /// Unit standard deviation.
    fn default() -> Self {
        Self { sigma: one() }
    }
}

impl Loss for GaussianLikelihood {
    fn name(&self) -> &'static str {
        "gaussian"
    }

    fn elementwise(&self, _logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        let s = self.sigma;
        (reconstruction - target)
            .square()
            .div_scalar(2.0 * s * s)
            .add_scalar(s.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_sigma(self.sigma)
    }

    fn is_likelihood(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_values::at;

    #[test]
    fn equals_the_normal_density() {
        let l = GaussianLikelihood { sigma: 2.0 };
        let want = -(-(1.5f64 * 1.5) / 8.0).exp().ln() + (2.0 * (2.0 * std::f64::consts::PI).sqrt()).ln();
        assert!((at(&l, 0.0, 0.5, 2.0) - want).abs() < 1e-5, "{}", at(&l, 0.0, 0.5, 2.0));
    }
}

//! Additive Gaussian noise: `x + N(0, sigma^2)` per element, optionally clipped to the data range.

use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::{Corruption, check_positive, check_range, clip};
use crate::error::ConfigError;

/// Settings of additive Gaussian noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GaussianNoise {
    /// Standard deviation of the noise.
    pub sigma: f64,
    /// Clip the result to this range (the data range), e.g. `[0.0, 1.0]`.
    #[serde(default)]
    pub clip: Option<[f64; 2]>,
}

impl Corruption for GaussianNoise {
    fn name(&self) -> &'static str {
        "gaussian"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_positive("sigma", self.sigma)?;
        check_range(&self.clip, "clip")
    }

    fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        let noise = Tensor::random(x.shape(), Distribution::Normal(0.0, self.sigma), &x.device());
        clip(x + noise, &self.clip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn noise_has_the_standard_deviation_and_clipping_keeps_the_range() {
        let x = Tensor::<2>::zeros([100, 100], &Device::flex());
        let v: Vec<f32> =
            GaussianNoise { sigma: 0.3, clip: None }.apply(x.clone()).into_data().try_into_vec::<f32>().unwrap();
        let var = v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>() / v.len() as f64;
        assert!((var.sqrt() - 0.3).abs() < 0.01, "std {}", var.sqrt());
        let v: Vec<f32> =
            GaussianNoise { sigma: 0.3, clip: Some([0.0, 1.0]) }.apply(x).into_data().try_into_vec::<f32>().unwrap();
        assert!(v.iter().all(|a| (0.0..=1.0).contains(a)));
        assert_eq!(GaussianNoise { sigma: 0.0, clip: None }.validate().unwrap_err().key, "sigma");
        assert_eq!(GaussianNoise { sigma: 1.0, clip: Some([1.0, 0.0]) }.validate().unwrap_err().key, "clip");
    }
}

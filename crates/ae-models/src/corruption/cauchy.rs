//! Additive Cauchy noise: heavy-tailed `Cauchy(0, scale)` per element, optionally clipped to the
//! data range.

use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::{Corruption, check_positive, check_range, clip};
use crate::error::ConfigError;

/// Settings of additive Cauchy noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CauchyNoise {
    /// Scale (half width at half maximum) of the noise.
    pub scale: f64,
    /// Clip the result to this range (the data range), e.g. `[0.0, 1.0]`.
    #[serde(default)]
    pub clip: Option<[f64; 2]>,
}

impl Corruption for CauchyNoise {
    fn name(&self) -> &'static str {
        "cauchy"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_positive("scale", self.scale)?;
        check_range(&self.clip, "clip")
    }

    fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        // Inverse CDF: scale * tan(pi (u - 1/2)), u in (0, 1).
        let u = Tensor::<2>::random(x.shape(), Distribution::Uniform(1e-6, 1.0 - 1e-6), &x.device());
        let noise = u.sub_scalar(0.5).mul_scalar(std::f64::consts::PI).tan().mul_scalar(self.scale);
        clip(x + noise, &self.clip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn median_absolute_noise_is_the_scale() {
        let x = Tensor::<2>::zeros([100, 100], &Device::flex());
        let mut v: Vec<f32> =
            CauchyNoise { scale: 0.2, clip: None }.apply(x).into_data().try_into_vec::<f32>().unwrap();
        v.iter_mut().for_each(|a| *a = a.abs());
        v.sort_by(f32::total_cmp);
        let median = v[v.len() / 2];
        assert!((median - 0.2).abs() < 0.02, "{median}");
        assert_eq!(CauchyNoise { scale: f64::INFINITY, clip: None }.validate().unwrap_err().key, "scale");
    }
}

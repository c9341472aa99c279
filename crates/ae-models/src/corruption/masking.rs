//! Masking noise: each element set to zero with probability `p` (Vincent et al. 2008).

use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::{Corruption, check_rate};
use crate::error::ConfigError;

/// Settings of masking noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Masking {
    /// Probability of zeroing an element.
    pub p: f64,
}

impl Corruption for Masking {
    fn name(&self) -> &'static str {
        "masking"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_rate(self.p)
    }

    fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        let keep =
            Tensor::<2>::random(x.shape(), Distribution::Uniform(0.0, 1.0), &x.device()).greater_equal_elem(self.p);
        x.mul(keep.float())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn zeroes_about_p_of_the_elements() {
        let x = Tensor::<2>::ones([100, 100], &Device::flex());
        let v: Vec<f32> = Masking { p: 0.25 }.apply(x).into_data().try_into_vec::<f32>().unwrap();
        let zeros = v.iter().filter(|&&a| a == 0.0).count() as f64 / v.len() as f64;
        assert!((zeros - 0.25).abs() < 0.02, "{zeros}");
        assert!(v.iter().all(|&a| a == 0.0 || a == 1.0));
        assert_eq!(Masking { p: 1.0 }.validate().unwrap_err().key, "p");
    }
}

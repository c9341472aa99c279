//! Salt-and-pepper noise: each element, with probability `p`, set to the low or the high end of
//! the data range (equally likely).

use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use super::{Corruption, check_range, check_rate};
use crate::error::ConfigError;

/// Settings of salt-and-pepper noise.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaltAndPepper {
    /// Probability of replacing an element.
    pub p: f64,
    /// The data range `[low, high]` (default `[0, 1]`).
    #[serde(default = "unit_range")]
    pub range: [f64; 2],
}

fn unit_range() -> [f64; 2] {
    [0.0, 1.0]
}

impl Corruption for SaltAndPepper {
    fn name(&self) -> &'static str {
        "salt_and_pepper"
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_rate(self.p)?;
        check_range(&Some(self.range), "range")
    }

    fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        // u < p/2: low ("pepper"); p/2 <= u < p: high ("salt"); else unchanged.
        let (p, [lo, hi]) = (self.p, self.range);
        let u = Tensor::<2>::random(x.shape(), Distribution::Uniform(0.0, 1.0), &x.device());
        let pepper = u.clone().lower_elem(p / 2.0);
        let salt = u.clone().lower_elem(p).bool_and(u.greater_equal_elem(p / 2.0));
        x.mask_fill(pepper, lo).mask_fill(salt, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Device;

    #[test]
    fn replaces_about_p_half_low_half_high() {
        let x = Tensor::<2>::full([100, 100], 0.5, &Device::flex());
        let v: Vec<f32> =
            SaltAndPepper { p: 0.2, range: [-1.0, 2.0] }.apply(x).into_data().try_into_vec::<f32>().unwrap();
        let share = |t: f32| v.iter().filter(|&&a| a == t).count() as f64 / v.len() as f64;
        assert!((share(-1.0) - 0.1).abs() < 0.015 && (share(2.0) - 0.1).abs() < 0.015);
        assert!((share(0.5) - 0.8).abs() < 0.02);
        assert_eq!(SaltAndPepper { p: 0.1, range: [1.0, 1.0] }.validate().unwrap_err().key, "range");
    }
}

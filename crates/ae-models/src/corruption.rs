//! The corruption axis: noise applied to the training input only (denoising autoencoders).
//!
//! The target of the loss stays the clean input; evaluation never corrupts.

use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

use crate::ConfigError;

/// Which corruption to apply to training inputs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CorruptionConfig {
    /// Train on the clean input.
    #[default]
    None,
    /// Add N(0, sigma^2) noise to every element.
    Gaussian {
        /// Standard deviation of the noise.
        sigma: f64,
        /// Clip the result to this range (the data range), e.g. `[0.0, 1.0]`.
        #[serde(default)]
        clip: Option<[f64; 2]>,
    },
    /// Set each element to zero with probability `p`.
    Masking {
        /// Probability of zeroing an element.
        p: f64,
    },
    /// Set each element, with probability `p`, to the low or the high end of `range` (equally
    /// likely).
    SaltAndPepper {
        /// Probability of replacing an element.
        p: f64,
        /// The data range `[low, high]` (default `[0, 1]`).
        #[serde(default = "unit_range")]
        range: [f64; 2],
    },
    /// Add heavy-tailed Cauchy(0, scale) noise to every element.
    Cauchy {
        /// Scale (half width at half maximum) of the noise.
        scale: f64,
        /// Clip the result to this range (the data range), e.g. `[0.0, 1.0]`.
        #[serde(default)]
        clip: Option<[f64; 2]>,
    },
}

fn unit_range() -> [f64; 2] {
    [0.0, 1.0]
}

fn check_rate(p: f64) -> Result<(), ConfigError> {
    if !(0.0..1.0).contains(&p) {
        return Err(ConfigError::new("p", format!("must be in [0, 1), got {p}")));
    }
    Ok(())
}

fn check_clip(clip: &Option<[f64; 2]>, key: &str) -> Result<(), ConfigError> {
    if let Some([lo, hi]) = clip
        && lo.partial_cmp(hi) != Some(std::cmp::Ordering::Less)
    {
        return Err(ConfigError::new(key, format!("needs low < high, got [{lo}, {hi}]")));
    }
    Ok(())
}

impl CorruptionConfig {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self {
            CorruptionConfig::None => Ok(()),
            CorruptionConfig::Gaussian { sigma, clip } => {
                if !sigma.is_finite() || *sigma <= 0.0 {
                    return Err(ConfigError::new("sigma", format!("must be a finite number > 0, got {sigma}")));
                }
                check_clip(clip, "clip")
            }
            CorruptionConfig::Masking { p } => check_rate(*p),
            CorruptionConfig::SaltAndPepper { p, range } => {
                check_rate(*p)?;
                check_clip(&Some(*range), "range")
            }
            CorruptionConfig::Cauchy { scale, clip } => {
                if !scale.is_finite() || *scale <= 0.0 {
                    return Err(ConfigError::new("scale", format!("must be a finite number > 0, got {scale}")));
                }
                check_clip(clip, "clip")
            }
        }
    }

    /// The name used in configs.
    pub fn name(&self) -> &'static str {
        match self {
            CorruptionConfig::None => "none",
            CorruptionConfig::Gaussian { .. } => "gaussian",
            CorruptionConfig::Masking { .. } => "masking",
            CorruptionConfig::SaltAndPepper { .. } => "salt_and_pepper",
            CorruptionConfig::Cauchy { .. } => "cauchy",
        }
    }

    /// Whether inputs are left as they are.
    pub fn is_none(&self) -> bool {
        matches!(self, CorruptionConfig::None)
    }

    /// Corrupts a batch `[batch, features]`, drawing from the device's random generator.
    pub fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        let device = x.device();
        let shape = x.shape();
        match self {
            CorruptionConfig::None => x,
            CorruptionConfig::Gaussian { sigma, clip } => {
                let noisy = x + Tensor::random(shape, Distribution::Normal(0.0, *sigma), &device);
                match clip {
                    Some([lo, hi]) => noisy.clamp(*lo, *hi),
                    None => noisy,
                }
            }
            CorruptionConfig::Masking { p } => {
                let keep = Tensor::<2>::random(shape, Distribution::Uniform(0.0, 1.0), &device).greater_equal_elem(*p);
                x.mul(keep.float())
            }
            CorruptionConfig::SaltAndPepper { p, range: [lo, hi] } => {
                // u < p/2: low ("pepper"); p/2 <= u < p: high ("salt"); else unchanged.
                let u = Tensor::<2>::random(shape, Distribution::Uniform(0.0, 1.0), &device);
                let pepper = u.clone().lower_elem(*p / 2.0);
                let salt = u.clone().lower_elem(*p).bool_and(u.greater_equal_elem(*p / 2.0));
                x.mask_fill(pepper, *lo).mask_fill(salt, *hi)
            }
            CorruptionConfig::Cauchy { scale, clip } => {
                // Inverse CDF: scale * tan(pi (u - 1/2)), u in (0, 1).
                let u = Tensor::<2>::random(shape, Distribution::Uniform(1e-6, 1.0 - 1e-6), &device);
                let noisy = x + u.sub_scalar(0.5).mul_scalar(std::f64::consts::PI).tan().mul_scalar(*scale);
                match clip {
                    Some([lo, hi]) => noisy.clamp(*lo, *hi),
                    None => noisy,
                }
            }
        }
    }
}

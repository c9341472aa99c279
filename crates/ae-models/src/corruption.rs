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
                if let Some([lo, hi]) = clip {
                    if !(lo < hi) {
                        return Err(ConfigError::new("clip", format!("needs low < high, got [{lo}, {hi}]")));
                    }
                }
                Ok(())
            }
            CorruptionConfig::Masking { p } => {
                if !(0.0..1.0).contains(p) {
                    return Err(ConfigError::new("p", format!("must be in [0, 1), got {p}")));
                }
                Ok(())
            }
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
        }
    }
}

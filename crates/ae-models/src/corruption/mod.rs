//! The corruption axis: noise applied to the training input only (denoising autoencoders).
//!
//! The target of the loss stays the clean input; evaluation never corrupts. Each corruption lives
//! in one file, its settings implementing [`Corruption`]; adding one is its file, a line in
//! [`CorruptionConfig`] and a line in [`CorruptionConfig::corruption`].

pub mod cauchy;
pub mod gaussian;
pub mod masking;
pub mod salt_and_pepper;

use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

pub use cauchy::CauchyNoise;
pub use gaussian::GaussianNoise;
pub use masking::Masking;
pub use salt_and_pepper::SaltAndPepper;

use crate::error::ConfigError;

/// What every corruption does.
pub trait Corruption {
    /// The name used in configs.
    fn name(&self) -> &'static str;

    /// Checks the parameters; the key is relative to `corruption`.
    fn validate(&self) -> Result<(), ConfigError>;

    /// Corrupts a batch `[batch, features]`, drawing from the device's random generator.
    fn apply(&self, x: Tensor<2>) -> Tensor<2>;
}

/// Which corruption to apply to training inputs (the `[model.corruption]` table, chosen by
/// `kind`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum CorruptionConfig {
    /// Train on the clean input.
    #[default]
    None,
    /// Add Gaussian noise to every element.
    Gaussian(GaussianNoise),
    /// Set elements to zero.
    Masking(Masking),
    /// Set elements to the low or high end of the data range.
    SaltAndPepper(SaltAndPepper),
    /// Add heavy-tailed Cauchy noise to every element.
    Cauchy(CauchyNoise),
}

impl CorruptionConfig {
    /// The corruption, `None` for clean inputs.
    pub fn corruption(&self) -> Option<&dyn Corruption> {
        match self {
            CorruptionConfig::None => None,
            CorruptionConfig::Gaussian(c) => Some(c),
            CorruptionConfig::Masking(c) => Some(c),
            CorruptionConfig::SaltAndPepper(c) => Some(c),
            CorruptionConfig::Cauchy(c) => Some(c),
        }
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.corruption().map_or(Ok(()), |c| c.validate())
    }

    /// The name used in configs.
    pub fn name(&self) -> &'static str {
        self.corruption().map_or("none", |c| c.name())
    }

    /// Whether inputs are left as they are.
    pub fn is_none(&self) -> bool {
        self.corruption().is_none()
    }

    /// Corrupts a batch `[batch, features]`, drawing from the device's random generator.
    pub fn apply(&self, x: Tensor<2>) -> Tensor<2> {
        match self.corruption() {
            Some(c) => c.apply(x),
            None => x,
        }
    }
}

/// Fails unless `p` is a probability in [0, 1).
pub(crate) fn check_rate(p: f64) -> Result<(), ConfigError> {
    if !(0.0..1.0).contains(&p) {
        return Err(ConfigError::new("p", format!("must be in [0, 1), got {p}")));
    }
    Ok(())
}

/// Fails unless `range` (`[low, high]`) has low < high; `key` names it.
pub(crate) fn check_range(range: &Option<[f64; 2]>, key: &str) -> Result<(), ConfigError> {
    if let Some([lo, hi]) = range
        && lo.partial_cmp(hi) != Some(std::cmp::Ordering::Less)
    {
        return Err(ConfigError::new(key, format!("needs low < high, got [{lo}, {hi}]")));
    }
    Ok(())
}

/// Fails unless `value` is finite and > 0; `key` names it.
pub(crate) fn check_positive(key: &str, value: f64) -> Result<(), ConfigError> {
    if !value.is_finite() || value <= 0.0 {
        return Err(ConfigError::new(key, format!("must be a finite number > 0, got {value}")));
    }
    Ok(())
}

/// `x` clipped to `clip` when there is one.
pub(crate) fn clip(x: Tensor<2>, clip: &Option<[f64; 2]>) -> Tensor<2> {
    match clip {
        Some([lo, hi]) => x.clamp(*lo, *hi),
        None => x,
    }
}

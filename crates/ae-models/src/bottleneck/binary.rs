//! The binary bottleneck of semantic hashing (Salakhutdinov & Hinton 2009): a sigmoid code pushed
//! to 0/1 during training, so that thresholding at 1/2 loses little and items can be retrieved by
//! Hamming distance.
//!
//! Two ways to push the code to 0/1:
//! - `noise`: add N(0, sigma^2) to the pre-sigmoid activation in training; only saturated units
//!   carry information through the noise, so the encoder learns to saturate.
//! - `straight_through`: the forward pass uses the rounded code, the backward pass the sigmoid's
//!   gradient (Bengio et al. 2013).

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Distribution, Tensor, activation};
use serde::{Deserialize, Serialize};

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::schedule::Schedule;

/// Settings of a binary code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BinaryConfig {
    /// `noise` (Gaussian noise before the sigmoid) or `straight_through` (rounding).
    #[serde(default)]
    pub method: Binarization,
    /// Standard deviation of the pre-sigmoid noise (`noise` method).
    #[serde(default = "default_noise")]
    pub noise: f64,
}

fn default_noise() -> f64 {
    4.0
}

impl Default for BinaryConfig {
    /// Pre-sigmoid noise of standard deviation 4.
    fn default() -> Self {
        Self { method: Binarization::default(), noise: default_noise() }
    }
}

impl BottleneckSettings for BinaryConfig {
    fn validate(&self, _code: usize) -> Result<(), ConfigError> {
        let noise = self.noise;
        if !(noise.is_finite() && noise >= 0.0) {
            return Err(ConfigError::new("noise", format!("must be a finite number >= 0, got {noise}")));
        }
        Ok(())
    }

    fn init(&self, features: usize, code: usize, _activation: Activation, device: &Device) -> Bottleneck {
        Bottleneck::Binary(BinaryBottleneck::new(features, code, self.method, self.noise, device))
    }
}

/// How codes are pushed to 0/1 in training.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Binarization {
    /// Gaussian noise before the sigmoid.
    #[default]
    Noise,
    /// Round in the forward pass, identity gradient in the backward pass.
    StraightThrough,
}

/// A sigmoid code trained to be binary.
#[derive(Module, Debug)]
pub struct BinaryBottleneck {
    /// Features to the pre-sigmoid code.
    pub linear: Linear,
    /// How codes are pushed to 0/1.
    #[module(skip)]
    pub method: Binarization,
    /// Standard deviation of the pre-sigmoid noise (`noise` method).
    #[module(skip)]
    pub noise: f64,
}

impl BinaryBottleneck {
    /// A bottleneck from `features` to `code` bits.
    pub fn new(features: usize, code: usize, method: Binarization, noise: f64, device: &Device) -> Self {
        Self { linear: LinearConfig::new(features, code).init(device), method, noise }
    }
}

impl BottleneckLayer for BinaryBottleneck {
    /// The training code: noisy sigmoid, or rounded with a straight-through gradient.
    fn forward(&self, features: Tensor<2>, _schedule: Schedule) -> CodeOutput {
        let pre = self.linear.forward(features);
        CodeOutput::plain(match self.method {
            Binarization::Noise => {
                let eps = Tensor::random(pre.shape(), Distribution::Normal(0.0, self.noise), &pre.device());
                activation::sigmoid(pre + eps)
            }
            Binarization::StraightThrough => {
                let s = activation::sigmoid(pre);
                s.clone() + (s.clone().round() - s).detach()
            }
        })
    }

    /// The code of each item as probabilities in (0, 1) (no noise).
    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        activation::sigmoid(self.linear.forward(features))
    }

    fn code_linear(&self) -> Option<&Linear> {
        Some(&self.linear)
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "binary",
            layers: vec![("linear", &self.linear)],
            activation: Some(Activation::Sigmoid),
            settings: Vec::new(),
            note: Some("bits: code > 0.5"),
            code: self.code_width(),
        }
    }
}

/// The bits of a code: 1 where a unit is above 1/2.
pub fn to_bits(code: Tensor<2>) -> Tensor<2> {
    code.greater_elem(0.5).float()
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn straight_through_codes_are_bits_and_encodings_are_probabilities() {
        let device = Device::flex();
        let b = BinaryBottleneck::new(4, 8, Binarization::StraightThrough, 0.0, &device);
        let x = Tensor::<2>::random([16, 4], Distribution::Normal(0.0, 3.0), &device);
        let code: Vec<f32> = b.forward(x.clone(), Schedule::END).code.into_data().try_into_vec::<f32>().unwrap();
        assert!(code.iter().all(|&v| v == 0.0 || v == 1.0));
        let p = b.encode(x);
        let bits: Vec<f32> = to_bits(p.clone()).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(bits, code);
        let p: Vec<f32> = p.into_data().try_into_vec::<f32>().unwrap();
        assert!(p.iter().all(|&v| v > 0.0 && v < 1.0));
        let half = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, 0.51], [1, 2]), &device);
        assert_eq!(to_bits(half).into_data().try_into_vec::<f32>().unwrap(), [0.0, 1.0]);
        assert_eq!(BinaryConfig { noise: -1.0, ..Default::default() }.validate(8).unwrap_err().key, "noise");
    }
}

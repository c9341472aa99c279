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

    /// The training code: noisy sigmoid, or rounded with a straight-through gradient.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        let pre = self.linear.forward(features);
        match self.method {
            Binarization::Noise => {
                let eps = Tensor::random(pre.shape(), Distribution::Normal(0.0, self.noise), &pre.device());
                activation::sigmoid(pre + eps)
            }
            Binarization::StraightThrough => {
                let s = activation::sigmoid(pre);
                s.clone() + (s.clone().round() - s).detach()
            }
        }
    }

    /// The code of each item as probabilities in (0, 1) (no noise).
    pub fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        activation::sigmoid(self.linear.forward(features))
    }
}

/// The bits of a code: 1 where a unit is above 1/2.
pub fn to_bits(code: Tensor<2>) -> Tensor<2> {
    code.greater_elem(0.5).float()
}

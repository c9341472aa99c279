//! The deterministic bottleneck: `code = activation(W features + b)`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};

use crate::activation::Activation;

/// One linear layer into the code, then the code activation.
#[derive(Module, Debug)]
pub struct DeterministicBottleneck {
    /// Features to code.
    pub linear: Linear,
    /// Activation of the code.
    #[module(skip)]
    pub activation: Activation,
}

impl DeterministicBottleneck {
    /// A bottleneck from `features` inputs to `code` units.
    pub fn new(features: usize, code: usize, activation: Activation, device: &Device) -> Self {
        Self { linear: LinearConfig::new(features, code).init(device), activation }
    }

    /// The code of a batch of features.
    pub fn forward(&self, features: Tensor<2>) -> Tensor<2> {
        self.activation.apply(self.linear.forward(features))
    }
}

//! The deterministic bottleneck: `code = activation(W features + b)`.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::schedule::Schedule;

/// Settings of a plain code (none beyond the network's `code` and `code_activation`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeterministicConfig {}

impl BottleneckSettings for DeterministicConfig {
    fn validate(&self, _code: usize) -> Result<(), ConfigError> {
        Ok(())
    }

    fn init(&self, features: usize, code: usize, activation: Activation, device: &Device) -> Bottleneck {
        Bottleneck::Deterministic(DeterministicBottleneck::new(features, code, activation, device))
    }

    fn takes_code_activation(&self) -> bool {
        true
    }
}

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
}

impl BottleneckLayer for DeterministicBottleneck {
    fn forward(&self, features: Tensor<2>, _schedule: Schedule) -> CodeOutput {
        CodeOutput::plain(self.encode(features))
    }

    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        self.activation.apply(self.linear.forward(features))
    }

    fn code_linear(&self) -> Option<&Linear> {
        Some(&self.linear)
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "deterministic",
            layers: vec![("linear", &self.linear)],
            activation: Some(self.activation),
            settings: Vec::new(),
            note: None,
            code: self.code_width(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn the_code_is_the_activated_linear_map() {
        let device = Device::flex();
        let b = DeterministicBottleneck::new(3, 2, Activation::Relu, &device);
        let x = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), &device);
        let w: Vec<f32> = b.linear.weight.val().into_data().try_into_vec::<f32>().unwrap();
        let bias: Vec<f32> = b.linear.bias.as_ref().unwrap().val().into_data().try_into_vec::<f32>().unwrap();
        let code: Vec<f32> = b.forward(x, Schedule::END).code.into_data().try_into_vec::<f32>().unwrap();
        for j in 0..2 {
            let pre = 1.0 * w[j] - 2.0 * w[2 + j] + 0.5 * w[4 + j] + bias[j];
            assert!((code[j] - pre.max(0.0)).abs() < 1e-6, "unit {j}: {} vs {}", code[j], pre.max(0.0));
        }
        assert_eq!(b.code_width(), 2);
        assert_eq!(b.code_layer().unwrap().dims(), [3, 2]);
    }
}

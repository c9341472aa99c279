//! The identity bottleneck: no parameters, the code is the encoder's output (a convolutional
//! network's last feature map, flattened).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::schedule::Schedule;

/// Settings of the identity bottleneck (none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityConfig {}

impl BottleneckSettings for IdentityConfig {
    fn validate(&self, _code: usize) -> Result<(), ConfigError> {
        Ok(())
    }

    fn init(&self, features: usize, _code: usize, _activation: Activation, _device: &Device) -> Bottleneck {
        Bottleneck::Identity(IdentityBottleneck { width: features })
    }

    fn weights(&self, _features: usize, _code: usize) -> u128 {
        0
    }

    fn has_code_layer(&self) -> bool {
        false
    }

    fn single_code_layer(&self) -> bool {
        false
    }
}

/// The identity bottleneck: no parameters, the code is the encoder's output.
#[derive(Module, Debug)]
pub struct IdentityBottleneck {
    /// Width of the code.
    #[module(skip)]
    pub width: usize,
}

impl BottleneckLayer for IdentityBottleneck {
    fn forward(&self, features: Tensor<2>, _schedule: Schedule) -> CodeOutput {
        CodeOutput::plain(features)
    }

    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        features
    }

    fn code_width(&self) -> usize {
        self.width
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "identity",
            layers: Vec::new(),
            activation: None,
            settings: Vec::new(),
            note: None,
            code: self.width,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn the_code_is_the_features() {
        let device = Device::flex();
        let b = IdentityConfig::default().init(6, 6, Activation::Linear, &device);
        let x = Tensor::<2>::random([4, 6], Distribution::Default, &device);
        let out = b.forward(x.clone(), Schedule::END);
        assert!(out.terms.is_empty());
        out.code.into_data().assert_eq(&x.into_data(), true);
        assert_eq!(b.code_width(), 6);
        assert_eq!(IdentityConfig::default().weights(6, 6), 0);
    }
}

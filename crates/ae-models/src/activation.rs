//! Element-wise activation functions, named as configs name them.

use burn::tensor::{Tensor, activation};
use serde::{Deserialize, Serialize};

/// An activation function applied after a layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// max(0, x).
    #[default]
    Relu,
    /// Scaled exponential linear unit (Klambauer et al. 2017).
    Selu,
    /// Exponential linear unit, alpha = 1.
    Elu,
    /// Logistic sigmoid, output in (0, 1).
    Sigmoid,
    /// Hyperbolic tangent, output in (-1, 1).
    Tanh,
    /// Leaky ReLU with negative slope 0.01.
    LeakyRelu,
    /// Gaussian error linear unit (exact, erf form).
    Gelu,
    /// The identity: no activation.
    Linear,
}

impl Activation {
    /// Every activation, in the order configs list them.
    pub const ALL: [Activation; 8] = [
        Activation::Relu,
        Activation::Selu,
        Activation::Elu,
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::LeakyRelu,
        Activation::Gelu,
        Activation::Linear,
    ];

    /// Applies the activation.
    pub fn apply<const D: usize>(self, x: Tensor<D>) -> Tensor<D> {
        match self {
            Activation::Relu => activation::relu(x),
            Activation::Selu => activation::selu(x),
            Activation::Elu => activation::elu(x, 1.0),
            Activation::Sigmoid => activation::sigmoid(x),
            Activation::Tanh => activation::tanh(x),
            Activation::LeakyRelu => activation::leaky_relu(x, 0.01),
            Activation::Gelu => activation::gelu(x),
            Activation::Linear => x,
        }
    }

    /// The closed range the output can take, `None` where it is unbounded on a side.
    pub fn range(self) -> (Option<f64>, Option<f64>) {
        match self {
            Activation::Sigmoid => (Some(0.0), Some(1.0)),
            Activation::Tanh => (Some(-1.0), Some(1.0)),
            Activation::Relu => (Some(0.0), None),
            Activation::Selu => (Some(-1.7580993408473766), None),
            Activation::Elu => (Some(-1.0), None),
            Activation::Gelu => (Some(-0.17), None),
            Activation::LeakyRelu | Activation::Linear => (None, None),
        }
    }

    /// The config name of this activation.
    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "relu",
            Activation::Selu => "selu",
            Activation::Elu => "elu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::LeakyRelu => "leaky_relu",
            Activation::Gelu => "gelu",
            Activation::Linear => "linear",
        }
    }
}

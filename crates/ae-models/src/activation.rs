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

/// How far inside the edges of a bounded range [`Activation::preimage`] keeps its argument.
pub const PREIMAGE_MARGIN: f64 = 1e-3;

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

    /// A pre-activation value whose activation is `y`, for the activations that can reach any
    /// value of their range (`linear`, `sigmoid`, `tanh`; None for the others). Values at or
    /// beyond the edge of a bounded range are first pulled inside it by [`PREIMAGE_MARGIN`], so
    /// the answer is finite: a sigmoid's preimage of 0 is logit(1e-3), about -6.9.
    pub fn preimage(self, y: f64) -> Option<f64> {
        let m = PREIMAGE_MARGIN;
        match self {
            Activation::Linear => Some(y),
            Activation::Sigmoid => {
                let p = y.clamp(m, 1.0 - m);
                Some((p / (1.0 - p)).ln())
            }
            Activation::Tanh => Some(y.clamp(-1.0 + m, 1.0 - m).atanh()),
            _ => None,
        }
    }

    /// The derivative of the activation at the pre-activation `pre`, elementwise (for Jacobians
    /// built explicitly, e.g. the contractive penalty). Built from tensor ops, so autodiff can
    /// differentiate through it.
    pub fn derivative<const D: usize>(self, pre: Tensor<D>) -> Tensor<D> {
        const SELU_ALPHA: f64 = 1.6732632423543772;
        const SELU_SCALE: f64 = 1.0507009873554805;
        let positive = || pre.clone().greater_elem(0.0).float();
        match self {
            Activation::Relu => positive(),
            Activation::LeakyRelu => positive().mul_scalar(0.99).add_scalar(0.01),
            Activation::Linear => pre.ones_like(),
            Activation::Sigmoid => {
                let s = activation::sigmoid(pre);
                s.clone() * s.neg().add_scalar(1.0)
            }
            Activation::Tanh => activation::tanh(pre).square().neg().add_scalar(1.0),
            Activation::Elu => {
                let p = positive();
                p.clone() + p.neg().add_scalar(1.0) * pre.clamp_max(0.0).exp()
            }
            Activation::Selu => {
                let p = positive();
                (p.clone() + p.neg().add_scalar(1.0) * pre.clamp_max(0.0).exp().mul_scalar(SELU_ALPHA))
                    .mul_scalar(SELU_SCALE)
            }
            Activation::Gelu => {
                // d/dx [x Phi(x)] = Phi(x) + x phi(x)
                let cdf = pre.clone().div_scalar(std::f64::consts::SQRT_2).erf().add_scalar(1.0).mul_scalar(0.5);
                let pdf =
                    pre.clone().square().mul_scalar(-0.5).exp().mul_scalar(1.0 / (2.0 * std::f64::consts::PI).sqrt());
                cdf + pre * pdf
            }
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

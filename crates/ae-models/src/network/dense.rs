//! Dense (fully connected) encoder and mirrored decoder of any depth.

use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::ConfigError;
use crate::activation::Activation;

/// Settings of a dense network: `input - hidden... - code - reversed hidden... - input`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenseConfig {
    /// Widths of the encoder's hidden layers, input side first; the decoder mirrors them.
    #[serde(default)]
    pub hidden: Vec<usize>,
    /// Width of the code.
    pub code: usize,
    /// Activation of every hidden layer (encoder and decoder).
    #[serde(default)]
    pub activation: Activation,
    /// Activation of the code layer (`linear` keeps the code unbounded).
    #[serde(default = "linear")]
    pub code_activation: Activation,
    /// Activation of the reconstruction (`sigmoid` for data in [0, 1], `linear` for z-scores).
    #[serde(default = "linear")]
    pub output_activation: Activation,
    /// Tie the decoder's weights to the transposes of the encoder's (and the code layer's): the
    /// decoder then owns only its biases.
    #[serde(default)]
    pub tied: bool,
}

fn linear() -> Activation {
    Activation::Linear
}

impl DenseConfig {
    /// A network with the given hidden widths and code width, relu hidden layers, linear code and
    /// output.
    pub fn new(hidden: Vec<usize>, code: usize) -> Self {
        Self {
            hidden,
            code,
            activation: Activation::Relu,
            code_activation: Activation::Linear,
            output_activation: Activation::Linear,
            tied: false,
        }
    }

    /// Checks every width for an input of `input` features.
    pub fn validate(&self, input: usize) -> Result<(), ConfigError> {
        if input == 0 {
            return Err(ConfigError::new("input", "the data has 0 features per item"));
        }
        if self.code == 0 {
            return Err(ConfigError::new("code", "the code needs at least 1 unit"));
        }
        if let Some(i) = self.hidden.iter().position(|&w| w == 0) {
            return Err(ConfigError::new(format!("hidden[{i}]"), "a hidden layer needs at least 1 unit"));
        }
        Ok(())
    }

    /// Builds the encoder (input to last hidden layer) and decoder (code to input logits).
    pub fn init(&self, input: usize, device: &Device) -> (DenseEncoder, DenseDecoder) {
        let mut widths = vec![input];
        widths.extend(&self.hidden);
        let encoder = DenseEncoder { layers: chain(&widths, device), activation: self.activation, input };
        let mut back: Vec<usize> = vec![self.code];
        back.extend(self.hidden.iter().rev());
        back.push(input);
        let decoder = if self.tied {
            let biases = back[1..].iter().map(|&w| Param::from_tensor(Tensor::zeros([w], device))).collect();
            DenseDecoder { layers: Vec::new(), biases, activation: self.activation }
        } else {
            DenseDecoder { layers: chain(&back, device), biases: Vec::new(), activation: self.activation }
        };
        (encoder, decoder)
    }
}

fn chain(widths: &[usize], device: &Device) -> Vec<Linear> {
    widths.windows(2).map(|w| LinearConfig::new(w[0], w[1]).init(device)).collect()
}

/// Dense encoder: every layer followed by the hidden activation.
#[derive(Module, Debug)]
pub struct DenseEncoder {
    /// The layers, input side first (empty for a shallow autoencoder).
    pub layers: Vec<Linear>,
    /// Activation after each layer.
    #[module(skip)]
    pub activation: Activation,
    /// Width of the input.
    #[module(skip)]
    pub input: usize,
}

impl DenseEncoder {
    /// Maps `[batch, input]` to `[batch, features]`.
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        for layer in &self.layers {
            x = self.activation.apply(layer.forward(x));
        }
        x
    }

    /// Width of the output features (the input width when there are no layers).
    pub fn features(&self) -> usize {
        self.layers.last().map(|l| l.weight.dims()[1]).unwrap_or(self.input)
    }
}

/// Dense decoder: the hidden activation after every layer but the last, which returns logits.
/// Untied, it owns its layers; tied, only the biases of each layer, its weights being the
/// transposed encoder weights handed to [`DenseDecoder::forward_tied`].
#[derive(Module, Debug)]
pub struct DenseDecoder {
    /// The layers, code side first (empty when tied).
    pub layers: Vec<Linear>,
    /// Biases of each layer, code side first (tied decoders only).
    pub biases: Vec<Param<Tensor<1>>>,
    /// Activation after each layer but the last.
    #[module(skip)]
    pub activation: Activation,
}

impl DenseDecoder {
    /// Whether the weights are tied to the encoder's.
    pub fn is_tied(&self) -> bool {
        !self.biases.is_empty()
    }

    /// Tied pass: layer i computes `x W_i^T + b_i`, with `weights[i]` the encoder-side weight
    /// `[out_i, in_i]` (Burn's `[d_input, d_output]` layout of the mirrored encoder layer).
    pub fn forward_tied(&self, mut x: Tensor<2>, weights: &[Tensor<2>]) -> Tensor<2> {
        let last = self.biases.len().saturating_sub(1);
        for (i, (w, b)) in weights.iter().zip(&self.biases).enumerate() {
            x = x.matmul(w.clone().transpose()) + b.val().unsqueeze_dim(0);
            if i < last {
                x = self.activation.apply(x);
            }
        }
        x
    }

    /// Maps `[batch, code]` to `[batch, input]` pre-activation outputs (untied decoders).
    pub fn forward(&self, mut x: Tensor<2>) -> Tensor<2> {
        let last = self.layers.len().saturating_sub(1);
        for (i, layer) in self.layers.iter().enumerate() {
            x = layer.forward(x);
            if i < last {
                x = self.activation.apply(x);
            }
        }
        x
    }
}

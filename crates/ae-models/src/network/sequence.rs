//! Recurrent sequence network (the LSTM autoencoder of Srivastava et al. 2015 and the seeds'
//! "sequence-to-sequence" autoencoder) for series of any length and 1 or more channels.
//!
//! Items are series `[channels, length]` (flattened channel-first, as the UCR loader gives them).
//! The encoder reads the series step by step with an LSTM; its final hidden state is the
//! feature vector the bottleneck turns into a code. The decoder starts a second LSTM from a state
//! computed from the code (`h0 = tanh(W_h code)`, `c0 = W_c code`), feeds it the code again at
//! every step, and maps each step's hidden state to the channels with a shared linear layer. As
//! in Srivastava et al., the decoder writes the series in reverse order (its first step is the
//! series' last, the one the encoder read most recently), which shortens the paths gradients
//! travel; the output is flipped back into the input's layout.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig, Lstm, LstmConfig, LstmState};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Decoder, Encoder, NetworkSettings, code_text, dims};
use crate::activation::Activation;
use crate::error::ConfigError;

/// Settings of a sequence network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SequenceConfig {
    /// Hidden width of the encoder's and the decoder's LSTM.
    pub hidden: usize,
    /// Width of the code.
    pub code: usize,
    /// Activation of the code (deterministic bottleneck only).
    #[serde(default = "linear")]
    pub code_activation: Activation,
    /// Activation of the reconstruction.
    #[serde(default = "linear")]
    pub output_activation: Activation,
}

fn linear() -> Activation {
    Activation::Linear
}

impl SequenceConfig {
    /// LSTMs of `hidden` units around a `code`-wide code, linear code and output.
    pub fn new(hidden: usize, code: usize) -> Self {
        Self { hidden, code, code_activation: Activation::Linear, output_activation: Activation::Linear }
    }

    /// `[channels, length]` of items of `shape` (`[length]` means one channel).
    pub fn series_shape(shape: &[usize]) -> Result<[usize; 2], ConfigError> {
        match shape {
            [l] if *l > 0 => Ok([1, *l]),
            [c, l] if *c > 0 && *l > 0 => Ok([*c, *l]),
            _ => Err(ConfigError::new(
                "kind",
                format!("a sequence network needs series items [channels, length]; the data's items are {shape:?}"),
            )),
        }
    }

    /// Checks the settings for items of `shape`.
    pub fn validate(&self, shape: &[usize]) -> Result<(), ConfigError> {
        Self::series_shape(shape)?;
        if self.hidden == 0 {
            return Err(ConfigError::new("hidden", "the LSTM needs at least 1 unit"));
        }
        if self.code == 0 {
            return Err(ConfigError::new("code", "the code needs at least 1 unit"));
        }
        Ok(())
    }

    /// Builds the encoder and decoder for items of `shape` and a `code`-wide code.
    pub fn init(&self, shape: &[usize], device: &Device) -> (SequenceEncoder, SequenceDecoder) {
        let [channels, length] = Self::series_shape(shape).expect("validated");
        let encoder = SequenceEncoder {
            lstm: LstmConfig::new(channels, self.hidden, true).init(device),
            channels,
            length,
            hidden: self.hidden,
        };
        let decoder = SequenceDecoder {
            state: LinearConfig::new(self.code, 2 * self.hidden).init(device),
            lstm: LstmConfig::new(self.code, self.hidden, true).init(device),
            output: LinearConfig::new(self.hidden, channels).init(device),
            channels,
            length,
        };
        (encoder, decoder)
    }
}

/// LSTM encoder: a series to the final hidden state.
#[derive(Module, Debug)]
pub struct SequenceEncoder {
    /// Reads one step (all channels) at a time.
    pub lstm: Lstm,
    /// Channels per step.
    #[module(skip)]
    pub channels: usize,
    /// Steps per series.
    #[module(skip)]
    pub length: usize,
    /// Width of the hidden state (the features).
    #[module(skip)]
    pub hidden: usize,
}

impl SequenceEncoder {
    /// Maps `[batch, channels*length]` to the final hidden state `[batch, hidden]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let n = x.dims()[0];
        let steps = x.reshape([n, self.channels, self.length]).swap_dims(1, 2);
        let (_, state) = self.lstm.forward(steps, None);
        state.hidden
    }

    /// Width of the features handed to the bottleneck.
    pub fn features(&self) -> usize {
        self.hidden
    }
}

/// LSTM decoder: the code, repeated at every step, to a series.
#[derive(Module, Debug)]
pub struct SequenceDecoder {
    /// The code to the initial hidden and cell states.
    pub state: Linear,
    /// Reads the code at every step.
    pub lstm: Lstm,
    /// Each step's hidden state to its channels.
    pub output: Linear,
    /// Channels per step.
    #[module(skip)]
    pub channels: usize,
    /// Steps per series.
    #[module(skip)]
    pub length: usize,
}

impl SequenceDecoder {
    /// Maps `[batch, code]` to `[batch, channels*length]` pre-activation outputs.
    pub fn forward(&self, code: Tensor<2>) -> Tensor<2> {
        let [n, width] = code.dims();
        let hidden = self.lstm.d_hidden;
        let start = self.state.forward(code.clone());
        let h0 = start.clone().slice([0..n, 0..hidden]).tanh();
        let c0 = start.slice([0..n, hidden..2 * hidden]);
        let repeated = code.unsqueeze_dim::<3>(1).expand([n, self.length, width]);
        let (hidden, _) = self.lstm.forward(repeated, Some(LstmState::new(c0, h0)));
        // Reverse order back to forward order, then [batch, length, channels] -> channel-first.
        self.output.forward(hidden).flip([1]).swap_dims(1, 2).reshape([n, self.channels * self.length])
    }
}

impl NetworkSettings for SequenceConfig {
    fn validate_shape(&self, shape: &[usize]) -> Result<(), ConfigError> {
        self.validate(shape)
    }

    fn build(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder) {
        let (e, d) = self.init(shape, device);
        (Encoder::Sequence(e), Decoder::Sequence(d))
    }

    fn features(&self, _shape: &[usize]) -> Result<usize, ConfigError> {
        Ok(self.hidden)
    }

    fn code_size(&self, _shape: &[usize]) -> Result<usize, ConfigError> {
        Ok(self.code)
    }

    fn size_estimate(&self, shape: &[usize]) -> (u128, u128) {
        let w = |v: usize| v as u128;
        let (h, code) = (w(self.hidden), w(self.code));
        let [channels, length] = SequenceConfig::series_shape(shape).map(|[c, l]| [w(c), w(l)]).unwrap_or([0, 0]);
        let lstm = |input: u128| h.saturating_mul(4).saturating_mul(input.saturating_add(h).saturating_add(1));
        let weights =
            [lstm(channels), lstm(code), code.saturating_mul(h).saturating_mul(2), h.saturating_mul(channels)]
                .into_iter()
                .fold(0u128, |a, b| a.saturating_add(b));
        (weights, length.saturating_mul(h.max(channels)))
    }

    /// The LSTM's own activation.
    fn activation(&self) -> Activation {
        Activation::Tanh
    }

    fn code_activation(&self) -> Activation {
        self.code_activation
    }

    fn output_activation(&self) -> Activation {
        self.output_activation
    }

    fn describe(&self, shape: &[usize]) -> String {
        format!("{} lstm {} -> code {}", dims(shape), self.hidden, code_text(self, shape))
    }
}

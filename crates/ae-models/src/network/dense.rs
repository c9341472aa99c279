//! Dense (fully connected) encoder and mirrored decoder of any depth, with optional batch norm
//! and dropout after each hidden layer (`linear - batch norm - activation - dropout`, the order of
//! PyOD's `AutoEncoder`).

use burn::module::{Module, Param};
use burn::nn::{BatchNorm, BatchNormConfig, Dropout, DropoutConfig, Linear, LinearConfig};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Decoder, Encoder, NetworkSettings, code_text, dense_weights};
use crate::activation::Activation;
use crate::error::ConfigError;

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
    /// Dropout after every hidden layer (encoder and decoder): one rate for all, or one per hidden
    /// layer, input side first (the decoder mirrors them). Active in training only.
    #[serde(default)]
    pub dropout: DropoutRates,
    /// Batch norm after every hidden layer's linear map, before its activation (encoder and
    /// decoder; batch statistics in training, running statistics at evaluation).
    #[serde(default)]
    pub batch_norm: bool,
}

fn linear() -> Activation {
    Activation::Linear
}

/// Dropout rates of a dense network's hidden layers: `dropout = 0.2` or `dropout = [0.2, 0.1]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DropoutRates {
    /// The same rate after every hidden layer.
    One(f64),
    /// One rate per hidden layer, input side first.
    PerLayer(Vec<f64>),
}

impl Default for DropoutRates {
    fn default() -> Self {
        DropoutRates::One(0.0)
    }
}

impl DropoutRates {
    /// The rate after hidden layer `i` (input side first).
    pub fn rate(&self, i: usize) -> f64 {
        match self {
            DropoutRates::One(r) => *r,
            DropoutRates::PerLayer(rates) => rates.get(i).copied().unwrap_or(0.0),
        }
    }

    /// Whether any hidden layer drops anything.
    pub fn any(&self) -> bool {
        match self {
            DropoutRates::One(r) => *r > 0.0,
            DropoutRates::PerLayer(rates) => rates.iter().any(|&r| r > 0.0),
        }
    }

    /// Checks the rates for `layers` hidden layers: each in [0, 1), one per layer when listed.
    pub fn validate(&self, layers: usize) -> Result<(), ConfigError> {
        let bad =
            |key: String, r: f64| ConfigError::new(key, format!("a dropout rate is a probability in [0, 1), got {r}"));
        match self {
            DropoutRates::One(r) if !(0.0..1.0).contains(r) => Err(bad("dropout".into(), *r)),
            DropoutRates::One(_) => Ok(()),
            DropoutRates::PerLayer(rates) => {
                if rates.len() != layers {
                    return Err(ConfigError::new(
                        "dropout",
                        format!(
                            "{} rates listed for {layers} hidden layers (give one per layer, or one number)",
                            rates.len()
                        ),
                    ));
                }
                match rates.iter().position(|r| !(0.0..1.0).contains(r)) {
                    Some(i) => Err(bad(format!("dropout[{i}]"), rates[i])),
                    None => Ok(()),
                }
            }
        }
    }
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
            dropout: DropoutRates::default(),
            batch_norm: false,
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
        self.dropout.validate(self.hidden.len())
    }

    /// Builds the encoder (input to last hidden layer) and decoder (code to input logits).
    pub fn init(&self, input: usize, device: &Device) -> (DenseEncoder, DenseDecoder) {
        let mut widths = vec![input];
        widths.extend(&self.hidden);
        let n = self.hidden.len();
        // Hidden layer i of the encoder, and its mirror, layer n-1-i of the decoder, share width and rate.
        let encoder = DenseEncoder {
            layers: chain(&widths, device),
            norms: self.norms((0..n).map(|i| self.hidden[i]), device),
            dropouts: self.dropouts(0..n),
            activation: self.activation,
            input,
        };
        let mut back: Vec<usize> = vec![self.code];
        back.extend(self.hidden.iter().rev());
        back.push(input);
        let norms = self.norms((0..n).rev().map(|i| self.hidden[i]), device);
        let dropouts = self.dropouts((0..n).rev());
        let decoder = if self.tied {
            let biases = back[1..].iter().map(|&w| Param::from_tensor(Tensor::zeros([w], device))).collect();
            DenseDecoder { layers: Vec::new(), biases, norms, dropouts, activation: self.activation }
        } else {
            DenseDecoder {
                layers: chain(&back, device),
                biases: Vec::new(),
                norms,
                dropouts,
                activation: self.activation,
            }
        };
        (encoder, decoder)
    }

    fn norms(&self, widths: impl Iterator<Item = usize>, device: &Device) -> Vec<BatchNorm> {
        match self.batch_norm {
            true => widths.map(|w| BatchNormConfig::new(w).init(device)).collect(),
            false => Vec::new(),
        }
    }

    fn dropouts(&self, layers: impl Iterator<Item = usize>) -> Vec<Dropout> {
        match self.dropout.any() {
            true => layers.map(|i| DropoutConfig::new(self.dropout.rate(i)).init()).collect(),
            false => Vec::new(),
        }
    }
}

/// What follows a hidden layer's linear map: batch norm (if any), the activation, dropout (if any).
fn hidden(x: Tensor<2>, i: usize, norms: &[BatchNorm], activation: Activation, dropouts: &[Dropout]) -> Tensor<2> {
    let x = match norms.get(i) {
        Some(bn) => bn.forward(x),
        None => x,
    };
    let x = activation.apply(x);
    match dropouts.get(i) {
        Some(d) => d.forward(x),
        None => x,
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
    /// Batch norm after each layer (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Dropout after each layer's activation (empty without dropout).
    pub dropouts: Vec<Dropout>,
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
        for (i, layer) in self.layers.iter().enumerate() {
            x = hidden(layer.forward(x), i, &self.norms, self.activation, &self.dropouts);
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
    /// Batch norm after each layer but the last (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Dropout after each layer's activation but the last's (empty without dropout).
    pub dropouts: Vec<Dropout>,
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
                x = hidden(x, i, &self.norms, self.activation, &self.dropouts);
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
                x = hidden(x, i, &self.norms, self.activation, &self.dropouts);
            }
        }
        x
    }
}

impl NetworkSettings for DenseConfig {
    fn validate_shape(&self, shape: &[usize]) -> Result<(), ConfigError> {
        self.validate(shape.iter().product())
    }

    fn build(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder) {
        let (e, d) = self.init(shape.iter().product(), device);
        (Encoder::Dense(e), Decoder::Dense(d))
    }

    fn features(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        Ok(self.hidden.last().copied().unwrap_or(shape.iter().product()))
    }

    fn code_size(&self, _shape: &[usize]) -> Result<usize, ConfigError> {
        Ok(self.code)
    }

    fn size_estimate(&self, shape: &[usize]) -> (u128, u128) {
        let mut widths = vec![shape.iter().product::<usize>() as u128];
        widths.extend(self.hidden.iter().map(|&h| h as u128));
        widths.push(self.code as u128);
        (dense_weights(&widths).saturating_mul(2), widths.iter().copied().max().unwrap_or(0))
    }

    fn activation(&self) -> Activation {
        self.activation
    }

    fn code_activation(&self) -> Activation {
        self.code_activation
    }

    fn output_activation(&self) -> Activation {
        self.output_activation
    }

    fn describe(&self, shape: &[usize]) -> String {
        let input = shape.iter().product::<usize>().to_string();
        let code = code_text(self, shape);
        let widths: Vec<String> =
            std::iter::once(input).chain(self.hidden.iter().map(|h| h.to_string())).chain([code]).collect();
        format!("{} dense", widths.join("-"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// One hidden layer of width 400 whose linear map sends a row of ones to 2 everywhere.
    fn constant_encoder(cfg: &DenseConfig, device: &Device) -> DenseEncoder {
        let (mut e, _) = cfg.init(4, device);
        e.layers[0].weight = Param::from_tensor(Tensor::full([4, 400], 0.5, device));
        e.layers[0].bias = Some(Param::from_tensor(Tensor::zeros([400], device)));
        e
    }

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().try_to_vec::<f32>().unwrap()
    }

    #[test]
    fn dropout_drops_at_its_rate_and_scales_what_it_keeps() {
        let device = Device::flex().autodiff();
        let cfg = DenseConfig {
            activation: Activation::Linear,
            dropout: DropoutRates::One(0.3),
            ..DenseConfig::new(vec![400], 2)
        };
        let e = constant_encoder(&cfg, &device);
        let out = values(e.forward(Tensor::ones([50, 4], &device)));
        let n = out.len() as f64;
        let dropped = out.iter().filter(|&&v| v == 0.0).count() as f64 / n;
        // 20000 Bernoulli(0.3) draws: the standard error is 0.0032.
        assert!((dropped - 0.3).abs() < 0.015, "dropped fraction {dropped}");
        // Inverted dropout: kept values are 2 / (1 - 0.3), so the mean stays 2.
        assert!(out.iter().all(|&v| v == 0.0 || (v - 2.0 / 0.7).abs() < 1e-5), "a kept value is not 2/0.7");
        let mean = out.iter().map(|&v| v as f64).sum::<f64>() / n;
        assert!((mean - 2.0).abs() < 0.05, "mean {mean}");
    }

    #[test]
    fn no_dropout_at_inference() {
        let device = Device::flex().autodiff();
        let cfg = DenseConfig { dropout: DropoutRates::PerLayer(vec![0.5]), ..DenseConfig::new(vec![400], 2) };
        let e = constant_encoder(&cfg, &device).valid();
        let x = Tensor::ones([8, 4], &e.layers[0].weight.device());
        let (a, b) = (values(e.forward(x.clone())), values(e.forward(x)));
        assert_eq!(a, b);
        assert!(a.iter().all(|&v| (v - 2.0).abs() < 1e-6), "inference changed the values");
    }

    #[test]
    fn decoder_mirrors_the_rates_and_skips_its_output_layer() {
        let device = Device::flex();
        let cfg = DenseConfig {
            dropout: DropoutRates::PerLayer(vec![0.1, 0.4]),
            batch_norm: true,
            ..DenseConfig::new(vec![16, 8], 2)
        };
        let (e, d) = cfg.init(5, &device);
        let rates = |ds: &[Dropout]| ds.iter().map(|d| d.prob).collect::<Vec<_>>();
        assert_eq!(rates(&e.dropouts), vec![0.1, 0.4]);
        assert_eq!(rates(&d.dropouts), vec![0.4, 0.1]);
        let widths = |ns: &[BatchNorm]| ns.iter().map(|n| n.gamma.dims()[0]).collect::<Vec<_>>();
        assert_eq!(widths(&e.norms), vec![16, 8]);
        assert_eq!(widths(&d.norms), vec![8, 16]);
        assert_eq!(d.layers.len(), 3);
    }

    #[test]
    fn batch_norm_learns_running_statistics_and_uses_them_at_inference() {
        let device = Device::flex().autodiff();
        let cfg = DenseConfig { activation: Activation::Linear, batch_norm: true, ..DenseConfig::new(vec![1], 1) };
        let (mut e, _) = cfg.init(1, &device);
        e.layers[0].weight = Param::from_tensor(Tensor::full([1, 1], 1.0, &device));
        e.layers[0].bias = Some(Param::from_tensor(Tensor::zeros([1], &device)));
        // A batch of 1, 2, 3, 4, 5: in training each is normalised by the batch (mean 3, variance 2).
        let x = Tensor::<2>::from_data(TensorData::new(vec![1f32, 2., 3., 4., 5.], [5, 1]), &device);
        let out = values(e.forward(x.clone()));
        let want: Vec<f32> = [1f32, 2., 3., 4., 5.].iter().map(|v| (v - 3.0) / (2.0f32 + 1e-5).sqrt()).collect();
        for (g, w) in out.iter().zip(&want) {
            assert!((g - w).abs() < 1e-4, "training output {out:?}, want {want:?}");
        }
        // Running statistics after one batch with momentum 0.1, from mean 0 and variance 1.
        let bn = &e.norms[0];
        let mean = bn.running_mean.value_sync().into_data().try_to_vec::<f32>().unwrap()[0];
        let var = bn.running_var.value_sync().into_data().try_to_vec::<f32>().unwrap()[0];
        assert!((mean - 0.3).abs() < 1e-5, "running mean {mean}");
        // Burn keeps the biased (2.0) or unbiased (2.5) batch variance: either gives 0.9 + 0.1 v.
        assert!((var - 1.1).abs() < 1e-5 || (var - 1.15).abs() < 1e-5, "running variance {var}");
        // At inference the running statistics normalise: (x - mean) / sqrt(var + eps).
        let e = e.valid();
        let x = Tensor::<2>::from_data(TensorData::new(vec![7f32], [1, 1]), &e.layers[0].weight.device());
        let got = values(e.forward(x))[0];
        let want = (7.0 - mean) / (var + 1e-5).sqrt();
        assert!((got - want).abs() < 1e-5, "inference output {got}, want {want}");
    }

    #[test]
    fn rates_are_checked_by_key() {
        let cfg = DenseConfig { dropout: DropoutRates::One(1.0), ..DenseConfig::new(vec![8], 2) };
        assert_eq!(cfg.validate(4).unwrap_err().key, "dropout");
        let cfg = DenseConfig { dropout: DropoutRates::PerLayer(vec![0.1, -0.2]), ..DenseConfig::new(vec![8, 4], 2) };
        assert_eq!(cfg.validate(4).unwrap_err().key, "dropout[1]");
        let cfg = DenseConfig { dropout: DropoutRates::PerLayer(vec![0.1]), ..DenseConfig::new(vec![8, 4], 2) };
        assert!(cfg.validate(4).unwrap_err().to_string().contains("1 rates listed for 2 hidden layers"));
    }
}

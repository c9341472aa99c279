//! Convolutional encoder (Conv2d stack) and mirrored decoder (ConvTranspose2d, or nearest
//! upsampling + Conv2d) for images of any size and 1 or more channels, and for series
//! `[channels, length]`: a series is a 1-high image whose kernels, strides and padding apply along
//! time only (a 1-D convolutional network).
//!
//! The encoder maps `[batch, c*h*w]` (reshaped to `[batch, c, h, w]`) through `channels.len()`
//! convolutions, each followed by optional batch norm and the activation, and flattens the last
//! feature map. The decoder mirrors it: an optional dense projection from the code back to the
//! last feature map's size, then one layer per encoder layer, sized so that every feature map is
//! restored exactly (ConvTranspose2d's output padding is computed per layer).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::{Decoder, Encoder, NetworkSettings, code_text, dims};
use crate::activation::Activation;
use crate::error::ConfigError;

/// How the decoder grows feature maps back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Upsampling {
    /// Transposed convolutions.
    #[default]
    Transpose,
    /// Nearest-neighbour upsampling to the mirrored size, then a stride-1 convolution.
    Upsample,
}

/// Settings of a convolutional network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConvConfig {
    /// Output channels of each encoder convolution, input side first.
    pub channels: Vec<usize>,
    /// Kernel size of every encoder convolution.
    #[serde(default = "three")]
    pub kernel: usize,
    /// Stride of every encoder convolution.
    #[serde(default = "two")]
    pub stride: usize,
    /// Zero padding of every encoder convolution.
    #[serde(default = "one")]
    pub padding: usize,
    /// Kernel size of the decoder's layers (default: `kernel`; e.g. 4 with stride 2 and padding 1
    /// doubles a map exactly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoder_kernel: Option<usize>,
    /// `transpose` or `upsample`.
    #[serde(default)]
    pub upsampling: Upsampling,
    /// Batch normalisation after every convolution but the decoder's last.
    #[serde(default)]
    pub batch_norm: bool,
    /// Width of a dense code after the feature maps; without it the code is the flattened last
    /// feature map (use the `identity` bottleneck then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<usize>,
    /// Activation after each convolution (and the dense projection).
    #[serde(default)]
    pub activation: Activation,
    /// Activation of a dense code.
    #[serde(default = "linear")]
    pub code_activation: Activation,
    /// Activation of the reconstruction.
    #[serde(default = "linear")]
    pub output_activation: Activation,
}

/// Largest kernel, stride or padding accepted (far beyond any image this program reads).
const MAX_GEOMETRY: usize = 4096;

fn three() -> usize {
    3
}
fn two() -> usize {
    2
}
fn one() -> usize {
    1
}
fn linear() -> Activation {
    Activation::Linear
}

/// An image shape `[channels, height, width]`.
pub type ImageShape = [usize; 3];

impl ConvConfig {
    /// Convolutions with these output channels (kernel 3, stride 2, padding 1, ReLU), a
    /// transposed-convolution decoder, no dense code (add one with `code: Some(width)`), linear
    /// output.
    pub fn new(channels: Vec<usize>) -> Self {
        Self {
            channels,
            kernel: 3,
            stride: 2,
            padding: 1,
            decoder_kernel: None,
            upsampling: Upsampling::Transpose,
            batch_norm: false,
            code: None,
            activation: Activation::Relu,
            code_activation: Activation::Linear,
            output_activation: Activation::Linear,
        }
    }

    /// The image shape of items of `shape` (a series `[c, length]` is the 1-high image
    /// `[c, 1, length]`), or an error naming what is wrong.
    pub fn image_shape(shape: &[usize]) -> Result<ImageShape, ConfigError> {
        match shape {
            [c, h, w] if *c > 0 && *h > 0 && *w > 0 => Ok([*c, *h, *w]),
            [c, l] if *c > 0 && *l > 0 => Ok([*c, 1, *l]),
            _ => Err(ConfigError::new(
                "kind",
                format!(
                    "a convolutional network needs image items [channels, height, width] or series [channels, length]; the data's items are {shape:?}"
                ),
            )),
        }
    }

    /// Kernel, stride, padding and decoder kernel along (height, width) for items of `shape`:
    /// the configured values on both axes for images, along time only for series.
    fn geometry(&self, shape: &[usize]) -> Geometry {
        let series = shape.len() == 2;
        let pair = |v: usize, flat: usize| if series { [flat, v] } else { [v, v] };
        Geometry {
            kernel: pair(self.kernel, 1),
            stride: pair(self.stride, 1),
            padding: pair(self.padding, 0),
            decoder_kernel: pair(self.decoder_kernel(), 1),
        }
    }

    /// Height and width of every feature map for items of `shape`, input first.
    pub fn map_sizes(&self, shape: &[usize]) -> Result<Vec<[usize; 2]>, ConfigError> {
        let [_, h, w] = Self::image_shape(shape)?;
        let g = self.geometry(shape);
        let mut sizes = vec![[h, w]];
        for (i, _) in self.channels.iter().enumerate() {
            let [ph, pw] = sizes[i];
            let out = |s: usize, d: usize| (s + 2 * g.padding[d]).checked_sub(g.kernel[d]).map(|v| v / g.stride[d] + 1);
            match (out(ph, 0), out(pw, 1)) {
                (Some(a), Some(b)) if a > 0 && b > 0 => sizes.push([a, b]),
                _ => {
                    return Err(ConfigError::new(
                        "channels",
                        format!(
                            "layer {i} would shrink a {ph}x{pw} map below 1x1 (kernel {}, stride {}, padding {})",
                            self.kernel, self.stride, self.padding
                        ),
                    ));
                }
            }
        }
        Ok(sizes)
    }

    /// Width of the flattened last feature map.
    pub fn features(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        let [fh, fw] = *self.map_sizes(shape)?.last().expect("at least the input size");
        Ok(self.channels.last().copied().unwrap_or(shape[0]) * fh * fw)
    }

    /// Checks the settings for items of `shape`.
    pub fn validate(&self, shape: &[usize]) -> Result<(), ConfigError> {
        Self::image_shape(shape)?;
        if self.channels.is_empty() {
            return Err(ConfigError::new("channels", "needs at least one convolution"));
        }
        if let Some(i) = self.channels.iter().position(|&c| c == 0) {
            return Err(ConfigError::new(format!("channels[{i}]"), "a convolution needs at least 1 channel"));
        }
        if self.kernel == 0 || self.stride == 0 {
            return Err(ConfigError::new("kernel", "kernel and stride must be at least 1"));
        }
        if self.code == Some(0) {
            return Err(ConfigError::new("code", "the code needs at least 1 unit"));
        }
        if [self.kernel, self.stride, self.padding, self.decoder_kernel()].iter().any(|&v| v > MAX_GEOMETRY) {
            return Err(ConfigError::new(
                "kernel",
                format!("kernel, decoder kernel, stride and padding must be at most {MAX_GEOMETRY}"),
            ));
        }
        let sizes = self.map_sizes(shape)?;
        let g = self.geometry(shape);
        if self.upsampling == Upsampling::Transpose {
            for l in (1..sizes.len()).rev() {
                g.output_padding(sizes[l], sizes[l - 1]).map_err(|m| ConfigError::new("decoder_kernel", m))?;
            }
        }
        Ok(())
    }

    fn decoder_kernel(&self) -> usize {
        self.decoder_kernel.unwrap_or(self.kernel)
    }

    /// Builds the encoder and decoder for items of `shape` (with a dense code of `code` units, the
    /// decoder starts with a projection back to the last feature map).
    pub fn init(&self, shape: &[usize], device: &Device) -> (ConvEncoder, ConvDecoder) {
        let [c, h, w] = Self::image_shape(shape).expect("validated");
        let sizes = self.map_sizes(shape).expect("validated");
        let g = self.geometry(shape);
        let mut ins = vec![c];
        ins.extend(&self.channels);
        let pad = PaddingConfig2d::Explicit(g.padding[0], g.padding[1], g.padding[0], g.padding[1]);
        let convs = ins
            .windows(2)
            .map(|io| {
                Conv2dConfig::new([io[0], io[1]], g.kernel).with_stride(g.stride).with_padding(pad.clone()).init(device)
            })
            .collect();
        let norm = |ch: usize| BatchNormConfig::new(ch).init(device);
        let enc_norms = if self.batch_norm { self.channels.iter().map(|&ch| norm(ch)).collect() } else { Vec::new() };
        let last = *sizes.last().expect("sizes");
        let top = *self.channels.last().expect("validated");
        let features = top * last[0] * last[1];
        let encoder = ConvEncoder { convs, norms: enc_norms, activation: self.activation, shape: [c, h, w], features };

        let project = self.code.map(|code| LinearConfig::new(code, features).init(device));
        let mut layers = Vec::new();
        let mut dec_norms = Vec::new();
        for l in (1..sizes.len()).rev() {
            let (cin, cout) = (ins[l], ins[l - 1]);
            layers.push(match self.upsampling {
                Upsampling::Transpose => {
                    let op = g.output_padding(sizes[l], sizes[l - 1]).expect("validated");
                    DecoderLayer::Transpose(
                        ConvTranspose2dConfig::new([cin, cout], g.decoder_kernel)
                            .with_stride(g.stride)
                            .with_padding(g.padding)
                            .with_padding_out(op)
                            .init(device),
                    )
                }
                Upsampling::Upsample => DecoderLayer::Upsample(
                    Conv2dConfig::new([cin, cout], g.decoder_kernel).with_padding(PaddingConfig2d::Same).init(device),
                ),
            });
            if self.batch_norm && l > 1 {
                dec_norms.push(norm(cout));
            }
        }
        let decoder = ConvDecoder {
            project,
            layers,
            norms: dec_norms,
            activation: self.activation,
            sizes: sizes.iter().rev().copied().collect(),
            top,
        };
        (encoder, decoder)
    }
}

/// Kernel, stride, padding and decoder kernel along (height, width).
#[derive(Debug, Clone, Copy)]
struct Geometry {
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    decoder_kernel: [usize; 2],
}

impl Geometry {
    /// The output padding that makes a transposed convolution map `from` to exactly `to`.
    fn output_padding(&self, from: [usize; 2], to: [usize; 2]) -> Result<[usize; 2], String> {
        let mut pad = [0; 2];
        for d in 0..2 {
            let (k, stride, padding) = (self.decoder_kernel[d], self.stride[d], self.padding[d]);
            let base = ((from[d] - 1) * stride + k) as i64 - 2 * padding as i64;
            let op = to[d] as i64 - base;
            if op < 0 || op >= stride.max(1) as i64 {
                return Err(format!(
                    "a transposed convolution (kernel {k}, stride {stride}, padding {padding}) cannot grow {} back to {}; try decoder_kernel = {} or upsampling = \"upsample\"",
                    from[d],
                    to[d],
                    stride + 2 * padding
                ));
            }
            pad[d] = op as usize;
        }
        Ok(pad)
    }
}

/// Convolutional encoder.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    /// The convolutions, input side first.
    pub convs: Vec<Conv2d>,
    /// Batch norms after each convolution (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Activation after each convolution.
    #[module(skip)]
    pub activation: Activation,
    /// Item shape `[c, h, w]`.
    #[module(skip)]
    pub shape: ImageShape,
    /// Width of the flattened last feature map.
    #[module(skip)]
    pub features: usize,
}

impl ConvEncoder {
    /// Maps `[batch, c*h*w]` to the flattened last feature map `[batch, features]`.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let n = x.dims()[0];
        let [c, h, w] = self.shape;
        let mut m: Tensor<4> = x.reshape([n, c, h, w]);
        for (i, conv) in self.convs.iter().enumerate() {
            m = conv.forward(m);
            if let Some(bn) = self.norms.get(i) {
                m = bn.forward(m);
            }
            m = self.activation.apply(m);
        }
        m.flatten(1, 3)
    }

    /// Width of the flattened last feature map.
    pub fn features(&self) -> usize {
        self.features
    }
}

/// One decoder layer.
#[derive(Module, Debug)]
pub enum DecoderLayer {
    /// A transposed convolution.
    Transpose(ConvTranspose2d),
    /// Nearest upsampling to the target size, then this convolution.
    Upsample(Conv2d),
}

/// Convolutional decoder.
#[derive(Module, Debug)]
pub struct ConvDecoder {
    /// Dense projection from the code to the last feature map (absent without a dense code).
    pub project: Option<Linear>,
    /// The layers, code side first.
    pub layers: Vec<DecoderLayer>,
    /// Batch norms after every layer but the last (empty without batch norm).
    pub norms: Vec<BatchNorm>,
    /// Activation after every layer but the last.
    #[module(skip)]
    pub activation: Activation,
    /// Feature-map sizes from the code side to the image.
    #[module(skip)]
    pub sizes: Vec<[usize; 2]>,
    /// Channels of the last encoder feature map.
    #[module(skip)]
    pub top: usize,
}

impl ConvDecoder {
    /// Maps `[batch, code]` to `[batch, c*h*w]` pre-activation outputs.
    pub fn forward(&self, code: Tensor<2>) -> Tensor<2> {
        let n = code.dims()[0];
        let flat = match &self.project {
            Some(p) => self.activation.apply(p.forward(code)),
            None => code,
        };
        let [h, w] = self.sizes[0];
        let mut m: Tensor<4> = flat.reshape([n, self.top, h, w]);
        let last = self.layers.len() - 1;
        for (i, layer) in self.layers.iter().enumerate() {
            m = match layer {
                DecoderLayer::Transpose(t) => t.forward(m),
                DecoderLayer::Upsample(conv) => {
                    let up = interpolate(
                        m,
                        InterpolateOptions::new(InterpolateMode::Nearest).with_output_size(self.sizes[i + 1]),
                    );
                    conv.forward(up)
                }
            };
            if i < last {
                if let Some(bn) = self.norms.get(i) {
                    m = bn.forward(m);
                }
                m = self.activation.apply(m);
            }
        }
        m.flatten(1, 3)
    }
}

impl NetworkSettings for ConvConfig {
    fn validate_shape(&self, shape: &[usize]) -> Result<(), ConfigError> {
        self.validate(shape)
    }

    fn build(&self, shape: &[usize], device: &Device) -> (Encoder, Decoder) {
        let (e, d) = self.init(shape, device);
        (Encoder::Conv(e), Decoder::Conv(d))
    }

    fn features(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        ConvConfig::features(self, shape)
    }

    fn code_size(&self, shape: &[usize]) -> Result<usize, ConfigError> {
        match self.code {
            Some(code) => Ok(code),
            None => ConvConfig::features(self, shape),
        }
    }

    fn size_estimate(&self, shape: &[usize]) -> (u128, u128) {
        let w = |v: usize| v as u128;
        let sizes = self.map_sizes(shape).unwrap_or_default();
        let mut ins = vec![w(shape[0])];
        ins.extend(self.channels.iter().map(|&ch| w(ch)));
        let taps = w(self.kernel)
            .saturating_pow(2)
            .saturating_add(w(self.decoder_kernel.unwrap_or(self.kernel)).saturating_pow(2));
        let convs = ins.windows(2).fold(0u128, |a, p| a.saturating_add(p[0].saturating_mul(p[1]).saturating_mul(taps)));
        let features = w(ConvConfig::features(self, shape).unwrap_or(usize::MAX));
        let code = self.code.map_or(0, |code| features.saturating_mul(w(code)).saturating_mul(2));
        let maps = sizes.iter().zip(&ins).map(|(s, &ch)| ch.saturating_mul(w(s[0])).saturating_mul(w(s[1])));
        (convs.saturating_add(code), maps.max().unwrap_or(0))
    }

    fn has_code_layer(&self) -> bool {
        self.code.is_some()
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
        format!("{} conv {:?} -> code {}", dims(shape), self.channels, code_text(self, shape))
    }
}

//! `ae-train export RUN --format safetensors [--out DIR]`: a trained model for other frameworks.
//!
//! Writes into DIR (default `RUN/export/`):
//! - `model.safetensors`: every tensor needed for reconstruction, f32, under PyTorch-style names
//!   and layouts: `encoder.layers.<i>.weight` of a `Linear` is `[out, in]` (Burn stores `[in,
//!   out]`, so it is transposed), `Conv2d` weights are `[out, in, kh, kw]` and `ConvTranspose2d`
//!   weights `[in, out, kh, kw]` (the same in both), batch norms give `weight`, `bias`,
//!   `running_mean` and `running_var`; dropout layers are written as `dropout` ops (identity in
//!   eval mode). `<i>` is the index in the layer list of `model.json`, so the
//!   names are those of a `torch.nn.Sequential` built from it.
//! - `model.json`: the architecture (layer lists of the encoder and decoder, the bottleneck, the
//!   output activation, the input shape and the normalisation of inputs), enough to rebuild the
//!   module; `scripts/check_export.py` does so in PyTorch.
//! - `check_input.npy` / `check_output.npy`: a few normalised items of the run's test split (else
//!   validation, else training) and the model's deterministic reconstruction of them (the
//!   posterior mean's for a VAE), to check a rebuilt model against.
//!
//! Dense networks (tied or not, every bottleneck) and convolutional networks are exported; LSTM
//! sequence networks are refused.

use std::path::{Path, PathBuf};

use ae_models::activation::Activation;
use ae_models::bottleneck::Bottleneck;
use ae_models::network::conv::DecoderLayer;
use ae_models::network::{Decoder, Encoder};
use burn::nn::conv::{Conv2d, ConvTranspose2d};
use burn::nn::{BatchNorm, Dropout, Linear, PaddingConfig2d};
use burn::tensor::Tensor;
use serde_json::{Value, json};

use crate::apps::encode::npy_f32;
use crate::backend::BackendChoice;
use crate::error::{AppError, Result};
use crate::fsio::{write_atomic, write_json};
use crate::run_folder::trained;
use crate::training::fit::to_tensor;

/// Export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `model.safetensors` + `model.json`.
    Safetensors,
}

/// Items written to `check_input.npy`.
pub const CHECK_ITEMS: usize = 8;

/// What `export` wrote.
#[derive(Debug, Clone)]
pub struct ExportReport {
    /// The folder written to.
    pub out: PathBuf,
    /// Tensors in `model.safetensors`.
    pub tensors: usize,
    /// Values in them.
    pub values: usize,
    /// Items in `check_input.npy`.
    pub check_items: usize,
    /// The files written.
    pub files: Vec<&'static str>,
}

impl ExportReport {
    /// One line for the terminal.
    pub fn summary(&self) -> String {
        format!(
            "export: {} tensors ({} values) and {} check items; wrote {} in {}",
            self.tensors,
            self.values,
            self.check_items,
            self.files.join(", "),
            self.out.display()
        )
    }
}

/// Exports the model of the run folder `run` into `out` (default `run/export`).
pub fn run(run: &Path, format: Format, out: Option<&Path>, backend: Option<BackendChoice>) -> Result<ExportReport> {
    let Format::Safetensors = format;
    let t = trained::load(run, backend)?;
    let model = &t.model;
    let mut b = Builder::default();
    let (network, encoder, decoder) = match (&model.encoder, &model.decoder) {
        (Encoder::Dense(e), Decoder::Dense(d)) => {
            let mut enc = Vec::new();
            for (i, l) in e.layers.iter().enumerate() {
                let op = b.linear(&format!("encoder.layers.{}", enc.len()), l)?;
                enc.push(op);
                b.hidden_tail(&mut enc, "encoder", e.norms.get(i), e.activation, e.dropouts.get(i))?;
            }
            let mut dec = Vec::new();
            if d.is_tied() {
                // Layer i computes x W_i^T + b_i with W_i the Burn weight [in, out] of the mirrored
                // encoder-side layer, which is the torch layout [out, in] of the decoder layer.
                let code_layer = model.bottleneck.layer().code_layer();
                let code_layer =
                    code_layer.ok_or_else(|| AppError::runtime("a tied decoder needs a single code layer"))?;
                let mut weights = vec![code_layer];
                weights.extend(e.layers.iter().rev().map(|l| l.weight.val()));
                let last = d.biases.len().saturating_sub(1);
                for (i, (w, bias)) in weights.into_iter().zip(&d.biases).enumerate() {
                    let prefix = format!("decoder.layers.{}", dec.len());
                    let (shape, values) = read(w)?;
                    b.add(format!("{prefix}.weight"), shape.clone(), values);
                    let (bshape, bvalues) = read(bias.val())?;
                    b.add(format!("{prefix}.bias"), bshape, bvalues);
                    dec.push(json!({ "op": "linear", "name": prefix, "in_features": shape[1], "out_features": shape[0], "bias": true }));
                    if i < last {
                        b.hidden_tail(&mut dec, "decoder", d.norms.get(i), d.activation, d.dropouts.get(i))?;
                    }
                }
            } else {
                let last = d.layers.len().saturating_sub(1);
                for (i, l) in d.layers.iter().enumerate() {
                    let op = b.linear(&format!("decoder.layers.{}", dec.len()), l)?;
                    dec.push(op);
                    if i < last {
                        b.hidden_tail(&mut dec, "decoder", d.norms.get(i), d.activation, d.dropouts.get(i))?;
                    }
                }
            }
            ("dense", enc, dec)
        }
        (Encoder::Conv(e), Decoder::Conv(d)) => {
            let mut enc = vec![json!({ "op": "unflatten", "shape": e.shape })];
            for (i, conv) in e.convs.iter().enumerate() {
                let op = b.conv(&format!("encoder.layers.{}", enc.len()), conv)?;
                enc.push(op);
                if let Some(bn) = e.norms.get(i) {
                    let op = b.batch_norm(&format!("encoder.layers.{}", enc.len()), bn, "batch_norm2d")?;
                    enc.push(op);
                }
                enc.push(activation(e.activation));
            }
            enc.push(json!({ "op": "flatten" }));
            let mut dec = Vec::new();
            if let Some(p) = &d.project {
                let op = b.linear(&format!("decoder.layers.{}", dec.len()), p)?;
                dec.push(op);
                dec.push(activation(d.activation));
            }
            let [h, w] = d.sizes[0];
            dec.push(json!({ "op": "unflatten", "shape": [d.top, h, w] }));
            let last = d.layers.len().saturating_sub(1);
            for (i, layer) in d.layers.iter().enumerate() {
                match layer {
                    DecoderLayer::Transpose(c) => {
                        let op = b.conv_transpose(&format!("decoder.layers.{}", dec.len()), c)?;
                        dec.push(op);
                    }
                    DecoderLayer::Upsample(c) => {
                        dec.push(json!({ "op": "upsample", "mode": "nearest", "size": d.sizes[i + 1] }));
                        let op = b.conv(&format!("decoder.layers.{}", dec.len()), c)?;
                        dec.push(op);
                    }
                }
                if i < last {
                    if let Some(bn) = d.norms.get(i) {
                        let op = b.batch_norm(&format!("decoder.layers.{}", dec.len()), bn, "batch_norm2d")?;
                        dec.push(op);
                    }
                    dec.push(activation(d.activation));
                }
            }
            dec.push(json!({ "op": "flatten" }));
            ("conv", enc, dec)
        }
        _ => {
            return Err(AppError::usage(format!(
                "{}: export supports dense and convolutional networks; this run's network is an LSTM \
                 sequence network (model.network.kind = \"sequence\")",
                run.display()
            )));
        }
    };
    let bottleneck = b.bottleneck(&model.bottleneck)?;

    // Reference inputs and outputs from the run's own data.
    let view = t.data.test.as_ref().or(t.data.val.as_ref()).unwrap_or(&t.data.train);
    let split = if t.data.test.is_some() {
        "test"
    } else if t.data.val.is_some() {
        "val"
    } else {
        "train"
    };
    let n = view.len().min(CHECK_ITEMS);
    let positions: Vec<usize> = (0..n).map(|i| i * view.len() / n.max(1)).collect();
    let batch = view.batch(&positions);
    let (rows, cols) = (batch.rows, batch.cols);
    let inputs = batch.x.clone();
    let x = to_tensor(batch, &t.backend.device);
    let outputs = model
        .decode(model.encode(x))
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| AppError::runtime(format!("cannot read reconstructions: {e:?}")))?;

    let n_tensors = b.tensors.len();
    let values = b.tensors.iter().map(|t| t.values.len()).sum();
    let normalizer = &t.data.normalizer;
    let description = json!({
        "format": "ae-train export",
        "version": 1,
        "experiment": t.config.name,
        "dataset": t.config.data.dataset,
        "network": network,
        "input_shape": t.data.shape,
        "input_features": t.data.item_len(),
        "normalization": {
            "kind": normalizer.kind,
            "offset": normalizer.offset,
            "scale": normalizer.scale,
            "note": "the model takes x' = (x - offset) / scale per feature (one value applies to all); check_input.npy is already normalised",
        },
        "encoder": encoder,
        "bottleneck": bottleneck,
        "decoder": decoder,
        "output_activation": model.output_activation.name(),
        "tied": matches!(&model.decoder, Decoder::Dense(d) if d.is_tied()),
        "activations": {
            "relu": "max(0, x)", "selu": "torch.nn.SELU", "elu": "ELU, alpha 1", "sigmoid": "logistic",
            "tanh": "tanh", "leaky_relu": "negative slope 0.01", "gelu": "exact (erf) GELU", "linear": "identity",
        },
        "reconstruction": "output_activation(decoder(code)), code = the bottleneck's deterministic code (gaussian: the mean; top_k: the k largest units of the linear code kept, the rest 0; binary: the sigmoid probabilities)",
        "tensors": n_tensors,
        "values": values,
        "check": { "input": "check_input.npy", "output": "check_output.npy", "items": rows, "split": split, "tolerance": 1e-4 },
    });

    let out = out.map(Path::to_path_buf).unwrap_or_else(|| run.join("export"));
    std::fs::create_dir_all(&out).map_err(|e| crate::error::io_error(&out, "create", e))?;
    write_atomic(&out.join("model.safetensors"), &b.safetensors(&t.config.name))?;
    write_json(&out.join("model.json"), &description)?;
    write_atomic(&out.join("check_input.npy"), &npy_f32(&inputs, rows, cols))?;
    write_atomic(&out.join("check_output.npy"), &npy_f32(&outputs, rows, cols))?;
    Ok(ExportReport {
        out,
        tensors: n_tensors,
        values,
        check_items: rows,
        files: vec!["model.safetensors", "model.json", "check_input.npy", "check_output.npy"],
    })
}

/// One tensor of the export.
struct Named {
    name: String,
    shape: Vec<usize>,
    values: Vec<f32>,
}

/// Collects tensors under their torch names.
#[derive(Default)]
struct Builder {
    tensors: Vec<Named>,
}

/// The shape and values of a tensor.
fn read<const D: usize>(t: Tensor<D>) -> Result<(Vec<usize>, Vec<f32>)> {
    let shape = t.dims().to_vec();
    let values =
        t.into_data().try_into_vec::<f32>().map_err(|e| AppError::runtime(format!("cannot read weights: {e:?}")))?;
    Ok((shape, values))
}

/// `[rows, cols]` values transposed to `[cols, rows]`.
pub fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut out = vec![0.0; values.len()];
    for r in 0..rows {
        for c in 0..cols {
            out[c * rows + r] = values[r * cols + c];
        }
    }
    out
}

fn activation(a: Activation) -> Value {
    json!({ "op": "activation", "name": a.name() })
}

impl Builder {
    fn add(&mut self, name: String, shape: Vec<usize>, values: Vec<f32>) {
        self.tensors.push(Named { name, shape, values });
    }

    fn bias(&mut self, prefix: &str, bias: &Option<burn::module::Param<Tensor<1>>>) -> Result<bool> {
        if let Some(bias) = bias {
            let (shape, values) = read(bias.val())?;
            self.add(format!("{prefix}.bias"), shape, values);
        }
        Ok(bias.is_some())
    }

    /// A Linear layer: the weight transposed to torch's `[out, in]`.
    fn linear(&mut self, prefix: &str, l: &Linear) -> Result<Value> {
        let (shape, values) = read(l.weight.val())?;
        let (input, output) = (shape[0], shape[1]);
        self.add(format!("{prefix}.weight"), vec![output, input], transpose(&values, input, output));
        let bias = self.bias(prefix, &l.bias)?;
        Ok(json!({ "op": "linear", "name": prefix, "in_features": input, "out_features": output, "bias": bias }))
    }

    /// A Conv2d: the weight as is (`[out, in, kh, kw]` in both); padding as (top, bottom) and
    /// (left, right) pairs, which `same` padding of an even kernel makes unequal.
    fn conv(&mut self, prefix: &str, c: &Conv2d) -> Result<Value> {
        if c.groups != 1 || c.dilation != [1, 1] {
            return Err(AppError::runtime(format!("{prefix}: grouped or dilated convolutions are not exported")));
        }
        let (shape, values) = read(c.weight.val())?;
        self.add(format!("{prefix}.weight"), shape.clone(), values);
        let bias = self.bias(prefix, &c.bias)?;
        let same = |k: usize| {
            let total = k.saturating_sub(1);
            [total / 2, total - total / 2]
        };
        let padding = match &c.padding {
            PaddingConfig2d::Valid => [[0, 0], [0, 0]],
            PaddingConfig2d::Explicit(top, left, bottom, right) => [[*top, *bottom], [*left, *right]],
            PaddingConfig2d::Same if c.stride == [1, 1] => [same(c.kernel_size[0]), same(c.kernel_size[1])],
            PaddingConfig2d::Same => {
                return Err(AppError::runtime(format!("{prefix}: `same` padding with a stride is not exported")));
            }
        };
        Ok(json!({
            "op": "conv2d", "name": prefix, "in_channels": shape[1], "out_channels": shape[0],
            "kernel_size": c.kernel_size, "stride": c.stride, "padding": padding, "bias": bias,
        }))
    }

    /// A ConvTranspose2d: the weight as is (`[in, out, kh, kw]` in both).
    fn conv_transpose(&mut self, prefix: &str, c: &ConvTranspose2d) -> Result<Value> {
        if c.groups != 1 || c.dilation != [1, 1] {
            return Err(AppError::runtime(format!("{prefix}: grouped or dilated convolutions are not exported")));
        }
        let (shape, values) = read(c.weight.val())?;
        self.add(format!("{prefix}.weight"), shape.clone(), values);
        let bias = self.bias(prefix, &c.bias)?;
        Ok(json!({
            "op": "conv_transpose2d", "name": prefix, "in_channels": shape[0], "out_channels": shape[1],
            "kernel_size": c.kernel_size, "stride": c.stride, "padding": c.padding,
            "output_padding": c.padding_out, "bias": bias,
        }))
    }

    /// A dense hidden layer's batch norm (`batch_norm1d`), activation and dropout, appended to `ops`
    /// (the `torch.nn.Sequential` of `half`).
    fn hidden_tail(
        &mut self,
        ops: &mut Vec<Value>,
        half: &str,
        norm: Option<&BatchNorm>,
        act: Activation,
        dropout: Option<&Dropout>,
    ) -> Result<()> {
        if let Some(bn) = norm {
            let op = self.batch_norm(&format!("{half}.layers.{}", ops.len()), bn, "batch_norm1d")?;
            ops.push(op);
        }
        ops.push(activation(act));
        if let Some(d) = dropout {
            ops.push(json!({ "op": "dropout", "p": d.prob }));
        }
        Ok(())
    }

    /// A batch norm (inference: running statistics) and its four tensors; `op` is `batch_norm1d` (dense) or `batch_norm2d` (conv).
    fn batch_norm(&mut self, prefix: &str, bn: &BatchNorm, op: &str) -> Result<Value> {
        let (shape, gamma) = read(bn.gamma.val())?;
        self.add(format!("{prefix}.weight"), shape.clone(), gamma);
        let (_, beta) = read(bn.beta.val())?;
        self.add(format!("{prefix}.bias"), shape.clone(), beta);
        let (_, mean) = read(bn.running_mean.value())?;
        self.add(format!("{prefix}.running_mean"), shape.clone(), mean);
        let (_, var) = read(bn.running_var.value())?;
        self.add(format!("{prefix}.running_var"), shape.clone(), var);
        Ok(json!({ "op": op, "name": prefix, "num_features": shape[0], "eps": bn.epsilon, "momentum": bn.momentum }))
    }

    /// The bottleneck's layers and how its deterministic code is made.
    fn bottleneck(&mut self, b: &Bottleneck) -> Result<Value> {
        let recipe = b.layer().recipe();
        let mut out = serde_json::Map::new();
        out.insert("kind".into(), json!(recipe.kind));
        for (name, linear) in &recipe.layers {
            out.insert((*name).into(), self.linear(&format!("bottleneck.{name}"), linear)?);
        }
        if let Some(a) = recipe.activation {
            out.insert("code_activation".into(), json!(a.name()));
        }
        for (name, value) in &recipe.settings {
            out.insert((*name).into(), json!(value));
        }
        if let Some(note) = recipe.note {
            out.insert("note".into(), json!(note));
        }
        out.insert("code".into(), json!(recipe.code));
        Ok(Value::Object(out))
    }

    /// The safetensors bytes: an 8-byte little-endian header length, the JSON header (names,
    /// dtype, shape, byte offsets; padded with spaces to a multiple of 8 bytes), then the
    /// little-endian f32 data in header order.
    fn safetensors(&self, experiment: &str) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        header.insert(
            "__metadata__".into(),
            json!({ "format": "pt", "producer": format!("ae-train {}", env!("CARGO_PKG_VERSION")), "experiment": experiment }),
        );
        let mut at = 0usize;
        for t in &self.tensors {
            let end = at + t.values.len() * 4;
            header.insert(t.name.clone(), json!({ "dtype": "F32", "shape": t.shape, "data_offsets": [at, end] }));
            at = end;
        }
        let mut head = serde_json::to_string(&Value::Object(header)).expect("a JSON map serialises");
        while !head.len().is_multiple_of(8) {
            head.push(' ');
        }
        let mut out = Vec::with_capacity(8 + head.len() + at);
        out.extend_from_slice(&(head.len() as u64).to_le_bytes());
        out.extend_from_slice(head.as_bytes());
        for t in &self.tensors {
            for v in &t.values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transpose_swaps_rows_and_columns() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
        assert_eq!(transpose(&[1., 2., 3., 4., 5., 6.], 2, 3), vec![1., 4., 2., 5., 3., 6.]);
    }

    #[test]
    fn safetensors_layout() {
        let mut b = Builder::default();
        b.add("a.weight".into(), vec![2, 1], vec![1.0, -2.0]);
        b.add("a.bias".into(), vec![1], vec![0.5]);
        let bytes = b.safetensors("x");
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!(n % 8, 0);
        let header: Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
        assert_eq!(header["a.bias"]["data_offsets"], json!([8, 12]));
        assert_eq!(header["a.weight"]["shape"], json!([2, 1]));
        assert_eq!(bytes.len(), 8 + n + 12);
        assert_eq!(&bytes[8 + n + 4..8 + n + 8], &(-2.0f32).to_le_bytes());
    }
}

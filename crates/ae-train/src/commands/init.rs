//! `ae-train init VARIANT DATASET [--out FILE]`: a commented starter config that trains as
//! written. The model and training settings are those of the variant's preset in `configs/presets/`
//! (built into the binary, so the presets stay the one source of truth); the data table is made
//! for the dataset; every key carries a comment saying what it does.

use std::path::{Path, PathBuf};

use ae_data::catalog;

use crate::config::{self, ExperimentConfig};
use crate::error::{AppError, Result};
use crate::fsio::write_atomic;

/// A variant name, the preset file it comes from, and the preset's text.
struct Variant {
    name: &'static str,
    preset: &'static str,
    text: &'static str,
}

macro_rules! variant {
    ($name:literal, $file:literal) => {
        Variant { name: $name, preset: $file, text: include_str!(concat!("../../configs/presets/", $file)) }
    };
}

/// Every variant `init` writes, in the order `--help` lists them.
const VARIANTS: &[Variant] = &[
    variant!("basic", "basic.toml"),
    variant!("deep", "mnist_deep.toml"),
    variant!("linear", "linear.toml"),
    variant!("convolutional", "convolutional.toml"),
    variant!("denoising", "denoising.toml"),
    variant!("sparse", "sparse.toml"),
    variant!("k_sparse", "k_sparse.toml"),
    variant!("contractive", "contractive.toml"),
    variant!("robust", "robust.toml"),
    variant!("variational", "variational.toml"),
    variant!("adversarial", "adversarial.toml"),
    variant!("hashing", "hashing.toml"),
    variant!("overcomplete", "overcomplete.toml"),
    variant!("sequence", "sequence.toml"),
    variant!("sequence_lstm", "sequence_lstm.toml"),
    variant!("anomaly", "tabular_anomaly.toml"),
];

/// Other names accepted for a variant.
const ALIASES: &[(&str, &str)] = &[("binary", "hashing"), ("vae", "variational"), ("conv", "convolutional")];

/// The variant names `init` accepts (aliases excluded).
pub fn variant_names() -> Vec<&'static str> {
    VARIANTS.iter().map(|v| v.name).collect()
}

/// Writes the starter config of `variant` on `dataset` to `out` (default `<variant>_<dataset>.toml`)
/// and returns its path. Unknown names and pairs that cannot work together are usage errors (exit
/// 2); an existing `out` is never overwritten (exit 1).
pub fn run(variant: &str, dataset: &str, out: Option<&Path>) -> Result<PathBuf> {
    let text = starter(variant, dataset)?;
    let canonical = resolve(variant)?.name;
    let out = out.map(Path::to_path_buf).unwrap_or_else(|| PathBuf::from(format!("{canonical}_{dataset}.toml")));
    if out.exists() {
        return Err(AppError::runtime(format!(
            "{}: already exists; init never overwrites a file (remove it or pass --out OTHER.toml)",
            out.display()
        )));
    }
    write_atomic(&out, text.as_bytes())?;
    Ok(out)
}

fn resolve(variant: &str) -> Result<&'static Variant> {
    let name = ALIASES.iter().find(|(a, _)| *a == variant).map(|(_, v)| *v).unwrap_or(variant);
    VARIANTS.iter().find(|v| v.name == name).ok_or_else(|| {
        AppError::usage(format!(
            "unknown variant `{variant}`; known: {} (aliases: {})",
            variant_names().join(", "),
            ALIASES.iter().map(|(a, v)| format!("{a} = {v}")).collect::<Vec<_>>().join(", ")
        ))
    })
}

/// The text of the starter config of `variant` on `dataset`, checked to parse and to fit the
/// dataset's items.
pub fn starter(variant: &str, dataset: &str) -> Result<String> {
    let v = resolve(variant)?;
    let shape = catalog::item_shape(dataset)
        .filter(|_| catalog::is_known(dataset))
        .ok_or_else(|| AppError::usage(format!("unknown dataset `{dataset}`; known: {}", catalog::NAMES.join(", "))))?;
    let preset_path = format!("configs/presets/{}", v.preset);
    let preset: ExperimentConfig = config::parse(v.text, Path::new(&preset_path), &[])?;
    let mismatch = |why: String| {
        AppError::usage(format!(
            "variant `{}` does not fit dataset `{dataset}` (items of shape {shape:?}): {why}",
            v.name
        ))
    };
    let series = shape.len() == 2;
    let conv_or_lstm = !matches!(preset.model.network, ae_models::network::NetworkConfig::Dense(_));
    if v.name.starts_with("sequence") && !series {
        return Err(mismatch(
            "a sequence autoencoder reads series [channels, length] (ecg5000); use `convolutional` for images".into(),
        ));
    }
    if conv_or_lstm && shape.len() == 1 {
        return Err(mismatch(
            "its network needs images or series, not flat feature vectors; use a dense variant".into(),
        ));
    }
    preset.model.validate_for_shape(&shape).map_err(|e| mismatch(format!("model.{}: {}", e.key, e.message)))?;

    let table: toml::Table = toml::from_str(v.text).expect("the preset parsed above");
    let text = render(v, dataset, &preset, &table);
    // The starter must be a valid config as written, with the preset's model and training.
    let written = config::parse(&text, Path::new("starter.toml"), &[])
        .map_err(|e| AppError::runtime(format!("internal error: the starter config does not parse: {e}")))?;
    if written.model != preset.model || written.train != preset.train {
        return Err(AppError::runtime(format!("internal error: the starter config differs from {preset_path}")));
    }
    Ok(text)
}

/// Width at which comments start.
const COLUMN: usize = 30;

/// `key = value` with its comment aligned.
fn entry(key: &str, value: &str, comment: &str) -> String {
    let kv = format!("{key} = {value}");
    if comment.is_empty() { format!("{kv}\n") } else { format!("{kv:COLUMN$} # {comment}\n") }
}

/// The starter config's text.
fn render(v: &Variant, dataset: &str, preset: &ExperimentConfig, table: &toml::Table) -> String {
    let mut s = String::new();
    s.push_str(&format!("# Starter config: `ae-train init {} {dataset}`.\n", v.name));
    s.push_str(&format!("# Model and training settings from the preset configs/presets/{}:\n", v.preset));
    for line in v.text.lines().take_while(|l| l.starts_with('#')) {
        s.push_str(&format!("#   {}\n", line.trim_start_matches('#').trim()));
    }
    let name = format!("{}_{dataset}", v.name);
    s.push_str(&format!("# Train:  ae-train --config {name}.toml   (a run folder runs/{name}/ with loss.png,\n"));
    s.push_str("#         summary.json, model.bpk...; `ae-train show runs/<name>` sums it up). Any key can be\n");
    s.push_str("#         overridden on the command line: --set train.epochs=1 --set data.limit=1000\n\n");
    s.push_str(&entry("name", &quote(&name), "names the run folder: runs/<name>"));
    let description = format!("{} autoencoder (preset {}) on {dataset}", v.name, v.preset);
    s.push_str(&entry("description", &quote(&description), "free text, shown by `ae-train show`"));

    s.push_str("\n[data]\n");
    let source = if dataset == "shapes" {
        "generated from train.seed (no download)"
    } else {
        "read from $AE_DATA_DIR, else datasets/ (`ae-train data fetch NAME`)"
    };
    s.push_str(&entry("dataset", &quote(dataset), &format!("{}; {source}", catalog::NAMES.join(", "))));
    s.push_str(&entry("# limit", "1000", "use at most this many items of each split (quick trials)"));
    let zscore_default = matches!(dataset, "satellite" | "ecg5000");
    let needs_unit = preset.model.loss.needs_unit_targets()
        || preset.model.output_activation() == ae_models::activation::Activation::Sigmoid;
    if zscore_default && needs_unit {
        s.push_str(&entry(
            "normalize",
            "\"unit\"",
            "min-max to [0, 1] with training statistics: this variant's sigmoid output / loss needs it",
        ));
    } else {
        let default = if zscore_default { "zscore" } else { "unit" };
        s.push_str(&entry(
            "# normalize",
            &quote(default),
            "unit ([0, 1]), zscore or none; the default for this dataset is shown",
        ));
    }
    if v.name == "anomaly" {
        s.push_str(&entry(
            "val_fraction",
            "0.0",
            "fit on every row, outliers included (no labels needed); score them: anomaly RUN --split train",
        ));
    } else {
        s.push_str(&entry("val_fraction", "0.1", "fraction of the training split held out for validation"));
    }
    if matches!(dataset, "ecg5000" | "cifar10-test") {
        s.push_str(&entry(
            "test_fraction",
            "0.2",
            "this dataset has one split: hold out this fraction as the test split",
        ));
    }

    let model = table.get("model").and_then(|m| m.as_table());
    for sub in ["network", "bottleneck", "corruption", "penalty", "loss"] {
        let Some(t) = model.and_then(|m| m.get(sub)).and_then(|t| t.as_table()) else { continue };
        s.push_str(&format!("\n[model.{sub}]\n"));
        let kind = t.get("kind").and_then(|k| k.as_str()).unwrap_or("");
        let mut keys: Vec<(&String, &toml::Value)> = t.iter().collect();
        // `kind` first, then the preset's own order.
        keys.sort_by_key(|(k, _)| (k.as_str() != "kind", config::locate(v.text, &format!("model.{sub}.{k}"))));
        for (key, value) in keys {
            for note in preset_notes(v.text, &format!("model.{sub}"), key) {
                s.push_str(&format!("# {note}\n"));
            }
            s.push_str(&entry(key, &value.to_string(), explain(sub, kind, key)));
        }
    }

    s.push_str("\n[train]\n");
    let train = table.get("train").and_then(|t| t.as_table());
    let mut keys: Vec<(&String, &toml::Value)> = train.into_iter().flatten().collect();
    keys.sort_by_key(|(k, _)| config::locate(v.text, &format!("train.{k}")));
    for (key, value) in keys {
        s.push_str(&entry(key, &value.to_string(), explain("train", "", key)));
    }
    let has = |k: &str| train.is_some_and(|t| t.contains_key(k));
    for (key, value) in [("seed", "0"), ("patience", "0"), ("weight_decay", "0.0"), ("backend", "\"auto\"")] {
        if !has(key) {
            s.push_str(&entry(&format!("# {key}"), value, explain("train", "", key)));
        }
    }
    s
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// The comment lines right above `key` inside the table `section` of the preset's text.
fn preset_notes(text: &str, section: &str, key: &str) -> Vec<String> {
    let mut current = String::new();
    let mut pending: Vec<String> = Vec::new();
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            current = t.trim_matches(|c| c == '[' || c == ']').trim().to_string();
            pending.clear();
        } else if let Some(c) = t.strip_prefix('#') {
            pending.push(c.trim().to_string());
        } else if let Some((k, _)) = t.split_once('=') {
            if current == section && k.trim() == key {
                return pending;
            }
            pending.clear();
        } else {
            pending.clear();
        }
    }
    Vec::new()
}

/// What a key does, for its comment.
fn explain(table: &str, kind: &str, key: &str) -> &'static str {
    match (table, kind, key) {
        ("network", _, "kind") => "dense (layers of units), conv (convolutions) or sequence (LSTM)",
        ("network", "dense", "hidden") => "widths of the encoder's hidden layers; the decoder mirrors them",
        ("network", "sequence", "hidden") => "units of the encoder and decoder LSTMs",
        ("network", _, "code") => "width of the code (the bottleneck)",
        ("network", _, "activation") => {
            "after every hidden layer: relu, selu, elu, sigmoid, tanh, leaky_relu, gelu, linear"
        }
        ("network", _, "code_activation") => "activation of the code layer (linear: unbounded code)",
        ("network", _, "output_activation") => "activation of the reconstruction (sigmoid for data in [0, 1])",
        ("network", _, "tied") => "decoder weights are the transposed encoder weights",
        ("network", _, "channels") => "output channels of each encoder convolution, input side first",
        ("network", _, "kernel") => "kernel size of every encoder convolution",
        ("network", _, "stride") => "stride of every encoder convolution (2 halves each map)",
        ("network", _, "padding") => "zero padding of every encoder convolution",
        ("network", _, "decoder_kernel") => "kernel size of the decoder's layers (default: kernel)",
        ("network", _, "upsampling") => "decoder: transpose (transposed convolutions) or upsample (nearest + conv)",
        ("network", "dense", "batch_norm") => "batch norm after every hidden layer (running statistics at evaluation)",
        ("network", _, "batch_norm") => "batch normalisation after every convolution but the last",
        ("network", _, "dropout") => "dropout rate after every hidden layer, or one per layer; training only",
        ("bottleneck", _, "kind") => {
            "deterministic, identity, gaussian (VAE), top_k (k-sparse), binary (hashing) or adversarial (AAE)"
        }
        ("bottleneck", _, "beta") => "weight of the KL term (1: the ELBO; > 1: beta-VAE)",
        ("bottleneck", _, "warmup") => "fraction of training over which the KL weight rises from 0 to beta",
        ("bottleneck", _, "k") => "code units kept per item at the end of training and when encoding",
        ("bottleneck", _, "k_start") => "code units kept at the start of training",
        ("bottleneck", _, "anneal") => "fraction of training over which k falls from k_start to k",
        ("bottleneck", _, "method") => "noise (Gaussian noise before the sigmoid) or straight_through (rounding)",
        ("bottleneck", _, "noise") => "standard deviation of the pre-sigmoid noise",
        ("bottleneck", _, "discriminator") => "hidden widths of the discriminator",
        ("bottleneck", _, "prior") => "distribution codes are matched to: normal, uniform or mixture",
        ("bottleneck", _, "scale") => "scale of the prior",
        ("bottleneck", _, "weight") => "weight of the adversarial term in the autoencoder's loss",
        ("bottleneck", _, "learning_rate") => "learning rate of the discriminator's optimizer",
        ("corruption", _, "kind") => "noise on training inputs: none, gaussian, masking, salt_and_pepper, cauchy",
        ("corruption", "gaussian", "sigma") => "standard deviation of the noise",
        ("corruption", _, "p") => "probability that an element is corrupted",
        ("corruption", _, "clip") => "clip noisy inputs to this range",
        ("corruption", _, "range") => "the low and high values of salt and pepper",
        ("corruption", _, "scale") => "scale of the Cauchy noise",
        ("penalty", _, "l1") => "weight of the L1 activity penalty on the code",
        ("penalty", _, "kl_sparsity") => "push each code unit's mean activation toward rho (sigmoid code)",
        ("penalty", _, "contractive") => "weight of the squared Frobenius norm of the encoder's Jacobian",
        ("loss", _, "kind") => "reconstruction loss: mse, bce, mae, correntropy, bernoulli or gaussian (NLL)",
        ("loss", _, "sigma") => "kernel width (correntropy) or decoder standard deviation (gaussian)",
        ("train", _, "epochs") => "passes over the training split",
        ("train", _, "batch_size") => "items per minibatch",
        ("train", _, "optimizer") => "adam or sgd",
        ("train", _, "learning_rate") => "step size",
        ("train", _, "momentum") => "SGD momentum in [0, 1)",
        ("train", _, "seed") => "seed of initial weights, splits, shuffles and noise",
        ("train", _, "patience") => "stop after this many epochs without a better validation loss (0: never)",
        ("train", _, "weight_decay") => "L2 weight decay",
        ("train", _, "backend") => "auto (GPU if present), wgpu, flex or ndarray; --backend overrides it",
        ("train", _, "pretrain_epochs") => "greedy layer-wise pretraining epochs per layer (0: off)",
        ("train", _, "init_output_bias") => "start the output biases at the training data's mean",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variant_has_a_parseable_preset() {
        for v in VARIANTS {
            config::parse(v.text, Path::new(v.preset), &[]).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        }
    }

    #[test]
    fn every_written_key_is_explained() {
        for v in VARIANTS {
            let dataset = if v.name.starts_with("sequence") { "ecg5000" } else { "mnist" };
            let text = starter(v.name, dataset).unwrap();
            for line in text.lines().filter(|l| !l.starts_with('#') && l.contains(" = ")) {
                assert!(line.contains(" # "), "{}: key without a comment: {line}", v.name);
            }
        }
    }
}

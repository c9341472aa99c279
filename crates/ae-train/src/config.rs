//! Experiment configuration: TOML on disk, `--set KEY=VALUE` overrides, strict parsing (unknown
//! keys are rejected by name) and validation of everything before any work starts.

use std::path::{Path, PathBuf};

use ae_data::Normalization;
use ae_models::AutoencoderConfig;
use ae_models::precision::Precision;
use serde::{Deserialize, Serialize};

use crate::backend::BackendChoice;
use crate::error::{AppError, Result};

/// A whole experiment: what data, which model, how to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExperimentConfig {
    /// Name of the experiment; the run folder defaults to `runs/<name>`.
    pub name: String,
    /// Free text describing the experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The dataset.
    pub data: DataConfig,
    /// The autoencoder, one table per axis.
    pub model: AutoencoderConfig,
    /// The optimisation.
    pub train: TrainConfig,
}

/// Which data to train on and how to prepare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Dataset name (`shapes`, `mnist`, `fashion-mnist`, `satellite`, ...). With `source` it only
    /// names the data in reports, and may be left out (the source's path then names it).
    #[serde(default)]
    pub dataset: String,
    /// Folder holding the datasets; default `$AE_DATA_DIR`, else `datasets/`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<PathBuf>,
    /// Use at most this many items of each split (quick runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<usize>,
    /// `unit`, `zscore` or `none`; default: the dataset's usual one (unit for images, zscore for
    /// the satellite features). Statistics come from the training split.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalization>,
    /// Fraction of the training split held out for validation (seeded), in [0, 1).
    #[serde(default = "default_val_fraction")]
    pub val_fraction: f64,
    /// Carve a held-out test split of this fraction out of the training items (seeded), replacing
    /// the dataset's own test split: for datasets shipped as one split (`cifar10-test`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_fraction: Option<f64>,
    /// Read the data from files instead of a catalog dataset: a table
    /// `{ kind = "csv", path = "x.csv", test = "y.csv", options = { label = "last" } }`, `arff`,
    /// `image_folder`, `cifar` (binary batches), `ice_learning`, or `npy` (memory-mapped NumPy
    /// files: `{ kind = "npy", path = "x.npy", labels = "y.npy" }`, what `ae-train data pack`
    /// writes). Relative paths are relative to the current folder. `dataset` then only names the
    /// data in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<ae_data::Source>,
    /// Train (and validate) only on items of these classes (label indices, e.g. `[0]`: one digit
    /// as "normal" for anomaly detection); the test split keeps every class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub classes: Option<Vec<u16>>,
}

fn default_val_fraction() -> f64 {
    0.1
}

/// The optimiser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    /// Adam (Kingma & Ba), betas 0.9 / 0.999, epsilon 1e-8.
    #[default]
    Adam,
    /// Stochastic gradient descent with optional momentum.
    Sgd,
}

/// How to train.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Number of passes over the training split.
    pub epochs: usize,
    /// Items per minibatch.
    pub batch_size: usize,
    /// `adam` or `sgd`.
    #[serde(default)]
    pub optimizer: OptimizerKind,
    /// Step size.
    pub learning_rate: f64,
    /// SGD momentum in [0, 1) (ignored by Adam).
    #[serde(default)]
    pub momentum: f64,
    /// L2 weight decay added to the gradients, >= 0.
    #[serde(default)]
    pub weight_decay: f64,
    /// Stop after this many epochs without a better validation loss (0: never stop early).
    #[serde(default)]
    pub patience: usize,
    /// Seed of initial weights, splits, shuffles and noise.
    #[serde(default)]
    pub seed: u64,
    /// Threads preparing batches ahead of the model.
    #[serde(default = "default_workers")]
    pub workers: usize,
    /// `auto`, `wgpu`, `flex` or `ndarray`; `--backend` overrides it.
    #[serde(default)]
    pub backend: BackendChoice,
    /// Read the loss back from the device every this many steps for the progress display (and
    /// the divergence check); the epoch loss is always exact.
    #[serde(default = "default_log_every")]
    pub log_every: usize,
    /// Greedy layer-wise pretraining: before training the whole network, train each layer of a
    /// dense network for this many epochs as a shallow autoencoder of the layer below's output
    /// (0: off). Needs a dense, untied network with a deterministic bottleneck.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub pretrain_epochs: usize,
    /// Start the decoder's output biases at the training data's mean (through the preimage of
    /// the output activation: the log-odds for a sigmoid), per feature or per channel, instead of
    /// at 0. Needs a linear, sigmoid or tanh output activation.
    #[serde(default, skip_serializing_if = "is_false")]
    pub init_output_bias: bool,
    /// Keep an exponential moving average of the weights with this decay, in (0, 1) (e.g. 0.99
    /// or 0.999: an average over about the last 1 / (1 - decay) steps), and validate, test and
    /// save the averaged model instead of the last step's (absent: off).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ema_decay: Option<f64>,
    /// Write TensorBoard event files to the run folder's `tensorboard/` (on by default: a few
    /// kilobytes per epoch, and `tensorboard --logdir runs` then shows every run).
    #[serde(default = "default_true")]
    pub tensorboard: bool,
    /// `f32`, or mixed precision: `f16` (with dynamic loss scaling) or `bf16`, the format of the
    /// encoder's and decoder's layers while training, with f32 weights (ae_models::precision).
    #[serde(default, skip_serializing_if = "is_f32")]
    pub precision: Precision,
}

fn is_f32(p: &Precision) -> bool {
    *p == Precision::F32
}

fn default_true() -> bool {
    true
}

fn is_false(v: &bool) -> bool {
    !*v
}

fn is_zero(v: &usize) -> bool {
    *v == 0
}

fn default_workers() -> usize {
    2
}

fn default_log_every() -> usize {
    50
}

/// A parsed config and where it came from.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    /// The experiment.
    pub config: ExperimentConfig,
    /// The file it was read from.
    pub path: PathBuf,
}

/// Finds a config: `path` as given, else `<dir>/<path>` then `<dir>/<path>.toml` for each folder
/// of [`config_dirs`] (so `--config mnist_2d.toml` works from the project root).
pub fn find(path: &Path) -> Result<PathBuf> {
    if path.is_file() {
        return Ok(path.to_path_buf());
    }
    let mut tried = vec![path.to_path_buf()];
    if path.is_relative() {
        for base in config_dirs() {
            let cand = base.join(path);
            if cand.is_file() {
                return Ok(cand);
            }
            tried.push(cand.clone());
            if path.extension().is_none() {
                let with = cand.with_extension("toml");
                if with.is_file() {
                    return Ok(with);
                }
                tried.push(with);
            }
        }
    }
    Err(AppError::usage(format!(
        "config file not found: {} (looked for {})",
        path.display(),
        tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )))
}

/// Folders searched for configs named without a path: `configs/`, `configs/experiments/` and
/// `configs/presets/` here, then the project's own experiments and presets (where the binary was
/// built from).
pub fn config_dirs() -> Vec<PathBuf> {
    let here = Path::new("configs");
    let mut dirs = vec![here.to_path_buf(), here.join(EXPERIMENTS), here.join(PRESETS)];
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    if built.is_dir() {
        dirs.extend([built.join(EXPERIMENTS), built.join(PRESETS)]);
    }
    dirs
}

/// The folder of `configs/` holding the experiments: the seed configs and studies.
pub const EXPERIMENTS: &str = "experiments";

/// The folder of `configs/` holding the presets: one per variant, built into the binary.
pub const PRESETS: &str = "presets";

/// Reads, overrides, parses and validates a config file.
pub fn load(path: &Path, overrides: &[String]) -> Result<LoadedConfig> {
    let path = find(path)?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| AppError::usage(format!("{}: cannot read config: {e}", path.display())))?;
    let config = parse(&text, &path, overrides)?;
    Ok(LoadedConfig { config, path })
}

/// Parses config text (`path` names it in errors), applies `KEY=VALUE` overrides, validates.
pub fn parse(text: &str, path: &Path, overrides: &[String]) -> Result<ExperimentConfig> {
    let file = path.display();
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| AppError::usage(format!("{file}: {}", one_line(&e.to_string()))))?;
    let mut overridden = Vec::new();
    for o in overrides {
        let key = apply_override(&mut table, o)?;
        overridden.push(key);
    }
    let place = |key: &str| {
        if overridden.iter().any(|k| key.starts_with(k.as_str()) || k.starts_with(key)) {
            " (set on the command line)".to_string()
        } else {
            locate(text, key).map(|l| format!(" (line {l})")).unwrap_or_default()
        }
    };
    let mut config: ExperimentConfig = serde_path_to_error::deserialize(toml::Value::Table(table)).map_err(|e| {
        let key = e.path().to_string();
        // Inside tagged tables (`kind = ...`) the key path stops at the table: find the line of
        // the unknown value or field itself.
        let inner = e.inner().to_string();
        let exact = if overridden.is_empty() {
            offending_token(&inner).and_then(|t| locate_token(text, &key, t))
        } else {
            None
        };
        let place = exact.map(|l| format!(" (line {l})")).unwrap_or_else(|| place(&key));
        let msg = inner.split("\nin `").next().unwrap_or_default().trim();
        if key == "." {
            // A missing top-level table or field: there is no key to name.
            return AppError::usage(format!("{file}: {msg}"));
        }
        AppError::usage(format!("{file}: key `{key}`{place}: {msg}"))
    })?;
    if config.data.dataset.trim().is_empty()
        && let Some(source) = &config.data.source
    {
        config.data.dataset = source.name();
    }
    validate(&config).map_err(|(key, msg)| AppError::usage(format!("{file}: key `{key}`{}: {msg}", place(&key))))?;
    Ok(config)
}

/// The value or field a serde error complains about: `sigmod` in "unknown variant `sigmod`, ...".
fn offending_token(msg: &str) -> Option<&str> {
    let at = msg.find("unknown variant `").map(|i| i + 17).or_else(|| msg.find("unknown field `").map(|i| i + 15))?;
    msg[at..].split('`').next()
}

/// The first line inside the table `key` (or its subtables) that mentions `token`.
fn locate_token(text: &str, key: &str, token: &str) -> Option<usize> {
    let parts: Vec<&str> = key.split('.').collect();
    let mut section: Vec<String> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.split('#').next().unwrap_or("").trim();
        if t.starts_with('[') {
            section = t.trim_matches(|c| c == '[' || c == ']').split('.').map(|s| s.trim().to_string()).collect();
            continue;
        }
        let inside = section.len() >= parts.len() && section.iter().zip(&parts).all(|(a, b)| a == b);
        let is_word = |s: &str| s.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '-')).any(|w| w == token);
        if inside && is_word(t) {
            return Some(i + 1);
        }
    }
    None
}

fn one_line(s: &str) -> String {
    s.trim().replace('\n', "\n  ")
}

/// Applies one `a.b.c=value` override; the value is read as TOML (`2`, `1e-3`, `"x"`, `[1, 2]`),
/// or as a string when it is not valid TOML (`--set data.dataset=mnist`).
fn apply_override(table: &mut toml::Table, spec: &str) -> Result<String> {
    let (key, raw) = spec
        .split_once('=')
        .ok_or_else(|| AppError::usage(format!("--set {spec}: expected KEY=VALUE, e.g. --set train.epochs=2")))?;
    let key = key.trim();
    if key.is_empty() || key.split('.').any(|p| p.is_empty()) {
        return Err(AppError::usage(format!("--set {spec}: `{key}` is not a dotted key like train.epochs")));
    }
    let value = match toml::from_str::<toml::Table>(&format!("v = {raw}")) {
        Ok(mut t) => t.remove("v").expect("parsed key"),
        Err(_) => toml::Value::String(raw.to_string()),
    };
    let parts: Vec<&str> = key.split('.').collect();
    let mut cur = table;
    for (i, p) in parts[..parts.len() - 1].iter().enumerate() {
        let entry = cur.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        cur = entry.as_table_mut().ok_or_else(|| {
            AppError::usage(format!("--set {spec}: `{}` is a value, not a table", parts[..=i].join(".")))
        })?;
    }
    cur.insert(parts[parts.len() - 1].to_string(), value);
    Ok(key.to_string())
}

/// The 1-based line where the dotted `key` is defined in `text`, found by following `[table]`
/// headers and `key =` lines (a best effort for error messages).
pub fn locate(text: &str, key: &str) -> Option<usize> {
    let parts: Vec<&str> = key.split('.').filter(|p| !p.starts_with('[') && p.parse::<usize>().is_err()).collect();
    let mut section: Vec<String> = Vec::new();
    let mut best = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            let name = t.trim_matches(|c| c == '[' || c == ']').trim();
            section = name.split('.').map(|s| s.trim().to_string()).collect();
            if section.len() <= parts.len() && section.iter().zip(&parts).all(|(a, b)| a == b) && best.is_none() {
                best = Some(i + 1);
            }
            continue;
        }
        if let Some((k, _)) = t.split_once('=') {
            let k = k.trim().trim_matches('"');
            let mut full: Vec<&str> = section.iter().map(|s| s.as_str()).collect();
            full.extend(k.split('.').map(str::trim));
            if full == parts {
                return Some(i + 1);
            }
        }
    }
    best
}

/// Checks every value that serde's types do not already constrain. Returns (dotted key, message).
pub fn validate(c: &ExperimentConfig) -> std::result::Result<(), (String, String)> {
    let err = |k: &str, m: String| Err((k.to_string(), m));
    if c.name.trim().is_empty() || c.name.contains(['/', '\\']) || c.name == "." || c.name == ".." {
        return err("name", format!("`{}` cannot name a run folder (non-empty, no slashes)", c.name));
    }
    if c.data.source.is_none() && c.data.dataset.trim().is_empty() {
        return err(
            "data.dataset",
            format!(
                "name a dataset ({}) or give data.source (files: csv, arff, image_folder, cifar, ice_learning, npy)",
                ae_data::catalog::NAMES.join(", ")
            ),
        );
    }
    if c.data.source.is_none() && !ae_data::catalog::is_known(&c.data.dataset) {
        return err(
            "data.dataset",
            format!("unknown dataset `{}`; known: {}", c.data.dataset, ae_data::catalog::NAMES.join(", ")),
        );
    }
    if c.data.limit == Some(0) {
        return err("data.limit", "must be at least 1".into());
    }
    if let Some(f) = c.data.test_fraction
        && !(f > 0.0 && f < 1.0)
    {
        return err("data.test_fraction", format!("must be in (0, 1), got {f}"));
    }
    if !(0.0..1.0).contains(&c.data.val_fraction) {
        return err("data.val_fraction", format!("must be in [0, 1), got {}", c.data.val_fraction));
    }
    match &c.data.source {
        Some(ae_data::Source::ImageFolder { options, .. }) => {
            if options.channels != 1 && options.channels != 3 {
                return err(
                    "data.source.options.channels",
                    format!("must be 1 (grayscale) or 3 (RGB), got {}", options.channels),
                );
            }
            if let Some(size) = options.size
                && size.iter().any(|&s| s == 0 || s > ae_data::image_folder::MAX_SIDE)
            {
                return err(
                    "data.source.options.size",
                    format!("each side must be in 1..={}, got {size:?}", ae_data::image_folder::MAX_SIDE),
                );
            }
        }
        Some(ae_data::Source::IceLearning { options, .. })
            if options.size == 0 || options.size > ae_data::image_folder::MAX_SIDE =>
        {
            return err(
                "data.source.options.size",
                format!("must be in 1..={}, got {}", ae_data::image_folder::MAX_SIDE, options.size),
            );
        }
        _ => {}
    }
    let t = &c.train;
    if t.epochs == 0 {
        return err("train.epochs", "must be at least 1".into());
    }
    if t.batch_size == 0 {
        return err("train.batch_size", "must be at least 1".into());
    }
    if !(t.learning_rate.is_finite() && t.learning_rate > 0.0) {
        return err("train.learning_rate", format!("must be a finite number > 0, got {}", t.learning_rate));
    }
    if t.learning_rate > 10.0 {
        return err(
            "train.learning_rate",
            format!("{} is far too large to train anything (expected e.g. 1e-3)", t.learning_rate),
        );
    }
    if !(0.0..1.0).contains(&t.momentum) {
        return err("train.momentum", format!("must be in [0, 1), got {}", t.momentum));
    }
    if !(t.weight_decay.is_finite() && t.weight_decay >= 0.0) {
        return err("train.weight_decay", format!("must be a finite number >= 0, got {}", t.weight_decay));
    }
    if t.log_every == 0 {
        return err("train.log_every", "must be at least 1".into());
    }
    // The library's own check, so that the rule lives in one place.
    if let Some(Err(e)) = t.ema_decay.map(ae_models::average::WeightAverage::new) {
        return err("train.ema_decay", e.message);
    }
    if t.pretrain_epochs > 0 {
        let dense_untied = matches!(&c.model.network, ae_models::network::NetworkConfig::Dense(d) if !d.tied);
        let deterministic = matches!(c.model.bottleneck, ae_models::bottleneck::BottleneckConfig::Deterministic(_));
        if !(dense_untied && deterministic) {
            return err(
                "train.pretrain_epochs",
                "layer-wise pretraining needs a dense network without tied weights and a deterministic bottleneck"
                    .into(),
            );
        }
    }
    if t.init_output_bias {
        let activation = c.model.network.output_activation();
        if activation.preimage(0.0).is_none() {
            return err(
                "train.init_output_bias",
                format!(
                    "needs a linear, sigmoid or tanh output activation (model.network.output_activation is {})",
                    activation.name()
                ),
            );
        }
    }
    // The model against the shape of the dataset's items, where it is known without loading the
    // data (otherwise it is checked once the data is loaded).
    let shape = match &c.data.source {
        Some(source) => ae_data::source_item_shape(source),
        None => ae_data::catalog::item_shape(&c.data.dataset),
    };
    if let Some(shape) = shape {
        c.model.validate_for_shape(&shape).map_err(|e| (format!("model.{}", e.key), e.message))?;
    }
    if c.model.loss.needs_unit_targets() && c.data.normalize.is_some_and(|n| n != Normalization::Unit) {
        return err(
            "data.normalize",
            format!("model.loss `{}` needs targets in [0, 1]: use normalize = \"unit\"", c.model.loss.name()),
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const GOOD: &str = r#"
name = "t"
[data]
dataset = "shapes"
[model.network]
kind = "dense"
hidden = [32]
code = 4
output_activation = "sigmoid"
[train]
epochs = 2
batch_size = 16
learning_rate = 1e-3
"#;

    fn parse_err(text: &str, overrides: &[&str]) -> String {
        let o: Vec<String> = overrides.iter().map(|s| s.to_string()).collect();
        parse(text, Path::new("x.toml"), &o).unwrap_err().message
    }

    #[test]
    fn parses_with_defaults() {
        let c = parse(GOOD, Path::new("x.toml"), &[]).unwrap();
        assert_eq!(c.train.optimizer, OptimizerKind::Adam);
        assert_eq!(c.data.val_fraction, 0.1);
        assert_eq!(c.model.network.dense().code, 4);
    }

    #[test]
    fn overrides_apply_with_types() {
        let o = ["train.epochs=7".to_string(), "data.dataset=mnist".into(), "model.network.hidden=[8, 4]".into()];
        let c = parse(GOOD, Path::new("x.toml"), &o).unwrap();
        assert_eq!(c.train.epochs, 7);
        assert_eq!(c.data.dataset, "mnist");
        assert_eq!(c.model.network.dense().hidden, vec![8, 4]);
    }

    #[test]
    fn every_rejection_names_file_key_and_line() {
        let cases: Vec<(String, Vec<&str>, &str)> = vec![
            (
                GOOD.replace("epochs = 2", "epochs = 2\nepochz = 3"),
                vec![],
                "x.toml: key `train.epochz` (line 12): unknown field `epochz`, expected one of `epochs`",
            ),
            (
                GOOD.replace("code = 4", "code = 0"),
                vec![],
                "key `model.network.code` (line 8): the code needs at least 1 unit",
            ),
            (GOOD.replace("hidden = [32]", "hidden = [32, 0]"), vec![], "key `model.network.hidden[1]`"),
            (
                GOOD.replace("learning_rate = 1e-3", "learning_rate = -1.0"),
                vec![],
                "key `train.learning_rate` (line 13): must be a finite number > 0",
            ),
            (GOOD.replace("learning_rate = 1e-3", "learning_rate = nan"), vec![], "train.learning_rate"),
            (
                GOOD.replace("batch_size = 16", "batch_size = 0"),
                vec![],
                "key `train.batch_size` (line 12): must be at least 1",
            ),
            (
                GOOD.replace("batch_size = 16", "batch_size = -4"),
                vec![],
                "key `train.batch_size` (line 12): invalid value",
            ),
            (GOOD.replace("epochs = 2", "epochs = \"two\""), vec![], "key `train.epochs` (line 11): invalid type"),
            (GOOD.replace("\"shapes\"", "\"mnits\""), vec![], "key `data.dataset` (line 4): unknown dataset `mnits`"),
            (
                GOOD.replace("\"sigmoid\"", "\"sigmod\""),
                vec![],
                "key `model.network` (line 9): unknown variant `sigmod`",
            ),
            (GOOD.replace("kind = \"dense\"", "kind = \"dens\""), vec![], "key `model.network.kind`"),
            (
                GOOD.replace(
                    "output_activation = \"sigmoid\"",
                    "output_activation = \"linear\"\n[model.loss]\nkind = \"bce\"",
                ),
                vec![],
                "key `model.loss.kind` (line 11): bce needs a reconstruction in (0, 1)",
            ),
            (
                GOOD.replace("[train]", "[model.loss]\nkind = \"bce\"\n[train]")
                    .replace("dataset = \"shapes\"", "dataset = \"shapes\"\nnormalize = \"zscore\""),
                vec![],
                "key `data.normalize` (line 5): model.loss `bce` needs targets in [0, 1]",
            ),
            (
                GOOD.replace("[train]", "[model.corruption]\nkind = \"gaussian\"\nsigma = -1\n[train]"),
                vec![],
                "key `model.corruption.sigma` (line 12): must be a finite number > 0",
            ),
            (
                GOOD.replace("[train]", "[model.corruption]\nkind = \"masking\"\np = 1.5\n[train]"),
                vec![],
                "key `model.corruption.p`",
            ),
            (GOOD.replace("[train]", "[model.penalty]\nl1 = -1\n[train]"), vec![], "key `model.penalty.l1`"),
            (GOOD.replace("name = \"t\"", "name = \"a/b\""), vec![], "key `name` (line 2)"),
            (GOOD.replace("[train]", "[train]\nmomentum = 1.0"), vec![], "key `train.momentum`"),
            (GOOD.replace("[train]", "[train]\nema_decay = 1.0"), vec![], "key `train.ema_decay`"),
            (GOOD.replace("[train]", "[train]\nema_decay = 0.0"), vec![], "key `train.ema_decay`"),
            (GOOD.replace("[train]", "[train]\nema_decay = \"high\""), vec![], "key `train.ema_decay`"),
            (GOOD.replace("[data]", "[data]\nval_fraction = 1.0"), vec![], "key `data.val_fraction`"),
            (GOOD.replace("[data]", "[data]\nlimit = 0"), vec![], "key `data.limit`"),
            (GOOD.replace("[train]", "[train]\nbackend = \"tpu\""), vec![], "key `train.backend`"),
            (GOOD.replace("[train]", "[train]\noptimizer = \"adamw\""), vec![], "key `train.optimizer`"),
            (
                GOOD.replace("sigmoid", "relu").replace("[train]", "[train]\ninit_output_bias = true"),
                vec![],
                "key `train.init_output_bias` (line 11): needs a linear, sigmoid or tanh output activation",
            ),
            (GOOD.replace("name = \"t\"", ""), vec![], "missing field `name`"),
            (GOOD.replace("epochs = 2", "epochs = 2 2"), vec![], "x.toml: TOML parse error at line 11"),
            (
                GOOD.to_string(),
                vec!["train.epochs=0"],
                "key `train.epochs` (set on the command line): must be at least 1",
            ),
            (
                GOOD.to_string(),
                vec!["train.epochz=3"],
                "key `train.epochz` (set on the command line): unknown field `epochz`",
            ),
            (GOOD.to_string(), vec!["train.epochs"], "--set train.epochs: expected KEY=VALUE"),
            (GOOD.to_string(), vec!["name.x=1"], "--set name.x=1: `name` is a value, not a table"),
        ];
        for (i, (text, o, want)) in cases.iter().enumerate() {
            let e = parse_err(text, o);
            assert!(e.contains(want), "case {i}: wanted `{want}` in:\n{e}");
        }
    }

    #[test]
    fn resolved_config_round_trips_through_toml() {
        let c = parse(GOOD, Path::new("x.toml"), &[]).unwrap();
        let text = toml::to_string(&c).unwrap();
        assert_eq!(parse(&text, Path::new("resolved.toml"), &[]).unwrap(), c);
    }
}

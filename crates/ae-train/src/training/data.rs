//! From a config's `[data]` table to normalised train / validation / test views: the one place
//! that decides where data comes from and how it is split, for training and for applying a
//! trained model alike.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use ae_data::{LoadOptions, Normalization, Normalizer, View};
use serde::Serialize;

use crate::config::ExperimentConfig;
use crate::error::{AppError, Result};

/// Which split to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// The held-out test split.
    Test,
    /// The validation split.
    Val,
    /// The training split.
    Train,
}

/// A dataset ready for a model.
pub struct PreparedData {
    /// Training items (validation removed).
    pub train: View,
    /// Validation items, if `val_fraction > 0`.
    pub val: Option<View>,
    /// Test items, if the dataset has a test split (or `test_fraction` made one).
    pub test: Option<View>,
    /// Shape of one item.
    pub shape: Vec<usize>,
    /// The normalisation applied to every item.
    pub normalizer: Arc<Normalizer>,
}

impl PreparedData {
    /// The view of a split, if the data has it.
    pub fn split(&self, split: Split) -> Option<&View> {
        match split {
            Split::Test => self.test.as_ref(),
            Split::Val => self.val.as_ref(),
            Split::Train => Some(&self.train),
        }
    }

    /// Values per item.
    pub fn item_len(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Items of a streamed image folder the normaliser and the output biases are fitted on (a seeded
/// sample; every item of smaller folders).
pub const STREAMED_FIT_ITEMS: usize = 10_000;

/// Where datasets are read from: the config's `data.root`, else `$AE_DATA_DIR`, else `datasets/`.
pub fn data_root(config: &ExperimentConfig) -> PathBuf {
    config
        .data
        .root
        .clone()
        .or_else(|| std::env::var_os("AE_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("datasets"))
}

/// Loads and splits the config's dataset. The normaliser is fitted on the training split, unless
/// `normalizer` (a trained model's saved one) is given. `config_path` names the config in errors.
pub fn prepare(cfg: &ExperimentConfig, config_path: &Path, normalizer: Option<Normalizer>) -> Result<PreparedData> {
    let opts = LoadOptions { root: data_root(cfg), limit: cfg.data.limit, seed: cfg.train.seed };
    let mut splits = match &cfg.data.source {
        Some(source) => ae_data::load_source(source, &opts)?,
        None => ae_data::load(&cfg.data.dataset, &opts)?,
    };
    if let Some(fraction) = cfg.data.test_fraction {
        // A seeded held-out test split carved from the training items (a stream of its own, so it
        // does not coincide with the validation split).
        let (keep, held) = ae_data::batch::split(splits.train.len(), fraction, cfg.train.seed ^ 0x7E57_5EED);
        splits.test = Some(splits.train.subset(&held));
        splits.train = splits.train.subset(&keep);
    }
    if let Some(classes) = &cfg.data.classes {
        splits.train = keep_classes(splits.train, classes, &splits.name, config_path)?;
    }
    let kind = cfg.data.normalize.unwrap_or(splits.default_normalization);
    if cfg.model.loss.needs_unit_targets() && kind != Normalization::Unit {
        return Err(AppError::usage(format!(
            "{}: key `data.normalize`: model.loss `{}` needs targets in [0, 1], but dataset `{}` is normalised with `{kind:?}`; set data.normalize = \"unit\"",
            config_path.display(),
            cfg.model.loss.name(),
            splits.name
        )));
    }
    // Images decoded per batch (a streamed folder) fit on a seeded sample instead of decoding
    // the whole folder once more before training.
    let fit = |train: &ae_data::Dataset| {
        if train.features.is_streamed() {
            Normalizer::fit_sample(kind, train, STREAMED_FIT_ITEMS, cfg.train.seed)
        } else {
            Normalizer::fit(kind, train)
        }
    };
    let normalizer = Arc::new(normalizer.unwrap_or_else(|| fit(&splits.train)));
    let shape = splits.train.item_shape.clone();
    let train_set = Arc::new(splits.train);
    let (train_idx, val_idx) = ae_data::batch::split(train_set.len(), cfg.data.val_fraction, cfg.train.seed);
    Ok(PreparedData {
        train: View::new(train_set.clone(), train_idx, normalizer.clone()),
        val: (!val_idx.is_empty()).then(|| View::new(train_set.clone(), val_idx, normalizer.clone())),
        test: splits.test.map(|t| View::all(Arc::new(t), normalizer.clone())),
        shape,
        normalizer,
    })
}

/// The items of `data` whose label is one of `classes` (`data.classes`).
fn keep_classes(data: ae_data::Dataset, classes: &[u16], name: &str, config_path: &Path) -> Result<ae_data::Dataset> {
    let bad = |m: String| AppError::usage(format!("{}: key `data.classes`: {m}", config_path.display()));
    let Some(labels) = &data.labels else {
        return Err(bad(format!("dataset `{name}` has no labels to select classes by")));
    };
    if classes.is_empty() {
        return Err(bad("name at least one class".into()));
    }
    if let Some(c) = classes.iter().find(|&&c| c as usize >= data.classes.len()) {
        return Err(bad(format!(
            "class {c} does not exist: dataset `{name}` has classes 0..{}",
            data.classes.len() - 1
        )));
    }
    let keep: Vec<usize> = (0..data.len()).filter(|&i| classes.contains(&labels[i])).collect();
    if keep.is_empty() {
        return Err(bad(format!("no training item of dataset `{name}` is in classes {classes:?}")));
    }
    Ok(data.subset(&keep))
}

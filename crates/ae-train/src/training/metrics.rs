//! What is measured per epoch and at the end of a run.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One line of `metrics.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    /// Mean training objective over the epoch's items.
    pub train_loss: f64,
    /// Mean validation objective (no corruption), if there is a validation split.
    pub val_loss: Option<f64>,
    /// Mean of each named training loss term.
    pub train_terms: BTreeMap<String, f64>,
    /// Wall time of the epoch (training and validation), seconds.
    pub seconds: f64,
    /// Training items per second.
    pub samples_per_s: f64,
    /// Optimizer steps taken so far.
    pub step: u64,
    /// Learning rate used.
    pub learning_rate: f64,
    /// f16 training: the loss scale at the epoch's end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<f64>,
    /// f16 training: steps skipped so far because their gradients overflowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped_steps: Option<u64>,
}

/// Evaluation of a model on a split.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Number of items.
    pub items: usize,
    /// Mean objective without corruption.
    pub loss: f64,
    /// Mean squared error of the reconstruction per element (comparable across losses).
    pub mse: f64,
    /// Mean of each named loss term.
    pub terms: BTreeMap<String, f64>,
    /// Variant-specific measures, e.g. `log_likelihood_iwae` (nats per item) for a VAE.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, f64>,
}

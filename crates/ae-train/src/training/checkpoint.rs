//! Checkpoints: model weights, optimizer state and training progress in one versioned file,
//! written atomically.
//!
//! Layout: the 8-byte magic `AECKPT\0\x02`, then four or five length-prefixed (u64
//! little-endian) sections: JSON metadata ([`CheckpointMeta`]), the model's burnpack record, the
//! model optimizer's state, the adversary optimizer's state (empty for models without one), and,
//! when training keeps a running average of the weights (`train.ema_decay`), the averaged
//! model's burnpack record.

use std::path::Path;

use ae_models::Autoencoder;
use ae_models::average::WeightAverage;
use ae_models::precision::LossScale;
use ae_models::step::Optimizers;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device};
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::training::metrics::EpochMetrics;

const MAGIC: &[u8; 8] = b"AECKPT\0\x02";

/// Version of the checkpoint layout; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 2;

/// Where training stood when the checkpoint was taken.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckpointMeta {
    /// Layout version ([`FORMAT_VERSION`]).
    pub format_version: u32,
    /// Version of ae-train that wrote it.
    pub crate_version: String,
    /// Hash of the model configuration and input width: weights only fit the same architecture.
    pub config_hash: String,
    /// Backend that trained it.
    pub backend: String,
    /// Epochs completed.
    pub epoch: usize,
    /// Optimizer steps taken.
    pub step: u64,
    /// Best validation loss so far and its epoch.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best validation loss.
    pub stale_epochs: usize,
    /// Every epoch's metrics so far.
    pub history: Vec<EpochMetrics>,
    /// Updates of the weights' running average, when one is kept (its weights are the fifth
    /// section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub average_updates: Option<u64>,
    /// The loss scale of f16 training (`train.precision = "f16"`), so that a resumed run scales
    /// as the uninterrupted one would.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub loss_scale: Option<LossScale>,
}

/// Writes a checkpoint atomically.
pub fn save(path: &Path, meta: &CheckpointMeta, model: &Autoencoder, optims: &Optimizers) -> Result<()> {
    write_atomic(path, &encode(path, meta, model, optims)?)
}

/// The bytes of a checkpoint (`path` names it in errors).
pub fn encode(path: &Path, meta: &CheckpointMeta, model: &Autoencoder, optims: &Optimizers) -> Result<Vec<u8>> {
    let fail =
        |what: &str, e: String| AppError::runtime(format!("{}: cannot serialise the {what}: {e}", path.display()));
    // The update count always describes the average written (or its absence).
    let meta = CheckpointMeta {
        average_updates: optims.average.as_ref().map(|a| a.updates()),
        loss_scale: optims.loss_scale.clone(),
        ..meta.clone()
    };
    let json = serde_json::to_vec(&meta).map_err(|e| fail("metadata", e.to_string()))?;
    let model_bytes = model.clone().into_record().into_bytes().map_err(|e| fail("model", format!("{e:?}")))?;
    let optim_bytes = optims.model.into_bytes().map_err(|e| fail("optimizer state", format!("{e:?}")))?;
    let adversary_bytes = match &optims.adversary {
        Some(o) => o.into_bytes().map_err(|e| fail("adversary optimizer state", format!("{e:?}")))?.to_vec(),
        None => Vec::new(),
    };
    let average_bytes = match &optims.average {
        Some(a) => a
            .apply(model.clone())
            .into_record()
            .into_bytes()
            .map_err(|e| fail("weight average", format!("{e:?}")))?
            .to_vec(),
        None => Vec::new(),
    };
    let mut sections = vec![&json[..], &model_bytes[..], &optim_bytes[..], &adversary_bytes[..]];
    if optims.average.is_some() {
        sections.push(&average_bytes[..]);
    }
    let mut out = Vec::with_capacity(8 + sections.iter().map(|s| 8 + s.len()).sum::<usize>());
    out.extend_from_slice(MAGIC);
    for section in sections {
        out.extend_from_slice(&(section.len() as u64).to_le_bytes());
        out.extend_from_slice(section);
    }
    Ok(out)
}

/// A checkpoint read back, not yet applied to a model.
pub struct Checkpoint {
    /// Its metadata.
    pub meta: CheckpointMeta,
    model: Vec<u8>,
    optim: Vec<u8>,
    adversary: Vec<u8>,
    average: Option<Vec<u8>>,
}

/// Reads a checkpoint and checks its format version.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::runtime(format!("{}: cannot read checkpoint: {e}", path.display())))?;
    decode(&bytes, path)
}

/// Parses checkpoint bytes (read from `path`, or received from the process that read them; `path`
/// names them in errors).
pub fn decode(bytes: &[u8], path: &Path) -> Result<Checkpoint> {
    let bad = |m: &str| AppError::runtime(format!("{}: not a usable checkpoint: {m}", path.display()));
    if bytes.len() < 8 || &bytes[..6] != b"AECKPT" {
        return Err(bad("it does not start with the AECKPT magic"));
    }
    if bytes[..8] != MAGIC[..] {
        return Err(bad(&format!("layout version {} (this build reads version {FORMAT_VERSION})", bytes[7])));
    }
    let mut sections = Vec::new();
    let mut at = 8usize;
    for name in ["metadata", "model", "optimizer", "adversary optimizer", "weight average"] {
        if name == "weight average" && at == bytes.len() {
            break; // optional: only runs that average their weights write it
        }
        let len = bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize);
        let end = len.and_then(|l| at.checked_add(8)?.checked_add(l)).filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| bad(&format!("truncated in the {name} section")))?;
        sections.push(bytes[at + 8..end].to_vec());
        at = end;
    }
    if at != bytes.len() {
        return Err(bad(&format!("{} unexpected bytes after the last section", bytes.len() - at)));
    }
    let meta: CheckpointMeta = serde_json::from_slice(&sections[0]).map_err(|e| bad(&format!("metadata: {e}")))?;
    if meta.format_version != FORMAT_VERSION {
        return Err(bad(&format!(
            "format version {} (this build reads version {FORMAT_VERSION})",
            meta.format_version
        )));
    }
    let average = (sections.len() == 5).then(|| sections.pop().expect("5 sections"));
    if average.is_some() != meta.average_updates.is_some() {
        return Err(bad("the weight average section and its update count do not match"));
    }
    let adversary = sections.pop().expect("4 sections");
    let optim = sections.pop().expect("4 sections");
    let model = sections.pop().expect("4 sections");
    Ok(Checkpoint { meta, model, optim, adversary, average })
}

impl Checkpoint {
    /// Loads the weights into `model` (built from the same config), checking the architecture hash.
    pub fn load_model(&self, model: Autoencoder, config_hash: &str, path: &Path) -> Result<Autoencoder> {
        if self.meta.config_hash != config_hash {
            return Err(AppError::runtime(format!(
                "{}: the checkpoint was written for a different model (config hash {}, this config {config_hash}); \
                 use the config it was trained with, or start a new run",
                path.display(),
                self.meta.config_hash
            )));
        }
        load_weights(model, &self.model, "model weights", path)
    }

    /// The model training keeps from this checkpoint: its weight average when it holds one, else
    /// its weights (see [`Checkpoint::load_model`]).
    pub fn load_kept_model(&self, model: Autoencoder, config_hash: &str, path: &Path) -> Result<Autoencoder> {
        let model = self.load_model(model, config_hash, path)?;
        match &self.average {
            Some(bytes) => load_weights(model, bytes, "weight average", path),
            None => Ok(model),
        }
    }

    /// Continues `optims`' weight average (a fresh one, configured with its decay) from the
    /// checkpoint's; `model` is the model it averages (loaded with [`Checkpoint::load_model`]).
    /// Returns `optims` unchanged when either keeps none.
    pub fn load_average(&self, mut optims: Optimizers, model: &Autoencoder, path: &Path) -> Result<Optimizers> {
        if let (Some(fresh), Some(bytes), Some(updates)) = (&optims.average, &self.average, self.meta.average_updates) {
            let averaged = load_weights(model.clone(), bytes, "weight average", path)?;
            let resumed = WeightAverage::resume(fresh.decay(), &averaged, updates)
                .map_err(|e| AppError::runtime(format!("{}: {e}", path.display())))?;
            optims.average = Some(resumed);
        }
        Ok(optims)
    }

    /// Whether the checkpoint holds a running average of the weights.
    pub fn has_average(&self) -> bool {
        self.average.is_some()
    }

    /// Loads the optimizers' state into `optims` (built for the same model).
    pub fn load_optimizers(&self, optims: Optimizers, device: &Device, path: &Path) -> Result<Optimizers> {
        // Onto the model's device: Burn's own default is the first backend compiled in (CUDA),
        // which a CPU machine does not have (vendor/burn-optim/PATCHED.md).
        let device = device.clone().inner();
        let load = |o: ModuleOptimizer, bytes: &[u8], what: &str| {
            o.from_bytes_on(Bytes::from_bytes_vec(bytes.to_vec()), &device)
                .map_err(|e| AppError::runtime(format!("{}: corrupt {what} state: {e:?}", path.display())))
        };
        let model = load(optims.model, &self.optim, "optimizer")?;
        let adversary = match optims.adversary {
            Some(_) if self.adversary.is_empty() => {
                return Err(AppError::runtime(format!(
                    "{}: the checkpoint holds no adversary optimizer state, but this model has a discriminator",
                    path.display()
                )));
            }
            Some(o) => Some(load(o, &self.adversary, "adversary optimizer")?),
            None => None,
        };
        // A checkpoint of f16 training continues its loss scale; one without starts a fresh one.
        let loss_scale = optims.loss_scale.map(|fresh| self.meta.loss_scale.clone().unwrap_or(fresh));
        Ok(Optimizers { model, adversary, average: optims.average, replicas: optims.replicas, loss_scale })
    }
}

/// `model` with the weights of a burnpack record (`what` names it in errors).
fn load_weights(model: Autoencoder, bytes: &[u8], what: &str, path: &Path) -> Result<Autoencoder> {
    let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes.to_vec()))
        .map_err(|e| AppError::runtime(format!("{}: corrupt {what}: {e:?}", path.display())))?;
    model
        .try_load_record(record)
        .map_err(|e| AppError::runtime(format!("{}: the {what} do not fit the model: {e:?}", path.display())))
}

/// A stable 64-bit FNV-1a hash of `text`, as 16 hex digits.
pub fn hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}

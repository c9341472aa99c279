//! Checkpoints: model weights, optimizer state and training progress in one versioned file,
//! written atomically.
//!
//! Layout: the 8-byte magic `AECKPT\0\x01`, then three length-prefixed (u64 little-endian)
//! sections: JSON metadata ([`CheckpointMeta`]), the model's burnpack record, the optimizer's.

use std::path::Path;

use ae_models::Autoencoder;
use burn::module::Module;
use burn::optim::ModuleOptimizer;
use burn::store::ModuleRecord;
use burn::tensor::Bytes;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::metrics::EpochMetrics;

const MAGIC: &[u8; 8] = b"AECKPT\0\x01";

/// Version of the checkpoint layout; bumped on any incompatible change.
pub const FORMAT_VERSION: u32 = 1;

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
}

/// Writes a checkpoint atomically.
pub fn save(path: &Path, meta: &CheckpointMeta, model: &Autoencoder, optim: &ModuleOptimizer) -> Result<()> {
    write_atomic(path, &encode(path, meta, model, optim)?)
}

/// The bytes of a checkpoint (`path` names it in errors).
pub fn encode(path: &Path, meta: &CheckpointMeta, model: &Autoencoder, optim: &ModuleOptimizer) -> Result<Vec<u8>> {
    let fail =
        |what: &str, e: String| AppError::runtime(format!("{}: cannot serialise the {what}: {e}", path.display()));
    let json = serde_json::to_vec(meta).map_err(|e| fail("metadata", e.to_string()))?;
    let model_bytes = model.clone().into_record().into_bytes().map_err(|e| fail("model", format!("{e:?}")))?;
    let optim_bytes = optim.into_bytes().map_err(|e| fail("optimizer state", format!("{e:?}")))?;
    let mut out = Vec::with_capacity(8 + 24 + json.len() + model_bytes.len() + optim_bytes.len());
    out.extend_from_slice(MAGIC);
    for section in [&json[..], &model_bytes[..], &optim_bytes[..]] {
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
}

/// Reads a checkpoint and checks its format version.
pub fn read(path: &Path) -> Result<Checkpoint> {
    let bytes = std::fs::read(path)
        .map_err(|e| AppError::runtime(format!("{}: cannot read checkpoint: {e}", path.display())))?;
    let bad = |m: &str| AppError::runtime(format!("{}: not a usable checkpoint: {m}", path.display()));
    if bytes.len() < 8 || &bytes[..6] != b"AECKPT" {
        return Err(bad("it does not start with the AECKPT magic"));
    }
    if bytes[..8] != MAGIC[..] {
        return Err(bad(&format!("layout version {} (this build reads version {FORMAT_VERSION})", bytes[7])));
    }
    let mut sections = Vec::new();
    let mut at = 8usize;
    for name in ["metadata", "model", "optimizer"] {
        let len = bytes.get(at..at + 8).map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize);
        let end = len.and_then(|l| at.checked_add(8)?.checked_add(l)).filter(|&e| e <= bytes.len());
        let end = end.ok_or_else(|| bad(&format!("truncated in the {name} section")))?;
        sections.push(bytes[at + 8..end].to_vec());
        at = end;
    }
    let meta: CheckpointMeta = serde_json::from_slice(&sections[0]).map_err(|e| bad(&format!("metadata: {e}")))?;
    if meta.format_version != FORMAT_VERSION {
        return Err(bad(&format!(
            "format version {} (this build reads version {FORMAT_VERSION})",
            meta.format_version
        )));
    }
    let optim = sections.pop().expect("3 sections");
    let model = sections.pop().expect("3 sections");
    Ok(Checkpoint { meta, model, optim })
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
        let record = ModuleRecord::from_bytes(Bytes::from_bytes_vec(self.model.clone()))
            .map_err(|e| AppError::runtime(format!("{}: corrupt model weights: {e:?}", path.display())))?;
        model
            .try_load_record(record)
            .map_err(|e| AppError::runtime(format!("{}: weights do not fit the model: {e:?}", path.display())))
    }

    /// Loads the optimizer state into `optim`.
    pub fn load_optimizer(&self, optim: ModuleOptimizer, path: &Path) -> Result<ModuleOptimizer> {
        optim
            .from_bytes(Bytes::from_bytes_vec(self.optim.clone()))
            .map_err(|e| AppError::runtime(format!("{}: corrupt optimizer state: {e:?}", path.display())))
    }
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

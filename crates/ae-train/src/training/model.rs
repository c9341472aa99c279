//! The model a run trains: built from its config and seed (the same initial weights on every
//! backend), its identity in checkpoints (the config hash), a checksum that replicas compare, its
//! one-line description, and the versions recorded beside it.

use ae_models::{Autoencoder, AutoencoderConfig};
use burn::module::Module;
use burn::tensor::Device;
use serde::Serialize;

use crate::backend;
use crate::config::ExperimentConfig;
use crate::training::checkpoint;

/// Versions recorded in summaries.
#[derive(Debug, Clone, Serialize)]
pub struct Versions {
    /// ae-train.
    pub ae_train: &'static str,
    /// Burn.
    pub burn: &'static str,
}

/// The versions of this build.
pub fn versions() -> Versions {
    Versions { ae_train: env!("CARGO_PKG_VERSION"), burn: "0.22.1" }
}

/// Hash identifying the architecture (model config and item shape).
pub fn config_hash(config: &ExperimentConfig, shape: &[usize]) -> String {
    checkpoint::hash(&format!("{}\nshape={shape:?}", toml::to_string(&config.model).expect("model config serialises")))
}

/// A checksum of every weight (their sum plus a thousandth of their absolute sum, in f64): equal
/// on replicas that hold the same weights.
pub fn weight_checksum(model: &Autoencoder) -> f64 {
    struct Sum(f64);
    impl burn::module::ModuleVisitor for Sum {
        fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<burn::tensor::Tensor<D>>) {
            let v = param.val().inner();
            self.0 += v.clone().sum().into_scalar::<f32>() as f64 + v.abs().sum().into_scalar::<f32>() as f64 * 1e-3;
        }
    }
    let mut sum = Sum(0.0);
    model.visit(&mut sum);
    sum.0
}

/// Builds the model's initial weights from `train.seed` on the CPU and loads them onto `device`,
/// so that the same seed starts from the same weights on every backend.
pub fn init_model(
    cfg: &ExperimentConfig,
    shape: &[usize],
    device: &Device,
) -> std::result::Result<Autoencoder, ae_models::ConfigError> {
    init_autoencoder(&cfg.model, cfg.train.seed, shape, device)
}

/// Builds `model` for items of `shape` on `device` with initial weights drawn from `seed` on the
/// CPU (the same weights on every backend).
pub fn init_autoencoder(
    model: &AutoencoderConfig,
    seed: u64,
    shape: &[usize],
    device: &Device,
) -> std::result::Result<Autoencoder, ae_models::ConfigError> {
    let target = model.init_for_shape(shape, device)?;
    let Some(cpu) = backend::init_device() else {
        return Ok(target);
    };
    cpu.seed(seed);
    let initial = model.init_for_shape(shape, &cpu)?.into_record();
    Ok(target.try_load_record(initial).expect("a record of the same config fits its model"))
}

/// A one-line description of the network, e.g. `784-400-20 dense` or `1x28x28 conv [16, 32] -> 16`.
pub fn describe_network(cfg: &ExperimentConfig, shape: &[usize]) -> String {
    cfg.model.network.describe(shape)
}

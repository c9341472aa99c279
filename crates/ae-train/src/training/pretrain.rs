//! Greedy layer-wise pretraining of a deep dense autoencoder (Hinton & Salakhutdinov 2006, with
//! shallow autoencoders in place of RBMs as in Bengio et al. 2007).
//!
//! Layer `i` (the code layer last) is trained as a shallow autoencoder of the output of the layers
//! below it: its encoder is the deep network's layer `i` (same width and activation), its decoder
//! the mirrored layer of the deep decoder. Layer 0 reconstructs the data with the model's own
//! loss and output activation; higher layers reconstruct the features below with MSE and the
//! hidden activation. Each is trained by the one training loop ([`fit::fit`]) with the run's
//! optimizer, batch size, corruption and seed, its metrics in `pretrain/layer<i>.jsonl`; then
//! its two layers are copied into the deep model, which the caller fine-tunes as a whole.

use std::sync::Arc;

use ae_data::{BatchStream, Dataset, Features, Normalization, Normalizer, View};
use ae_models::bottleneck::{Bottleneck, BottleneckConfig};
use ae_models::loss::ReconstructionLoss;
use ae_models::network::{Decoder, DenseConfig, Encoder, NetworkConfig};
use ae_models::penalty::PenaltyConfig;
use ae_models::{Autoencoder, AutoencoderConfig};
use burn::module::Module;
use burn::tensor::Device;

use crate::config::{ExperimentConfig, TrainConfig};
use crate::error::{AppError, Result};
use crate::report::progress::Progress;
use crate::report::training_log::MetricsFile;
use crate::run_folder::{self, RunDir};
use crate::training::fit::{self, CheckpointPlan, TrainData};
use crate::training::model::init_autoencoder;

/// Pretrains every layer of `model` (built from `cfg`, on an autodiff device) on `train` and
/// returns it with the pretrained weights.
pub fn pretrain(
    mut model: Autoencoder,
    cfg: &ExperimentConfig,
    train: &View,
    device: &Device,
    run: &RunDir,
    progress: &mut Progress,
) -> Result<Autoencoder> {
    let NetworkConfig::Dense(dense) = &cfg.model.network else {
        return Err(AppError::usage("train.pretrain_epochs: layer-wise pretraining needs a dense network"));
    };
    let widths: Vec<usize> =
        std::iter::once(train.item_len()).chain(dense.hidden.iter().copied()).chain([dense.code]).collect();
    let layers = widths.len() - 1;
    std::fs::create_dir_all(run.file(run_folder::PRETRAIN))
        .map_err(|e| crate::error::io_error(&run.file(run_folder::PRETRAIN), "create", e))?;
    let settings = TrainConfig { epochs: cfg.train.pretrain_epochs, patience: 0, ..cfg.train.clone() };
    let mut input = train.clone();
    for i in 0..layers {
        let top = i + 1 == layers;
        let mut net = DenseConfig::new(Vec::new(), widths[i + 1]);
        net.code_activation = if top { dense.code_activation } else { dense.activation };
        net.output_activation = if i == 0 { dense.output_activation } else { dense.activation };
        let shallow_cfg = AutoencoderConfig {
            network: NetworkConfig::Dense(net),
            bottleneck: BottleneckConfig::default(),
            penalty: PenaltyConfig::default(),
            corruption: cfg.model.corruption.clone(),
            loss: if i == 0 { cfg.model.loss.clone() } else { ReconstructionLoss::Mse },
        };
        let shallow = init_autoencoder(
            &shallow_cfg,
            cfg.train.seed.wrapping_add(i as u64 + 1),
            &[widths[i]],
            &device.clone().autodiff(),
        )
        .map_err(|e| AppError::usage(format!("train.pretrain_epochs: layer {i}: key `{}`: {}", e.key, e.message)))?;
        progress.line(&format!("pretraining layer {} of {layers}: {}-{}", i + 1, widths[i], widths[i + 1]));
        let plan = CheckpointPlan {
            last: run.file(&format!("pretrain/layer{i}.ckpt")),
            best: run.file(&format!("pretrain/layer{i}.best.ckpt")),
            config_hash: crate::training::checkpoint::hash(&format!("pretrain layer {i}")),
            backend: String::new(),
        };
        let mut metrics = MetricsFile { path: run.file(&format!("pretrain/layer{i}.jsonl")) };
        let optims = ae_models::step::Optimizers::new(&shallow, || fit::optimizer(&settings));
        let data = TrainData { train: input.clone(), val: None };
        let trained = fit::fit(shallow, optims, &data, &settings, device, &plan, None, progress, &mut metrics)?.model;

        // Copy the pair of layers into the deep model.
        let (Bottleneck::Deterministic(code), Decoder::Dense(dec)) = (&trained.bottleneck, &trained.decoder) else {
            unreachable!("a shallow dense autoencoder with a deterministic bottleneck");
        };
        let (encoder_layer, decoder_layer) = (code.linear.clone(), dec.layers[0].clone());
        match (&mut model.encoder, &mut model.bottleneck, &mut model.decoder) {
            (Encoder::Dense(e), Bottleneck::Deterministic(b), Decoder::Dense(d)) => {
                if top {
                    b.linear = encoder_layer;
                } else {
                    e.layers[i] = encoder_layer;
                }
                d.layers[layers - 1 - i] = decoder_layer;
            }
            _ => unreachable!("validated: a dense, untied, deterministic model"),
        }
        if !top {
            input = features(&trained.valid(), &input, &settings, device);
        }
    }
    Ok(model)
}

/// The codes of a shallow autoencoder for every item of `view`, as a new view (no further
/// normalisation).
fn features(model: &Autoencoder, view: &View, t: &TrainConfig, device: &Device) -> View {
    let width = model.bottleneck.code_width();
    let mut values = Vec::with_capacity(view.len() * width);
    for batch in BatchStream::new(view.clone(), (0..view.len()).collect(), t.batch_size.max(256), t.workers) {
        let code = model.encode(fit::to_tensor(batch, device));
        values.extend(code.into_data().try_into_vec::<f32>().expect("f32 codes"));
    }
    let data = Dataset { features: Features::F32(values), item_shape: vec![width], labels: None, classes: Vec::new() };
    let identity = Normalizer::fit(Normalization::None, &data);
    View::all(Arc::new(data), Arc::new(identity))
}

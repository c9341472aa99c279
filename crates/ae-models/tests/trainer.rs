//! The public trainer on in-memory data, every variant built from its config in Rust, and
//! sampling from generative models, on the CPU backend.

use ae_models::AutoencoderConfig;
use ae_models::bottleneck::{BottleneckConfig, Prior};
use ae_models::corruption::{CorruptionConfig, GaussianNoise, Masking};
use ae_models::loss::ReconstructionLoss;
use ae_models::network::{ConvConfig, DenseConfig, SequenceConfig};
use ae_models::penalty::{KlSparsity, PenaltyConfig};
use ae_models::step::Optimizers;
use ae_models::train::{EpochPlan, TrainError, Trainer, TrainerConfig, fit_epoch};
use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Tensor};

fn device() -> Device {
    Device::flex().autodiff()
}

/// The CPU backend's random generator is shared by the whole process: the tests take turns, so
/// that none draws from it while another compares seeded runs.
static RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn rng_turn() -> std::sync::MutexGuard<'static, ()> {
    RNG.lock().unwrap_or_else(|e| e.into_inner())
}

/// 300 items of 8 features that lie on a 2-D plane: a 2-code autoencoder can reconstruct them.
fn planar_data(device: &Device) -> Tensor<2> {
    device.seed(11);
    let latent = Tensor::<2>::random([300, 2], Distribution::Normal(0.0, 1.0), device);
    let mixing = Tensor::<2>::random([2, 8], Distribution::Normal(0.0, 1.0), device);
    latent.matmul(mixing)
}

fn config(epochs: usize, seed: u64) -> TrainerConfig {
    TrainerConfig { epochs, batch_size: 30, learning_rate: 5e-3, seed }
}

fn dense(code: usize) -> AutoencoderConfig {
    AutoencoderConfig::dense(DenseConfig::new(vec![32], code))
}

#[test]
fn loss_falls_on_in_memory_data() {
    let _turn = rng_turn();
    let device = device();
    let data = planar_data(&device);
    let model = dense(2).init(8, &device).unwrap();
    let fitted = Trainer::new(config(12, 1)).fit(model, &data).unwrap();
    let losses: Vec<f64> = fitted.history.iter().map(|s| s.loss).collect();
    assert_eq!(losses.len(), 12);
    assert!(losses[11] < 0.25 * losses[0], "loss did not fall enough: {losses:?}");
    let last = &fitted.history[11];
    assert_eq!((last.items, last.batches, last.step), (300, 10, 120));
    assert_eq!(last.terms["reconstruction"], last.loss);
    // The trained model reconstructs the data better than it did at the start of training.
    let model = burn::module::Module::valid(&fitted.model);
    let mse = model.forward(data.clone().inner(), None).terms[0].value.clone().into_scalar::<f32>() as f64;
    assert!(mse < losses[0], "{mse} vs first epoch {}", losses[0]);
}

#[test]
fn same_seed_same_history_other_seed_other_history() {
    let _turn = rng_turn();
    let device = device();
    let data = planar_data(&device);
    let run = |seed: u64| {
        // The model's initial weights are drawn from the device's generator: seed it too.
        device.seed(100);
        let model = dense(2).with_corruption(CorruptionConfig::Masking(Masking { p: 0.2 })).init(8, &device).unwrap();
        let h = Trainer::new(config(3, seed)).fit(model, &data).unwrap().history;
        h.iter().map(|s| s.loss).collect::<Vec<f64>>()
    };
    let a = run(5);
    assert_eq!(a, run(5));
    assert_ne!(a, run(6));
}

#[test]
fn named_terms_of_each_variant_reach_the_history() {
    let _turn = rng_turn();
    let device = device();
    let data = planar_data(&device);
    let vae = dense(2).with_bottleneck(BottleneckConfig::gaussian(1.0)).init(8, &device).unwrap();
    let h = Trainer::new(config(1, 0)).fit(vae, &data).unwrap().history;
    let keys: Vec<&str> = h[0].terms.keys().map(String::as_str).collect();
    assert_eq!(keys, ["kl", "reconstruction"]);
    assert!((h[0].terms["kl"] + h[0].terms["reconstruction"] - h[0].loss).abs() < 1e-4 * h[0].loss.abs().max(1.0));
    let aae = dense(2).with_bottleneck(BottleneckConfig::adversarial(Prior::Normal)).init(8, &device).unwrap();
    let h = Trainer::new(config(1, 0)).fit(aae, &data).unwrap().history;
    let keys: Vec<&str> = h[0].terms.keys().map(String::as_str).collect();
    assert_eq!(keys, ["adversarial", "discriminator", "reconstruction"]);
}

#[test]
fn a_non_finite_loss_is_reported_as_divergence_at_its_step() {
    let _turn = rng_turn();
    let device = device();
    let model = dense(2).init(4, &device).unwrap();
    let mut optims = Optimizers::new(&model, || AdamConfig::new().init());
    let good = Tensor::<2>::ones([5, 4], &device);
    let bad = Tensor::<2>::full([5, 4], f32::NAN, &device);
    let plan = EpochPlan { learning_rate: 1e-3, first_step: 10, total_steps: 100, log_every: 1 };
    let mut seen = Vec::new();
    let err = fit_epoch(model, &mut optims, [good.clone(), good, bad], &plan, |p| seen.push(p.step)).unwrap_err();
    assert_eq!(err.step, 13);
    assert!(err.loss.is_nan());
    assert_eq!(seen, [11, 12], "the callback runs for the batches before the divergence");
}

#[test]
fn trainer_settings_and_empty_data_are_rejected_by_key() {
    let _turn = rng_turn();
    let device = device();
    let model = || dense(2).init(4, &device).unwrap();
    let data = Tensor::<2>::ones([10, 4], &device);
    let key = |r: Result<_, TrainError>| match r {
        Err(TrainError::Config(e)) => e.key,
        other => panic!("expected a config error, got {:?}", other.map(|_: ae_models::train::Fitted<_>| ())),
    };
    assert_eq!(key(Trainer::new(TrainerConfig { batch_size: 0, ..config(1, 0) }).fit(model(), &data)), "batch_size");
    assert_eq!(
        key(Trainer::new(TrainerConfig { learning_rate: f64::NAN, ..config(1, 0) }).fit(model(), &data)),
        "learning_rate"
    );
    assert_eq!(key(Trainer::new(config(1, 0)).fit(model(), &Tensor::<2>::ones([0, 4], &device))), "data");
}

#[test]
fn every_variant_builds_from_its_config_in_a_few_lines() {
    let _turn = rng_turn();
    let device = Device::flex();
    let sigmoid_dense = || {
        let mut d = DenseConfig::new(vec![16], 4);
        d.output_activation = ae_models::activation::Activation::Sigmoid;
        d
    };
    let flat = [
        dense(4),
        dense(4).with_bottleneck(BottleneckConfig::gaussian(2.0)),
        dense(4).with_bottleneck(BottleneckConfig::top_k(2)),
        dense(4).with_bottleneck(BottleneckConfig::binary()),
        dense(4).with_bottleneck(BottleneckConfig::adversarial(Prior::Mixture)),
        dense(4).with_penalty(PenaltyConfig { l1: 1e-3, ..Default::default() }),
        dense(4).with_penalty(PenaltyConfig { contractive: 1e-3, ..Default::default() }),
        dense(4).with_corruption(CorruptionConfig::Gaussian(GaussianNoise { sigma: 0.1, clip: None })),
        dense(4).with_loss(ReconstructionLoss::Mae),
        AutoencoderConfig::dense(sigmoid_dense()).with_loss(ReconstructionLoss::Bernoulli),
    ];
    for cfg in flat {
        let model = cfg.init(12, &device).unwrap_or_else(|e| panic!("{cfg:?}: {e}"));
        assert_eq!(model.forward(Tensor::ones([3, 12], &device), None).reconstruction.dims(), [3, 12]);
    }
    let mut sparse = sigmoid_dense();
    sparse.code_activation = ae_models::activation::Activation::Sigmoid;
    let kl = PenaltyConfig { kl_sparsity: Some(KlSparsity { rho: 0.05, weight: 0.1 }), ..Default::default() };
    assert!(AutoencoderConfig::dense(sparse).with_penalty(kl).init(12, &device).is_ok());
    let conv = AutoencoderConfig::conv(ConvConfig { code: Some(6), ..ConvConfig::new(vec![4, 8]) });
    let model = conv.init_for_shape(&[1, 8, 8], &device).unwrap();
    assert_eq!(model.encode(Tensor::ones([2, 64], &device)).dims(), [2, 6]);
    let identity = AutoencoderConfig::conv(ConvConfig::new(vec![4])).with_bottleneck(BottleneckConfig::identity());
    assert!(identity.init_for_shape(&[1, 8, 8], &device).is_ok());
    let series = AutoencoderConfig::sequence(SequenceConfig::new(8, 3));
    let model = series.init_for_shape(&[1, 10], &device).unwrap();
    assert_eq!(model.encode(Tensor::ones([2, 10], &device)).dims(), [2, 3]);
}

#[test]
fn only_generative_models_generate() {
    let _turn = rng_turn();
    let device = Device::flex();
    let vae = dense(3).with_bottleneck(BottleneckConfig::gaussian(1.0)).init(6, &device).unwrap();
    assert_eq!(vae.generate(5, &device).map(|x| x.dims()), Some([5, 6]));
    let aae = dense(3).with_bottleneck(BottleneckConfig::adversarial(Prior::Uniform)).init(6, &device).unwrap();
    assert_eq!(aae.generate(2, &device).map(|x| x.dims()), Some([2, 6]));
    let plain = dense(3).init(6, &device).unwrap();
    assert!(plain.generate(5, &device).is_none());
}

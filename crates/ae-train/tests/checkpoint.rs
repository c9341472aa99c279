//! Checkpoints round-trip exactly, and bad ones are refused with clear errors.

use ae_models::average::WeightAverage;
use ae_models::bottleneck::{AdversarialConfig, BottleneckConfig, Prior};
use ae_models::network::{DenseConfig, Encoder};
use ae_models::precision::{LossScale, Precision};
use ae_models::schedule::Schedule;
use ae_models::step::{Optimizers, train_step};
use ae_models::{Autoencoder, AutoencoderConfig};
use ae_train::config::{OptimizerKind, TrainConfig};
use ae_train::training::checkpoint::{self, CheckpointMeta, FORMAT_VERSION};
use ae_train::training::fit::optimizer;
use burn::tensor::{Distribution, Tensor};

mod common;

fn train_config() -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: 8,
        optimizer: OptimizerKind::Adam,
        learning_rate: 1e-2,
        momentum: 0.0,
        weight_decay: 0.0,
        patience: 0,
        seed: 0,
        workers: 1,
        backend: Default::default(),
        log_every: 1,
        pretrain_epochs: 0,
        init_output_bias: false,
        ema_decay: None,
        tensorboard: false,
        precision: Default::default(),
    }
}

fn meta(hash: &str) -> CheckpointMeta {
    CheckpointMeta {
        format_version: FORMAT_VERSION,
        crate_version: "test".into(),
        config_hash: hash.into(),
        backend: "flex".into(),
        epoch: 1,
        step: 3,
        best: Some((0.5, 1)),
        stale_epochs: 0,
        history: vec![],
        average_updates: None,
        loss_scale: None,
    }
}

fn outputs(model: &Autoencoder, x: &Tensor<2>) -> Vec<f32> {
    model.forward(x.clone(), None).reconstruction.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn save_then_load_gives_identical_outputs_and_optimizer_state() {
    let _turn = common::rng_turn();
    let device = ae_train::backend::init_device().expect("a CPU backend").autodiff();
    device.seed(5);
    // An adversarial model: both optimizers (autoencoder and discriminator) must round-trip.
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![16], 4));
    cfg.bottleneck = BottleneckConfig::Adversarial(AdversarialConfig {
        discriminator: vec![8],
        ..AdversarialConfig::new(Prior::Normal)
    });
    let mut model = cfg.init(12, &device).unwrap();
    let mut optims = Optimizers::new(&model, || optimizer(&train_config()));
    assert!(optims.adversary.is_some());
    let x = Tensor::<2>::random([8, 12], Distribution::Uniform(0.0, 1.0), &device);
    for _ in 0..3 {
        model = train_step(model, &mut optims, x.clone(), Schedule::END, 1e-2).0;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("c.ckpt");
    checkpoint::save(&path, &meta("abc"), &model, &optims).unwrap();

    let ckpt = checkpoint::read(&path).unwrap();
    assert_eq!(ckpt.meta, meta("abc"));
    let fresh = cfg.init(12, &device).unwrap();
    assert_ne!(outputs(&fresh, &x), outputs(&model, &x));
    let loaded = ckpt.load_model(fresh, "abc", &path).unwrap();
    assert_eq!(outputs(&loaded, &x), outputs(&model, &x));

    // The restored optimizers continue exactly as the originals would (same prior draws too).
    let mut optims2 =
        ckpt.load_optimizers(Optimizers::new(&loaded, || optimizer(&train_config())), &device, &path).unwrap();
    let step = |m: Autoencoder, o: &mut Optimizers| {
        device.seed(9);
        let m = train_step(m, o, x.clone(), Schedule::END, 1e-2).0;
        train_step(m, o, x.clone(), Schedule::END, 1e-2).0
    };
    let a = step(model, &mut optims);
    let b = step(loaded, &mut optims2);
    assert_eq!(outputs(&a, &x), outputs(&b, &x));
    let d = |m: &Autoencoder| {
        let code = m.encode(x.clone());
        m.bottleneck.adversary().unwrap().discriminator.forward(code, false).into_data().try_into_vec::<f32>().unwrap()
    };
    assert_eq!(d(&a), d(&b));
}

#[test]
fn batch_norm_running_statistics_round_trip_through_a_checkpoint() {
    let _turn = common::rng_turn();
    let device = ae_train::backend::init_device().expect("a CPU backend").autodiff();
    device.seed(2);
    let cfg = AutoencoderConfig::dense(DenseConfig { batch_norm: true, ..DenseConfig::new(vec![16], 4) });
    let mut model = cfg.init(12, &device).unwrap();
    let mut optims = Optimizers::new(&model, || optimizer(&train_config()));
    let x = Tensor::<2>::random([32, 12], Distribution::Uniform(2.0, 5.0), &device);
    for _ in 0..5 {
        model = train_step(model, &mut optims, x.clone(), Schedule::END, 1e-2).0;
    }
    let stats = |m: &Autoencoder| {
        let Encoder::Dense(e) = &m.encoder else { unreachable!("a dense encoder") };
        let read = |t: Tensor<1>| t.into_data().try_into_vec::<f32>().unwrap();
        (read(e.norms[0].running_mean.value()), read(e.norms[0].running_var.value()))
    };
    let trained = stats(&model);
    // Five steps on inputs far from 0 moved the running mean off its start (0).
    assert!(trained.0.iter().any(|m| m.abs() > 0.05), "{:?}", trained.0);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("bn.ckpt");
    checkpoint::save(&path, &meta("bn"), &model, &optims).unwrap();
    let fresh = cfg.init(12, &device).unwrap();
    assert_ne!(stats(&fresh), trained);
    let loaded = checkpoint::read(&path).unwrap().load_model(fresh, "bn", &path).unwrap();
    assert_eq!(stats(&loaded), trained);
}

#[test]
fn bad_checkpoints_are_refused_by_name() {
    let _turn = common::rng_turn();
    let device = ae_train::backend::init_device().expect("a CPU backend").autodiff();
    let cfg = AutoencoderConfig::dense(DenseConfig::new(vec![8], 2));
    let model = cfg.init(6, &device).unwrap();
    let optims = Optimizers::new(&model, || optimizer(&train_config()));
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("good.ckpt");
    checkpoint::save(&path, &meta("h1"), &model, &optims).unwrap();
    let bytes = std::fs::read(&path).unwrap();

    // Another architecture's hash.
    let e = checkpoint::read(&path).unwrap().load_model(cfg.init(6, &device).unwrap(), "h2", &path).unwrap_err();
    assert!(e.message.contains("different model"), "{}", e.message);
    // Truncated.
    let cut = tmp.path().join("cut.ckpt");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let e = checkpoint::read(&cut).err().unwrap();
    assert!(e.message.contains("cut.ckpt") && e.message.contains("truncated"), "{}", e.message);
    // Not a checkpoint.
    let junk = tmp.path().join("junk.ckpt");
    std::fs::write(&junk, b"hello world, not a checkpoint").unwrap();
    assert!(checkpoint::read(&junk).err().unwrap().message.contains("AECKPT magic"));
    // A future layout version.
    let mut future = bytes.clone();
    future[7] = 9;
    let fut = tmp.path().join("future.ckpt");
    std::fs::write(&fut, &future).unwrap();
    assert!(checkpoint::read(&fut).err().unwrap().message.contains("layout version 9"));
    // Weights of another shape under the same hash still fail cleanly, not with a panic.
    let other = AutoencoderConfig::dense(DenseConfig::new(vec![5], 2)).init(6, &device).unwrap();
    let e = checkpoint::read(&path).unwrap().load_model(other, "h1", &path).unwrap_err();
    assert!(e.message.contains("do not fit"), "{}", e.message);
}

#[test]
fn the_weight_average_round_trips_and_resumes() {
    let _turn = common::rng_turn();
    let device = ae_train::backend::init_device().expect("a CPU backend").autodiff();
    device.seed(6);
    let cfg = AutoencoderConfig::dense(DenseConfig::new(vec![9], 3));
    let mut model = cfg.init(7, &device).unwrap();
    let average = || WeightAverage::new(0.8).unwrap();
    let mut optims = Optimizers::new(&model, || optimizer(&train_config())).with_average(average());
    let x = Tensor::<2>::random([8, 7], Distribution::Uniform(0.0, 1.0), &device);
    for _ in 0..3 {
        model = train_step(model, &mut optims, x.clone(), Schedule::END, 1e-2).0;
    }
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("avg.ckpt");
    // The update count is the average's own, whatever the caller's metadata says.
    checkpoint::save(&path, &meta("avg"), &model, &optims).unwrap();
    let ckpt = checkpoint::read(&path).unwrap();
    assert!(ckpt.has_average());
    assert_eq!(ckpt.meta.average_updates, Some(3));

    // The model training keeps is the average; the model to resume from is the last step's.
    let kept = ckpt.load_kept_model(cfg.init(7, &device).unwrap(), "avg", &path).unwrap();
    assert_eq!(outputs(&kept, &x), outputs(&optims.averaged(model.clone()), &x));
    assert_ne!(outputs(&kept, &x), outputs(&model, &x));
    let loaded = ckpt.load_model(cfg.init(7, &device).unwrap(), "avg", &path).unwrap();
    assert_eq!(outputs(&loaded, &x), outputs(&model, &x));

    // Resumed, the average continues as the uninterrupted one does.
    let fresh = Optimizers::new(&loaded, || optimizer(&train_config())).with_average(average());
    let mut optims2 = ckpt.load_average(ckpt.load_optimizers(fresh, &device, &path).unwrap(), &loaded, &path).unwrap();
    assert_eq!(optims2.average.as_ref().unwrap().updates(), 3);
    let (mut a, mut b) = (model, loaded);
    for _ in 0..2 {
        a = train_step(a, &mut optims, x.clone(), Schedule::END, 1e-2).0;
        b = train_step(b, &mut optims2, x.clone(), Schedule::END, 1e-2).0;
    }
    assert_eq!(outputs(&optims.averaged(a), &x), outputs(&optims2.averaged(b), &x));

    // A file cut after the fourth section (its metadata still counts updates) is refused.
    let bytes = std::fs::read(&path).unwrap();
    let mut at = 8;
    for _ in 0..4 {
        at += 8 + u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    }
    let cut = tmp.path().join("cut.ckpt");
    std::fs::write(&cut, &bytes[..at]).unwrap();
    let e = checkpoint::read(&cut).err().unwrap();
    assert!(e.message.contains("cut.ckpt") && e.message.contains("weight average"), "{}", e.message);
}

#[test]
fn the_f16_loss_scale_round_trips_and_a_checkpoint_without_one_starts_fresh() {
    let _turn = common::rng_turn();
    let device = ae_train::backend::init_device().expect("a CPU backend").autodiff();
    device.seed(6);
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![8], 2)).init(6, &device).unwrap();
    let model = model.with_precision(Precision::F16).unwrap();
    let x = Tensor::<2>::random([4, 6], Distribution::Uniform(0.0, 1.0), &device);
    // Started at the largest scale: the first step overflows and halves it.
    let mut optims =
        Optimizers::new(&model, || optimizer(&train_config())).with_loss_scale(LossScale::new(LossScale::MAX));
    let model = train_step(model, &mut optims, x, Schedule::END, 1e-2).0;
    let kept = optims.loss_scale.clone().unwrap();
    assert_eq!((kept.scale(), kept.skipped()), (LossScale::MAX / 2.0, 1));

    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("c.ckpt");
    checkpoint::save(&path, &meta("abc"), &model, &optims).unwrap();
    let ckpt = checkpoint::read(&path).unwrap();
    assert_eq!(ckpt.meta.loss_scale.as_ref(), Some(&kept));
    let fresh = || Optimizers::new(&model, || optimizer(&train_config())).with_loss_scale(LossScale::default());
    let resumed = ckpt.load_optimizers(fresh(), &device, &path).unwrap();
    assert_eq!(resumed.loss_scale, Some(kept));

    // An f32 run's checkpoint resumed in f16: the scale starts at its initial value.
    let plain = Optimizers::new(&model, || optimizer(&train_config()));
    checkpoint::save(&path, &meta("abc"), &model, &plain).unwrap();
    let ckpt = checkpoint::read(&path).unwrap();
    assert!(ckpt.meta.loss_scale.is_none());
    let resumed = ckpt.load_optimizers(fresh(), &device, &path).unwrap();
    assert_eq!(resumed.loss_scale, Some(LossScale::default()));
}

//! Mixed precision on the CPU backend: a conv autoencoder's gradients in f16 and bf16 are its
//! f32 gradients to the format's precision, training in either lowers the loss as f32 does, and
//! an f16 step whose scaled gradients overflow leaves the weights as they were and halves the
//! scale. On wgpu (lavapipe in CI), bf16 is refused by name and f16 trains where offered.

mod common;

use ae_models::activation::Activation;
use ae_models::average::WeightAverage;
use ae_models::network::{ConvConfig, DenseConfig, NetworkConfig, Upsampling};
use ae_models::precision::{LossScale, Precision};
use ae_models::schedule::Schedule;
use ae_models::step::{Optimizers, in_precision, train_step};
use ae_models::{Autoencoder, AutoencoderConfig};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};

const SHAPE: [usize; 3] = [2, 12, 12];

fn conv_model(device: &Device) -> Autoencoder {
    conv_model_with(Activation::Relu, device)
}

fn conv_model_with(activation: Activation, device: &Device) -> Autoencoder {
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![], 1));
    let NetworkConfig::Conv(mut conv) = conv_model_config() else { unreachable!() };
    conv.activation = activation;
    cfg.network = NetworkConfig::Conv(conv);
    cfg.init_for_shape(&SHAPE, device).unwrap()
}

fn conv_model_config() -> NetworkConfig {
    NetworkConfig::Conv(ConvConfig {
        channels: vec![8, 16],
        kernel: 3,
        stride: 2,
        padding: 1,
        decoder_kernel: Some(4),
        upsampling: Upsampling::Transpose,
        batch_norm: false,
        code: Some(6),
        activation: Activation::Relu,
        code_activation: Activation::Linear,
        output_activation: Activation::Sigmoid,
    })
}

/// 16 smooth two-channel images (sines of several frequencies and phases), values in (0.1, 0.9).
fn batch(device: &Device) -> Tensor<2> {
    let width: usize = SHAPE.iter().product();
    let values: Vec<f32> = (0..16)
        .flat_map(|i| {
            (0..width).map(move |p| {
                let (c, y, x) = (p / 144, (p % 144) / 12, p % 12);
                let f = 0.2 + 0.1 * (i % 4) as f32 + 0.15 * c as f32;
                0.5 + 0.4 * (f * x as f32 + 0.3 * f * y as f32 + i as f32).sin()
            })
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [16, width]), device)
}

/// Every float parameter's values, in visiting order.
struct Values(Vec<Vec<f32>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().into_data().convert::<f32>().try_to_vec().unwrap());
    }
}

fn values(model: &Autoencoder) -> Vec<Vec<f32>> {
    let mut v = Values(Vec::new());
    model.visit(&mut v);
    v.0
}

/// Every parameter's gradient, flattened, in visiting order.
struct Grads<'a>(&'a GradientsParams, Vec<Vec<f32>>);

impl ModuleVisitor for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let g = self.0.get::<D>(param.id).expect("every parameter has a gradient");
        assert_eq!(g.dtype(), burn::tensor::DType::F32, "gradients reach the f32 weights as f32");
        self.1.push(g.into_data().try_to_vec().unwrap());
    }
}

/// The gradients of the loss times 2^12: scaled, as f16 training scales it, so that they sit in
/// f16's normal range (compared unscaled, gradients of 1e-6 fall into its subnormals).
fn gradients(model: &Autoencoder, x: Tensor<2>) -> Vec<Vec<f32>> {
    let loss = model.forward(x, None).loss.mul_scalar(4096.0);
    let grads = GradientsParams::from_grads(loss.backward(), model);
    let mut g = Grads(&grads, Vec::new());
    model.visit(&mut g);
    g.1
}

/// Each of `half`'s gradients is within `tolerance` of `reference`'s (error norm over norm), and
/// not all are identical (which would mean nothing ran in the half format).
fn assert_close(half: &[Vec<f32>], reference: &[Vec<f32>], tolerance: f64, what: &str) {
    let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|x| (x as f64).powi(2)).sum::<f64>().sqrt();
    for (i, (h, r)) in half.iter().zip(reference).enumerate() {
        let error = norm(&mut h.iter().zip(r).map(|(a, b)| a - b)) / norm(&mut r.iter().copied());
        assert!(error <= tolerance, "{what}, parameter {i}: relative error {error:.3e}");
    }
    assert!(half != reference, "{what}: gradients identical to f32, so nothing ran in the half format");
}

#[test]
fn half_precision_gradients_are_the_f32_gradients_to_the_formats_precision() {
    let device = Device::flex().autodiff();
    // tanh, not relu: a pre-activation within rounding of 0 would flip relu's gradient between
    // the formats, a difference of the comparison, not of the implementation.
    let model = conv_model_with(Activation::Tanh, &device);
    let x = batch(&device);
    let reference = gradients(&model, x.clone());
    // Each tensor's error norm relative to its norm: f16 keeps 11 significant bits, bf16 8, and
    // the CPU backend's half-format products also add in that format (the largest of 5 runs from
    // random weights: f16 0.2-0.8 %, bf16 1-3 %; a gradient that missed the cast or the scale is
    // off by 100 %).
    for (precision, tolerance) in [(Precision::F16, 3e-2), (Precision::Bf16, 0.12)] {
        let half = gradients(&model.clone().with_precision(precision).unwrap(), x.clone());
        assert_close(&half, &reference, tolerance, &format!("{precision:?}"));
        // Evaluation stays f32: the same reconstruction as the f32 model's.
        let m = model.clone().with_precision(precision).unwrap();
        assert_eq!(m.decode(m.encode(x.clone())).into_data(), model.decode(model.encode(x.clone())).into_data());
    }
}

#[test]
fn training_in_half_precision_lowers_the_loss_as_f32_does() {
    let device = Device::flex().autodiff();
    let x = batch(&device);
    let mut finals = Vec::new();
    for precision in [Precision::F32, Precision::F16, Precision::Bf16] {
        device.seed(1);
        let mut model = conv_model(&device).with_precision(precision).unwrap();
        let mut optims = Optimizers::new(&model, || AdamConfig::new().init());
        if precision.needs_loss_scale() {
            optims = optims.with_loss_scale(LossScale::default());
        }
        let mut losses = Vec::new();
        for step in 0..60 {
            let out;
            (model, out) = train_step(model, &mut optims, x.clone(), Schedule::at(step, 60), 1e-2);
            losses.push(out.loss.into_scalar::<f32>());
        }
        let (first, last) = (losses[0], *losses.last().unwrap());
        assert!(last < 0.5 * first, "{precision:?}: loss {first} -> {last}");
        if let Some(scale) = &optims.loss_scale {
            assert!(scale.skipped() < 10, "{precision:?}: {} of 60 steps skipped", scale.skipped());
        }
        finals.push(last);
    }
    for (p, f) in [(Precision::F16, finals[1]), (Precision::Bf16, finals[2])] {
        assert!((f - finals[0]).abs() <= 0.1 * finals[0], "{p:?}: final loss {f} vs f32 {}", finals[0]);
    }
}

#[test]
fn an_overflowing_f16_step_leaves_the_weights_and_halves_the_scale() {
    let device = Device::flex().autodiff();
    let x = batch(&device);
    let model = conv_model(&device).with_precision(Precision::F16).unwrap();
    let before = values(&model);
    // 2^24 times the loss: the f16 gradients of the decoder's output overflow to infinity.
    let mut optims = Optimizers::new(&model, || AdamConfig::new().init())
        .with_loss_scale(LossScale::new(LossScale::MAX))
        .with_average(WeightAverage::new(0.9).unwrap());
    let (model, out) = train_step(model, &mut optims, x.clone(), Schedule::at(0, 1), 1e-2);
    assert!(out.loss.into_scalar::<f32>().is_finite(), "the reported loss is the unscaled one");
    let scale = optims.loss_scale.as_ref().unwrap();
    assert_eq!((scale.scale(), scale.skipped()), (LossScale::MAX / 2.0, 1));
    assert_eq!(values(&model), before, "a skipped step changed the weights");
    assert_eq!(optims.average.as_ref().unwrap().updates(), 0, "a skipped step updated the weight average");
    // The same step at a moderate scale is taken.
    let mut optims = Optimizers::new(&model, || AdamConfig::new().init()).with_loss_scale(LossScale::new(1024.0));
    let (model, _) = train_step(model, &mut optims, x, Schedule::at(0, 1), 1e-2);
    assert_eq!(optims.loss_scale.as_ref().unwrap().skipped(), 0);
    assert_ne!(values(&model), before);
}

#[test]
fn the_precision_setup_scales_the_loss_for_f16_only_and_refuses_by_name() {
    let device = Device::flex().autodiff();
    for (p, scaled) in [(Precision::F32, false), (Precision::F16, true), (Precision::Bf16, false)] {
        let (model, optims) = in_precision(conv_model(&device), p, &device, || AdamConfig::new().init()).unwrap();
        assert_eq!(model.precision, p);
        assert_eq!(optims.loss_scale.is_some(), scaled, "{p:?}");
    }
    let NetworkConfig::Conv(mut conv) = conv_model_config() else { unreachable!() };
    conv.batch_norm = true;
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![], 1));
    cfg.network = NetworkConfig::Conv(conv);
    let with_bn = cfg.init_for_shape(&SHAPE, &device).unwrap();
    let e = in_precision(with_bn, Precision::F16, &device, || AdamConfig::new().init()).err().unwrap();
    assert_eq!(e.key, "precision");
}

#[test]
fn batch_norm_and_lstm_networks_refuse_half_precision_by_name() {
    let device = Device::flex().autodiff();
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![], 1));
    let NetworkConfig::Conv(mut conv) = conv_model_config() else { unreachable!() };
    conv.batch_norm = true;
    cfg.network = NetworkConfig::Conv(conv);
    let with_bn = cfg.init_for_shape(&SHAPE, &device).unwrap();
    let lstm = AutoencoderConfig::sequence(ae_models::network::SequenceConfig::new(4, 2))
        .init_for_shape(&[2, 5], &device)
        .unwrap();
    for (model, why) in [(with_bn, "batch norm"), (lstm, "LSTM")] {
        for p in [Precision::F16, Precision::Bf16] {
            let e = model.clone().with_precision(p).unwrap_err();
            assert_eq!(e.key, "precision");
            assert!(e.message.contains(why) && e.message.contains(p.name()), "{}", e.message);
        }
        assert!(model.with_precision(Precision::F32).is_ok());
    }
}

/// wgpu (lavapipe in CI: `AE_REQUIRE_WGPU=1` makes a missing adapter fail instead of skipping):
/// WGSL has no bf16, so it is refused by key; f16 trains where the adapter offers it.
#[test]
fn wgpu_refuses_bf16_by_name_and_trains_in_f16_where_offered() {
    let Some(device) = common::wgpu_device() else { return };
    let e = Precision::Bf16.check(&device).unwrap_err();
    assert_eq!(e.key, "precision");
    assert!(e.message.contains("bf16"), "{}", e.message);
    if Precision::F16.check(&device).is_err() {
        eprintln!("this adapter has no f16 shaders: f16 is refused by name as bf16 is");
        return;
    }
    let x = batch(&device);
    let model = conv_model_with(Activation::Tanh, &device);
    let reference = gradients(&model, x.clone());
    let half = gradients(&model.with_precision(Precision::F16).unwrap(), x);
    assert_close(&half, &reference, 3e-2, "wgpu f16");
}

//! The decoder's output biases started at the data mean: the right values for every decoder,
//! the reconstruction shifted by exactly them, still trained, and bad requests refused by key.

use ae_models::AutoencoderConfig;
use ae_models::activation::Activation;
use ae_models::network::conv::DecoderLayer;
use ae_models::network::{ConvConfig, Decoder, DenseConfig, SequenceConfig};
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn values(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

fn dense_bias(decoder: &Decoder) -> Param<Tensor<1>> {
    match decoder {
        Decoder::Dense(d) if d.is_tied() => d.biases.last().unwrap().clone(),
        Decoder::Dense(d) => d.layers.last().unwrap().bias.clone().unwrap(),
        _ => unreachable!(),
    }
}

#[test]
fn dense_reconstructions_shift_by_the_logits_of_the_means() {
    let d = Device::flex();
    d.seed(5);
    let means: Vec<f64> = (0..6).map(|i| [0.0, 0.02, 0.3, 0.5, 0.8, 1.0][i]).collect();
    for tied in [false, true] {
        let net = DenseConfig { output_activation: Activation::Sigmoid, tied, ..DenseConfig::new(vec![5], 3) };
        let model = AutoencoderConfig::dense(net).init(6, &d).unwrap();
        let old = values(dense_bias(&model.decoder).val());
        let code = Tensor::<2>::random([4, 3], Distribution::Normal(0.0, 1.0), &d);
        let before = model.decode_logits(code.clone());
        let model = model.with_output_bias_from_means(&means).unwrap();
        let after = model.decode_logits(code);
        let shift = (after - before).into_data().try_into_vec::<f32>().unwrap();
        // 0 and 1 are pulled 1e-3 inside (0, 1): logit(0.001) = -6.9068.
        let want = [logit(1e-3), logit(0.02), logit(0.3), 0.0, logit(0.8), logit(1.0 - 1e-3)];
        for row in shift.chunks(6) {
            for ((s, o), w) in row.iter().zip(&old).zip(want) {
                assert!((s + o - w as f32).abs() < 1e-5, "tied={tied}: {} vs {w}", s + o);
            }
        }
    }
}

#[test]
fn conv_and_sequence_decoders_get_one_bias_per_channel() {
    let d = Device::flex();
    // Two channels of 4x4: channel 0 averages 0.25, channel 1 averages 0.75.
    let mut means: Vec<f64> = (0..16).map(|i| if i % 2 == 0 { 0.5 } else { 0.0 }).collect();
    means.extend([1.0; 8]);
    means.extend([0.5; 8]);
    let net = ConvConfig { output_activation: Activation::Sigmoid, code: Some(2), ..ConvConfig::new(vec![3]) };
    let model = AutoencoderConfig::conv(net).init_for_shape(&[2, 4, 4], &d).unwrap();
    let model = model.with_output_bias_from_means(&means).unwrap();
    let Decoder::Conv(c) = &model.decoder else { unreachable!() };
    let bias = match c.layers.last().unwrap() {
        DecoderLayer::Transpose(t) => t.bias.clone().unwrap(),
        DecoderLayer::Upsample(conv) => conv.bias.clone().unwrap(),
    };
    let got = values(bias.val());
    assert!((got[0] as f64 - logit(0.25)).abs() < 1e-5 && (got[1] as f64 - logit(0.75)).abs() < 1e-5, "{got:?}");

    // Series of 2 channels x 5 steps (channel-first), linear output: the channel means.
    let series: Vec<f64> = vec![1.0, 2.0, 3.0, 4.0, 5.0, -1.0, -1.0, -1.0, -1.0, -2.0];
    let model = AutoencoderConfig::sequence(SequenceConfig::new(4, 2)).init_for_shape(&[2, 5], &d).unwrap();
    let model = model.with_output_bias_from_means(&series).unwrap();
    let Decoder::Sequence(s) = &model.decoder else { unreachable!() };
    let got = values(s.output.bias.clone().unwrap().val());
    assert!((got[0] - 3.0).abs() < 1e-6 && (got[1] + 1.2).abs() < 1e-6, "{got:?}");
}

#[test]
fn the_new_bias_keeps_its_identity_and_trains() {
    let d = Device::flex().autodiff();
    d.seed(6);
    let net = DenseConfig { output_activation: Activation::Sigmoid, ..DenseConfig::new(vec![8], 2) };
    let model = AutoencoderConfig::dense(net).init(10, &d).unwrap();
    let id = dense_bias(&model.decoder).id;
    let model = model.with_output_bias_from_means(&[0.3; 10]).unwrap();
    let bias = dense_bias(&model.decoder);
    assert_eq!(bias.id, id);
    let start = values(bias.val());
    let x = Tensor::<2>::random([16, 10], Distribution::Uniform(0.0, 1.0), &d);
    let out = model.forward(x, None);
    let grads = GradientsParams::from_grads(out.loss.backward(), &model);
    let model = AdamConfig::new().init().step(1e-2, model, grads);
    let moved = values(dense_bias(&model.decoder).val());
    assert!(start.iter().zip(&moved).all(|(a, b)| (a - b).abs() > 1e-4), "{start:?} -> {moved:?}");
    assert!(model.num_params() > 0);
}

#[test]
fn impossible_requests_name_the_key() {
    let d = Device::flex();
    let relu = DenseConfig { output_activation: Activation::Relu, ..DenseConfig::new(vec![4], 2) };
    let model = AutoencoderConfig::dense(relu).init(5, &d).unwrap();
    assert_eq!(model.with_output_bias_from_means(&[0.5; 5]).unwrap_err().key, "network.output_activation");
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![4], 2)).init(5, &d).unwrap();
    let err = model.clone().with_output_bias_from_means(&[0.5; 4]).unwrap_err();
    assert_eq!(err.key, "output_bias");
    assert!(err.message.contains("4 means") && err.message.contains("5 input"), "{}", err.message);
    assert_eq!(model.with_output_bias_from_means(&[0.5, f64::NAN, 0.5, 0.5, 0.5]).unwrap_err().key, "output_bias");
}

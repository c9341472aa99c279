//! The binary (semantic hashing) bottleneck.

use ae_models::AutoencoderConfig;
use ae_models::activation::Activation;
use ae_models::bottleneck::binary::to_bits;
use ae_models::bottleneck::{Binarization, BinaryConfig, BottleneckConfig};
use ae_models::network::DenseConfig;
use burn::tensor::{Device, Distribution, Tensor};

fn model(method: Binarization, device: &Device) -> ae_models::Autoencoder {
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![12], 6));
    cfg.bottleneck = BottleneckConfig::Binary(BinaryConfig { method, noise: 4.0 });
    cfg.init(10, device).unwrap()
}

#[test]
fn straight_through_codes_are_bits_with_sigmoid_gradients() {
    let d = Device::flex().autodiff();
    d.seed(2);
    let m = model(Binarization::StraightThrough, &d);
    let x = Tensor::<2>::random([8, 10], Distribution::Uniform(0.0, 1.0), &d);
    let out = m.forward(x.clone(), None);
    let code = out.code.clone().into_data().try_into_vec::<f32>().unwrap();
    assert!(code.iter().all(|&c| c == 0.0 || c == 1.0), "{code:?}");
    // The bits are the thresholded probabilities that `encode` gives.
    let probs = m.encode(x.clone());
    assert_eq!(to_bits(probs.clone()).into_data().try_into_vec::<f32>().unwrap(), code);
    // Gradients flow to the code layer despite the rounding.
    let grads = out.loss.backward();
    let ae_models::bottleneck::Bottleneck::Binary(b) = &m.bottleneck else { unreachable!() };
    let g = b.linear.weight.grad(&grads).unwrap().abs().sum().into_scalar::<f32>();
    assert!(g > 0.0);
}

#[test]
fn noise_codes_are_probabilities_and_noisy_only_in_training() {
    let d = Device::flex();
    d.seed(3);
    let m = model(Binarization::Noise, &d);
    let x = Tensor::<2>::random([8, 10], Distribution::Uniform(0.0, 1.0), &d);
    let a = m.forward(x.clone(), None).code.into_data();
    let b = m.forward(x.clone(), None).code.into_data();
    assert_ne!(a, b);
    let e = m.encode(x.clone()).into_data().try_into_vec::<f32>().unwrap();
    assert!(e.iter().all(|&p| p > 0.0 && p < 1.0));
    assert_eq!(m.encode(x).into_data().try_into_vec::<f32>().unwrap(), e);
}

#[test]
fn binary_rejects_a_code_activation() {
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![], 4));
    cfg.network.dense_mut().code_activation = Activation::Sigmoid;
    cfg.bottleneck = BottleneckConfig::Binary(BinaryConfig { method: Binarization::Noise, noise: 4.0 });
    assert_eq!(cfg.init(5, &Device::flex()).unwrap_err().key, "network.code_activation");
}

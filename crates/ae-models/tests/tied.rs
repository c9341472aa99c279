//! Tied weights: the decoder uses the transposed encoder weights and owns only biases.

use ae_models::AutoencoderConfig;
use ae_models::bottleneck::{BottleneckConfig, GaussianConfig, TopKConfig};
use ae_models::network::{DenseConfig, Encoder};
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};

fn config(tied: bool) -> AutoencoderConfig {
    let mut net = DenseConfig::new(vec![12, 8], 4);
    net.tied = tied;
    AutoencoderConfig::dense(net)
}

#[test]
fn tied_decoder_owns_only_biases_and_follows_the_encoder() {
    let d = Device::flex();
    d.seed(3);
    let untied = config(false).init(20, &d).unwrap();
    let tied = config(true).init(20, &d).unwrap();
    // Decoder weights 4x8 + 8x12 + 12x20 are gone; their biases remain.
    assert_eq!(untied.num_params() - tied.num_params(), 4 * 8 + 8 * 12 + 12 * 20);
    let code = Tensor::<2>::random([3, 4], Distribution::Uniform(0.5, 1.5), &d);
    let before = tied.decode_logits(code.clone()).into_data();
    // Changing the first encoder layer changes what the decoder's last layer does.
    let mut changed = tied.clone();
    let Encoder::Dense(e) = &mut changed.encoder else { unreachable!() };
    e.layers[0].weight = Param::from_tensor(e.layers[0].weight.val().mul_scalar(2.0));
    let after = changed.decode_logits(code).into_data();
    assert_ne!(before, after);
}

#[test]
fn tied_autoencoder_learns() {
    let d = Device::flex().autodiff();
    d.seed(4);
    let mut m = config(true).init(20, &d).unwrap();
    let x = Tensor::<2>::random([32, 20], Distribution::Uniform(0.0, 1.0), &d);
    let mut opt = AdamConfig::new().init();
    let first = m.forward(x.clone(), None).loss.into_scalar::<f32>();
    for _ in 0..100 {
        let out = m.forward(x.clone(), None);
        let g = GradientsParams::from_grads(out.loss.backward(), &m);
        m = opt.step(1e-2, m, g);
    }
    let last = m.forward(x, None).loss.into_scalar::<f32>();
    assert!(last < first * 0.5, "loss {first} -> {last}");
}

#[test]
fn tied_needs_a_single_code_layer() {
    let mut cfg = config(true);
    cfg.bottleneck = BottleneckConfig::Gaussian(GaussianConfig { beta: 1.0, warmup: 0.0 });
    assert_eq!(cfg.init(20, &Device::flex()).unwrap_err().key, "network.tied");
    cfg.bottleneck = BottleneckConfig::TopK(TopKConfig { k: 2, k_start: None, anneal: 0.5 });
    assert!(cfg.init(20, &Device::flex()).is_ok());
}

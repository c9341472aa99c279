//! The convolutional network: shapes restored exactly, the reference architecture's parameter
//! count, every decoder variant, and its configuration checks.

use ae_models::activation::Activation;
use ae_models::bottleneck::BottleneckConfig;
use ae_models::network::{ConvConfig, NetworkConfig, Upsampling};
use ae_models::{Autoencoder, AutoencoderConfig};
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Distribution, Tensor};

fn conv(channels: Vec<usize>) -> ConvConfig {
    ConvConfig {
        channels,
        kernel: 3,
        stride: 2,
        padding: 1,
        decoder_kernel: None,
        upsampling: Upsampling::Transpose,
        batch_norm: false,
        code: None,
        activation: Activation::Relu,
        code_activation: Activation::Linear,
        output_activation: Activation::Sigmoid,
    }
}

fn model(c: ConvConfig, bottleneck: BottleneckConfig, shape: &[usize], device: &Device) -> Autoencoder {
    let mut cfg = AutoencoderConfig::dense(ae_models::network::DenseConfig::new(vec![], 1));
    cfg.network = NetworkConfig::Conv(c);
    cfg.bottleneck = bottleneck;
    cfg.init_for_shape(shape, device).unwrap()
}

#[test]
fn reference_conv_dae_has_pytorchs_parameter_count() {
    // torch_reference.py ConvDAE: Conv2d 3-32-64-128 (k3 s2 p1), ConvTranspose2d 128-64-32-3 (k4 s2 p1).
    let mut c = conv(vec![32, 64, 128]);
    c.decoder_kernel = Some(4);
    let d = Device::flex();
    let m = model(c, BottleneckConfig::identity(), &[3, 32, 32], &d);
    let want = (3 * 32 * 9 + 32)
        + (32 * 64 * 9 + 64)
        + (64 * 128 * 9 + 128)
        + (128 * 64 * 16 + 64)
        + (64 * 32 * 16 + 32)
        + (32 * 3 * 16 + 3);
    assert_eq!(m.num_params(), want);
    let x = Tensor::<2>::random([2, 3 * 32 * 32], Distribution::Uniform(0.0, 1.0), &d);
    assert_eq!(m.encode(x.clone()).dims(), [2, 128 * 4 * 4]);
    assert_eq!(m.forward(x, None).reconstruction.dims(), [2, 3 * 32 * 32]);
}

#[test]
fn every_variant_restores_odd_and_even_sizes() {
    let d = Device::flex();
    for shape in [[1usize, 28, 28], [3, 32, 32], [1, 30, 17]] {
        for up in [Upsampling::Transpose, Upsampling::Upsample] {
            for (bn, code) in [(false, None), (true, Some(12))] {
                let mut c = conv(vec![8, 16]);
                c.upsampling = up;
                c.batch_norm = bn;
                c.code = code;
                let b = if code.is_some() { BottleneckConfig::default() } else { BottleneckConfig::identity() };
                let m = model(c, b, &shape, &d);
                let n: usize = shape.iter().product();
                let x = Tensor::<2>::random([3, n], Distribution::Uniform(0.0, 1.0), &d);
                let out = m.forward(x, None);
                assert_eq!(out.reconstruction.dims(), [3, n], "{shape:?} {up:?} bn={bn}");
                if let Some(k) = code {
                    assert_eq!(out.code.dims(), [3, k]);
                }
            }
        }
    }
}

#[test]
fn a_conv_autoencoder_learns() {
    let d = Device::flex().autodiff();
    d.seed(1);
    let mut c = conv(vec![8, 16]);
    c.code = Some(8);
    let mut m = model(c, BottleneckConfig::default(), &[1, 12, 12], &d);
    let x = Tensor::<2>::random([16, 144], Distribution::Uniform(0.0, 1.0), &d).round();
    let mut opt = AdamConfig::new().init();
    let first = m.forward(x.clone(), None).loss.into_scalar::<f32>();
    for _ in 0..60 {
        let out = m.forward(x.clone(), None);
        let g = GradientsParams::from_grads(out.loss.backward(), &m);
        m = opt.step(1e-2, m, g);
    }
    let last = m.forward(x, None).loss.into_scalar::<f32>();
    assert!(last < first * 0.7, "loss {first} -> {last}");
}

#[test]
fn conv_configs_are_checked_against_the_item_shape() {
    let mut cfg = AutoencoderConfig::dense(ae_models::network::DenseConfig::new(vec![], 1));
    cfg.network = NetworkConfig::Conv(conv(vec![8]));
    cfg.bottleneck = BottleneckConfig::identity();
    // Flat items are not images.
    assert_eq!(cfg.validate_for_shape(&[36]).unwrap_err().key, "network.kind");
    // Too many stride-2 layers for a 4x4 image... still 1x1 at the end, so fine; 1x1 input with kernel 3, padding 0 is not.
    let mut c = conv(vec![8, 8]);
    c.padding = 0;
    cfg.network = NetworkConfig::Conv(c);
    assert_eq!(cfg.validate_for_shape(&[1, 3, 3]).unwrap_err().key, "network.channels");
    // A decoder kernel that cannot restore the size.
    let mut c = conv(vec![8]);
    c.decoder_kernel = Some(7);
    cfg.network = NetworkConfig::Conv(c);
    let e = cfg.validate_for_shape(&[1, 28, 28]).unwrap_err();
    assert_eq!(e.key, "network.decoder_kernel");
    // Without network.code the bottleneck must be identity, and identity needs no network.code.
    cfg.network = NetworkConfig::Conv(conv(vec![8]));
    cfg.bottleneck = BottleneckConfig::default();
    assert_eq!(cfg.validate_for_shape(&[1, 28, 28]).unwrap_err().key, "bottleneck.kind");
    let mut c = conv(vec![8]);
    c.code = Some(4);
    cfg.network = NetworkConfig::Conv(c);
    cfg.bottleneck = BottleneckConfig::identity();
    assert_eq!(cfg.validate_for_shape(&[1, 28, 28]).unwrap_err().key, "bottleneck.kind");
    // The contractive penalty is for dense encoders.
    let mut c = conv(vec![8]);
    c.code = Some(4);
    cfg.network = NetworkConfig::Conv(c);
    cfg.bottleneck = BottleneckConfig::default();
    cfg.penalty.contractive = 0.1;
    assert_eq!(cfg.validate_for_shape(&[1, 28, 28]).unwrap_err().key, "penalty.contractive");
}

#[test]
fn series_convolve_along_time_only() {
    // ECG-shaped series [1, 140]: kernel 4, stride 2, padding 1 along time; 140 -> 70 -> 35 -> 17,
    // grown back to exactly 140 by the transposed convolutions.
    let mut c = conv(vec![8, 16, 32]);
    c.kernel = 4;
    c.code = Some(6);
    c.output_activation = Activation::Linear;
    let sizes = c.map_sizes(&[1, 140]).unwrap();
    assert_eq!(sizes, vec![[1, 140], [1, 70], [1, 35], [1, 17]]);
    assert_eq!(c.features(&[1, 140]).unwrap(), 32 * 17);
    let d = Device::flex();
    for up in [Upsampling::Transpose, Upsampling::Upsample] {
        let mut c = c.clone();
        c.upsampling = up;
        if up == Upsampling::Upsample {
            c.kernel = 3;
        }
        let m = model(c.clone(), BottleneckConfig::default(), &[2, 140], &d);
        let x = Tensor::<2>::random([3, 280], Distribution::Normal(0.0, 1.0), &d);
        let out = m.forward(x, None);
        assert_eq!(out.reconstruction.dims(), [3, 280], "{up:?}");
        assert_eq!(out.code.dims(), [3, 6]);
        // Kernels are 1 high: a Conv2d weight [out, in, 1, k].
        if let ae_models::network::Encoder::Conv(e) = &m.encoder {
            assert_eq!(e.convs[0].weight.dims(), [8, 2, 1, c.kernel]);
        }
    }
    // A series too short for three stride-2 layers is refused by key.
    assert_eq!(c.map_sizes(&[1, 2]).unwrap_err().key, "channels");
}

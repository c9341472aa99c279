//! The contractive and KL-sparsity penalties against finite differences and hand values.

use ae_models::activation::Activation;
use ae_models::network::DenseConfig;
use ae_models::penalty::contractive::frobenius_squared;
use ae_models::penalty::{KlSparsity, kl_sparsity};
use ae_models::{Autoencoder, AutoencoderConfig};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn model(
    hidden: Vec<usize>,
    code: usize,
    act: Activation,
    code_act: Activation,
    input: usize,
    seed: u64,
) -> Autoencoder {
    let d = Device::flex();
    d.seed(seed);
    let mut net = DenseConfig::new(hidden, code);
    net.activation = act;
    net.code_activation = code_act;
    AutoencoderConfig::dense(net).init(input, &d).unwrap()
}

/// `||J||_F^2` of each item by central differences of `encode` (f64 accumulation).
fn finite_difference(m: &Autoencoder, x: &[f32], n: usize, d: usize, h: f32) -> Vec<f64> {
    let dev = Device::flex();
    let mut out = vec![0.0f64; n];
    for i in 0..d {
        let mut plus = x.to_vec();
        let mut minus = x.to_vec();
        for r in 0..n {
            plus[r * d + i] += h;
            minus[r * d + i] -= h;
        }
        let enc = |v: Vec<f32>| {
            m.encode(Tensor::from_data(TensorData::new(v, [n, d]), &dev)).into_data().try_into_vec::<f32>().unwrap()
        };
        let (p, q) = (enc(plus), enc(minus));
        let c = p.len() / n;
        for r in 0..n {
            for k in 0..c {
                let g = (p[r * c + k] as f64 - q[r * c + k] as f64) / (2.0 * h as f64);
                out[r] += g * g;
            }
        }
    }
    out
}

fn check_against_finite_differences(act: Activation, code_act: Activation, h: f32) {
    let (n, d) = (4, 7);
    let m = model(vec![9, 6], 3, act, code_act, d, 21);
    let dev = Device::flex();
    let x: Vec<f32> =
        Tensor::<2>::random([n, d], Distribution::Normal(0.0, 1.0), &dev).into_data().try_into_vec().unwrap();
    let xt = Tensor::<2>::from_data(TensorData::new(x.clone(), [n, d]), &dev);
    let j = m.encoder_jacobian(xt).unwrap();
    assert_eq!(j.dims(), [n, 3, d]);
    let exact: Vec<f64> =
        frobenius_squared(j).into_data().try_into_vec::<f32>().unwrap().into_iter().map(f64::from).collect();
    let fd = finite_difference(&m, &x, n, d, h);
    for (e, f) in exact.iter().zip(&fd) {
        assert!(
            (e - f).abs() <= 1e-3 * f.abs().max(1e-6),
            "{act:?}/{code_act:?}: explicit {e} vs finite differences {f}"
        );
    }
}

#[test]
fn contractive_jacobian_matches_finite_differences_on_a_two_hidden_layer_encoder() {
    check_against_finite_differences(Activation::Tanh, Activation::Sigmoid, 1e-2);
    check_against_finite_differences(Activation::Sigmoid, Activation::Linear, 1e-2);
    check_against_finite_differences(Activation::Selu, Activation::Tanh, 1e-3);
    check_against_finite_differences(Activation::Gelu, Activation::Linear, 1e-2);
}

#[test]
fn one_sigmoid_layer_matches_the_closed_form() {
    // sum_j (h_j (1 - h_j))^2 sum_i W_ji^2 for h = sigmoid(W x + b).
    let m = model(vec![], 4, Activation::Relu, Activation::Sigmoid, 5, 2);
    let dev = Device::flex();
    let x = Tensor::<2>::random([3, 5], Distribution::Normal(0.0, 1.0), &dev);
    let h = m.encode(x.clone()).into_data().try_into_vec::<f32>().unwrap();
    let ae_models::bottleneck::Bottleneck::Deterministic(b) = &m.bottleneck else { unreachable!() };
    let w = b.linear.weight.val().into_data().try_into_vec::<f32>().unwrap(); // [5, 4]
    let col_sq: Vec<f64> = (0..4).map(|j| (0..5).map(|i| (w[i * 4 + j] as f64).powi(2)).sum()).collect();
    let exact = frobenius_squared(m.encoder_jacobian(x).unwrap()).into_data().try_into_vec::<f32>().unwrap();
    for r in 0..3 {
        let want: f64 = (0..4).map(|j| ((h[r * 4 + j] as f64) * (1.0 - h[r * 4 + j] as f64)).powi(2) * col_sq[j]).sum();
        assert!((exact[r] as f64 - want).abs() < 1e-5 * want.max(1.0), "{} vs {want}", exact[r]);
    }
}

#[test]
fn the_norm_without_the_jacobian_equals_the_norm_of_the_jacobian() {
    // The penalty's shortcut (closed form for one layer, Gram matrix of the first layer for deeper
    // encoders) against the explicit [n, code, input] Jacobian, for 0, 1 and 2 hidden layers.
    let dev = Device::flex();
    for (hidden, act) in [(vec![], Activation::Tanh), (vec![6], Activation::Sigmoid), (vec![9, 5], Activation::Elu)] {
        let m = model(hidden.clone(), 4, act, Activation::Sigmoid, 7, 3);
        let x = Tensor::<2>::random([5, 7], Distribution::Normal(0.0, 1.0), &dev);
        let explicit =
            frobenius_squared(m.encoder_jacobian(x.clone()).unwrap()).into_data().try_into_vec::<f32>().unwrap();
        let shortcut = m.encoder_jacobian_norm_squared(x).unwrap().into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(shortcut.len(), 5);
        for (a, b) in explicit.iter().zip(&shortcut) {
            assert!((a - b).abs() <= 1e-5 * a.abs().max(1e-3), "hidden {hidden:?}: explicit {a} vs shortcut {b}");
        }
    }
}

#[test]
fn contractive_term_trains_toward_a_flatter_encoder() {
    use burn::optim::{AdamConfig, GradientsParams};
    // The same model, data and steps with and without the penalty: only the penalty's gradient
    // (through the explicit Jacobian) can make the encoder flatter.
    let train = |weight: f64| {
        let d = Device::flex().autodiff();
        d.seed(5);
        let mut net = DenseConfig::new(vec![16], 4);
        net.activation = Activation::Tanh;
        net.code_activation = Activation::Sigmoid;
        let mut cfg = AutoencoderConfig::dense(net);
        cfg.penalty.contractive = weight;
        let mut m = cfg.init(8, &d).unwrap();
        let x = Tensor::<2>::random([32, 8], Distribution::Normal(0.0, 1.0), &d);
        let mut opt = AdamConfig::new().init();
        for _ in 0..100 {
            let out = m.forward(x.clone(), None);
            let g = GradientsParams::from_grads(out.loss.backward(), &m);
            m = opt.step(1e-2, m, g);
        }
        let names: Vec<&str> = m.forward(x.clone(), None).terms.iter().map(|t| t.name).collect();
        (frobenius_squared(m.encoder_jacobian(x).unwrap()).mean().into_scalar::<f32>(), names)
    };
    let (free, names_free) = train(0.0);
    let (contracted, names) = train(1.0);
    assert_eq!(names_free, vec!["reconstruction"]);
    assert_eq!(names, vec!["reconstruction", "contractive"]);
    assert!(contracted < free * 0.5, "||J||^2 with the penalty {contracted}, without {free}");
}

#[test]
fn kl_sparsity_matches_hand_values() {
    let dev = Device::flex();
    // Unit means 0.1 and 0.5 against rho 0.1: 0 + [0.1 ln(0.2) + 0.9 ln(1.8)].
    let code = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.4, 0.2, 0.6], [2, 2]), &dev);
    let v = kl_sparsity(&code, 0.1).into_scalar::<f32>() as f64;
    let want = 0.1 * (0.1f64 / 0.5).ln() + 0.9 * (0.9f64 / 0.5).ln();
    assert!((v - want).abs() < 1e-6, "{v} vs {want}");
}

#[test]
fn kl_sparsity_needs_a_sigmoid_code() {
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![4], 3));
    cfg.penalty.kl_sparsity = Some(KlSparsity { rho: 0.05, weight: 1.0 });
    let e = cfg.init(5, &Device::flex()).unwrap_err();
    assert_eq!(e.key, "penalty.kl_sparsity");
    assert!(e.message.contains("sigmoid"), "{}", e.message);
    cfg.network.dense_mut().code_activation = Activation::Sigmoid;
    assert!(cfg.init(5, &Device::flex()).is_ok());
    cfg.penalty.kl_sparsity = Some(KlSparsity { rho: 1.0, weight: 1.0 });
    assert_eq!(cfg.init(5, &Device::flex()).unwrap_err().key, "penalty.kl_sparsity.rho");
}

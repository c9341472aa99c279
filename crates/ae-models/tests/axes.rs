//! The axes against hand-computed values, on the CPU backend.

use ae_models::AutoencoderConfig;
use ae_models::activation::Activation;
use ae_models::corruption::{CauchyNoise, CorruptionConfig, GaussianNoise, Masking, SaltAndPepper};
use ae_models::loss::{CorrentropyLoss, ReconstructionLoss};
use ae_models::network::DenseConfig;
use ae_models::penalty::PenaltyConfig;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn device() -> Device {
    Device::flex()
}

fn t2(rows: &[&[f32]]) -> Tensor<2> {
    let cols = rows[0].len();
    let v: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), cols]), &device())
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_scalar::<f32>() as f64
}

fn close(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} != {b} (tol {tol})");
}

#[test]
fn losses_match_hand_values() {
    let target = t2(&[&[0.0, 1.0], &[0.5, 0.25]]);
    let logits = t2(&[&[0.0, 2.0], &[-1.0, 0.5]]);
    let linear = logits.clone();
    // MSE / MAE on the reconstruction: errors 0, 1, -1.5, 0.25.
    close(
        scalar(ReconstructionLoss::Mse.mean(logits.clone(), linear.clone(), target.clone())),
        (0.0 + 1.0 + 2.25 + 0.0625) / 4.0,
        1e-6,
    );
    close(
        scalar(ReconstructionLoss::Mae.mean(logits.clone(), linear.clone(), target.clone())),
        (0.0 + 1.0 + 1.5 + 0.25) / 4.0,
        1e-6,
    );
    // BCE from logits: -[x ln s(z) + (1-x) ln(1-s(z))].
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let bce = |z: f64, x: f64| -(x * s(z).ln() + (1.0 - x) * (1.0 - s(z)).ln());
    let want = (bce(0.0, 0.0) + bce(2.0, 1.0) + bce(-1.0, 0.5) + bce(0.5, 0.25)) / 4.0;
    let recon = Activation::Sigmoid.apply(logits.clone());
    close(scalar(ReconstructionLoss::Bce.mean(logits.clone(), recon.clone(), target.clone())), want, 1e-6);
    // Per sample: means of each row.
    let per = ReconstructionLoss::Mse.per_sample(logits, linear, target).into_data().try_into_vec::<f32>().unwrap();
    close(per[0] as f64, 0.5, 1e-6);
    close(per[1] as f64, (2.25 + 0.0625) / 2.0, 1e-6);
}

#[test]
fn bce_is_stable_for_large_logits() {
    let target = t2(&[&[1.0, 0.0]]);
    let logits = t2(&[&[-200.0, 200.0]]);
    let recon = Activation::Sigmoid.apply(logits.clone());
    close(scalar(ReconstructionLoss::Bce.mean(logits, recon, target)), 200.0, 1e-3);
}

#[test]
fn activations_match_definitions() {
    let x = t2(&[&[-1.0, 0.0, 2.0]]);
    let get = |a: Activation| a.apply(x.clone()).into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(get(Activation::Relu), vec![0.0, 0.0, 2.0]);
    assert_eq!(get(Activation::Linear), vec![-1.0, 0.0, 2.0]);
    let selu = get(Activation::Selu);
    close(selu[0] as f64, 1.0507009873554805 * 1.6732632423543772 * ((-1f64).exp() - 1.0), 1e-5);
    close(selu[2] as f64, 1.0507009873554805 * 2.0, 1e-5);
    close(get(Activation::Tanh)[2] as f64, 2f64.tanh(), 1e-6);
    close(get(Activation::LeakyRelu)[0] as f64, -0.01, 1e-7);
    close(get(Activation::Elu)[0] as f64, (-1f64).exp() - 1.0, 1e-6);
}

#[test]
fn l1_penalty_is_weighted_mean_of_row_sums() {
    let p = PenaltyConfig { l1: 0.5, ..Default::default() };
    let code = t2(&[&[1.0, -2.0], &[0.0, 3.0]]);
    let terms = p.code_terms(&code);
    assert_eq!(terms[0].name, "l1");
    close(scalar(terms[0].value.clone()), 0.5 * (3.0 + 3.0) / 2.0, 1e-6);
    assert!(PenaltyConfig::default().code_terms(&code).is_empty());
}

#[test]
fn gaussian_corruption_has_its_sigma_and_clip() {
    let d = device();
    d.seed(1);
    let x = Tensor::<2>::zeros([200, 500], &d);
    let noisy = CorruptionConfig::Gaussian(GaussianNoise { sigma: 0.3, clip: None }).apply(x.clone());
    let v = noisy.into_data().try_into_vec::<f32>().unwrap();
    let n = v.len() as f64;
    let mean = v.iter().map(|&a| a as f64).sum::<f64>() / n;
    let sd = (v.iter().map(|&a| (a as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    // 100k samples: standard error of the sd about 0.3/sqrt(2n) ~ 0.0007.
    close(sd, 0.3, 0.005);
    close(mean, 0.0, 0.005);
    let clipped = CorruptionConfig::Gaussian(GaussianNoise { sigma: 0.3, clip: Some([0.0, 1.0]) })
        .apply(x)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    assert!(clipped.iter().all(|&a| (0.0..=1.0).contains(&a)));
}

#[test]
fn masking_corruption_zeroes_its_rate() {
    let d = device();
    d.seed(2);
    let x = Tensor::<2>::ones([100, 1000], &d);
    let v = CorruptionConfig::Masking(Masking { p: 0.25 }).apply(x).into_data().try_into_vec::<f32>().unwrap();
    let zeros = v.iter().filter(|&&a| a == 0.0).count() as f64 / v.len() as f64;
    // 100k Bernoulli(0.25): standard error 0.0014.
    close(zeros, 0.25, 0.007);
    assert!(v.iter().all(|&a| a == 0.0 || a == 1.0));
}

#[test]
fn forward_names_terms_and_sums_them() {
    let d = device();
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![6], 3));
    cfg.penalty.l1 = 0.1;
    let model = cfg.init(5, &d).unwrap();
    let x = Tensor::<2>::random([4, 5], Distribution::Uniform(0.0, 1.0), &d);
    let out = model.forward(x.clone(), None);
    let names: Vec<&str> = out.terms.iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["reconstruction", "l1"]);
    let sum: f64 = out.terms.iter().map(|t| scalar(t.value.clone())).sum();
    close(scalar(out.loss), sum, 1e-6);
    assert_eq!(out.code.dims(), [4, 3]);
    assert_eq!(model.encode(x.clone()).dims(), [4, 3]);
    // The reconstruction of forward is decode(encode(x)) for a deterministic code.
    let a = out.reconstruction.into_data().try_into_vec::<f32>().unwrap();
    let b = model.decode(model.encode(x)).into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(a, b);
}

#[test]
fn invalid_models_are_rejected_by_key() {
    let d = device();
    let e = AutoencoderConfig::dense(DenseConfig::new(vec![4], 0)).init(5, &d).unwrap_err();
    assert_eq!(e.key, "network.code");
    let mut bce = AutoencoderConfig::dense(DenseConfig::new(vec![4], 2));
    bce.loss = ReconstructionLoss::Bce;
    let e = bce.init(5, &d).unwrap_err();
    assert_eq!(e.key, "loss.kind");
    assert!(e.message.contains("sigmoid"));
    let mut noisy = AutoencoderConfig::dense(DenseConfig::new(vec![], 2));
    noisy.corruption = CorruptionConfig::Gaussian(GaussianNoise { sigma: 0.0, clip: None });
    assert_eq!(noisy.init(5, &d).unwrap_err().key, "corruption.sigma");
}

#[test]
fn shallow_network_maps_input_straight_to_code() {
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![], 2)).init(7, &device()).unwrap();
    let x = Tensor::<2>::ones([3, 7], &device());
    assert_eq!(model.encode(x.clone()).dims(), [3, 2]);
    assert_eq!(model.decode(model.encode(x)).dims(), [3, 7]);
}

#[test]
fn correntropy_matches_hand_values_and_saturates() {
    let target = t2(&[&[0.0, 0.0, 0.0]]);
    let recon = t2(&[&[0.0, 1.0, 100.0]]);
    let loss = ReconstructionLoss::Correntropy(CorrentropyLoss { sigma: 0.5 });
    // 1 - exp(-e^2 / (2 * 0.25)) for e = 0, 1, 100.
    let want = (0.0 + (1.0 - (-2.0f64).exp()) + 1.0) / 3.0;
    close(scalar(loss.mean(recon.clone(), recon, target)), want, 1e-6);
}

#[test]
fn salt_and_pepper_hits_its_rate_half_each_way() {
    let d = device();
    d.seed(7);
    let x = Tensor::<2>::full([100, 1000], 0.5, &d);
    let v = CorruptionConfig::SaltAndPepper(SaltAndPepper { p: 0.2, range: [0.0, 1.0] })
        .apply(x)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap();
    let n = v.len() as f64;
    let low = v.iter().filter(|&&a| a == 0.0).count() as f64 / n;
    let high = v.iter().filter(|&&a| a == 1.0).count() as f64 / n;
    // 100k draws: standard error of each share ~0.001.
    close(low, 0.1, 0.005);
    close(high, 0.1, 0.005);
    assert!(v.iter().all(|&a| a == 0.0 || a == 0.5 || a == 1.0));
}

#[test]
fn cauchy_noise_has_its_scale() {
    let d = device();
    d.seed(8);
    let x = Tensor::<2>::zeros([100, 1000], &d);
    let mut v: Vec<f64> = CorruptionConfig::Cauchy(CauchyNoise { scale: 0.2, clip: None })
        .apply(x)
        .into_data()
        .try_into_vec::<f32>()
        .unwrap()
        .into_iter()
        .map(|a| (a as f64).abs())
        .collect();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // The median of |X| for Cauchy(0, g) is g; its sampling error at n = 100k is ~0.002.
    close(v[v.len() / 2], 0.2, 0.006);
    let clipped = CorruptionConfig::Cauchy(CauchyNoise { scale: 0.2, clip: Some([0.0, 1.0]) })
        .apply(Tensor::<2>::zeros([10, 100], &d));
    assert!(clipped.into_data().try_into_vec::<f32>().unwrap().iter().all(|&a| (0.0..=1.0).contains(&a)));
}

//! The variational bottleneck and likelihood losses against hand values and each other.

use ae_models::AutoencoderConfig;
use ae_models::activation::Activation;
use ae_models::bottleneck::gaussian::{Posterior, kl_divergence};
use ae_models::bottleneck::{BottleneckConfig, GaussianConfig};
use ae_models::likelihood::importance_log_likelihood;
use ae_models::loss::{GaussianLikelihood, ReconstructionLoss};
use ae_models::network::DenseConfig;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn t2(rows: &[&[f32]]) -> Tensor<2> {
    let cols = rows[0].len();
    let v: Vec<f32> = rows.iter().flat_map(|r| r.iter().copied()).collect();
    Tensor::from_data(TensorData::new(v, [rows.len(), cols]), &Device::flex())
}

fn vec1(t: Tensor<1>) -> Vec<f64> {
    t.into_data().try_into_vec::<f32>().unwrap().into_iter().map(f64::from).collect()
}

fn vae(hidden: usize, code: usize) -> AutoencoderConfig {
    let mut net = DenseConfig::new(vec![hidden], code);
    net.output_activation = Activation::Sigmoid;
    let mut cfg = AutoencoderConfig::dense(net);
    cfg.bottleneck = BottleneckConfig::Gaussian(GaussianConfig { beta: 1.0, warmup: 0.0 });
    cfg.loss = ReconstructionLoss::Bernoulli;
    cfg
}

#[test]
fn kl_matches_hand_values() {
    let p = Posterior { mu: t2(&[&[0.0, 0.0], &[1.0, 2.0]]), log_var: t2(&[&[0.0, 0.0], &[0.0, 2f32.ln()]]) };
    let kl = vec1(kl_divergence(&p));
    assert!(kl[0].abs() < 1e-7, "KL of N(0, I) to itself is {}", kl[0]);
    // -1/2 [(1 + 0 - 1 - 1) + (1 + ln 2 - 4 - 2)] = (6 - ln 2) / 2
    assert!((kl[1] - (6.0 - 2f64.ln()) / 2.0).abs() < 1e-5, "{}", kl[1]);
}

#[test]
fn likelihood_losses_match_hand_values() {
    let target = t2(&[&[1.0, 0.0], &[0.5, 0.5]]);
    let logits = t2(&[&[0.0, 1.0], &[2.0, -2.0]]);
    let recon = Activation::Sigmoid.apply(logits.clone());
    let s = |z: f64| 1.0 / (1.0 + (-z).exp());
    let nll = |z: f64, x: f64| -(x * s(z).ln() + (1.0 - x) * (1.0 - s(z)).ln());
    let per = vec1(ReconstructionLoss::Bernoulli.per_sample(logits.clone(), recon.clone(), target.clone()));
    let want0 = nll(0.0, 1.0) + nll(1.0, 0.0);
    let want1 = nll(2.0, 0.5) + nll(-2.0, 0.5);
    assert!((per[0] - want0).abs() < 1e-5 && (per[1] - want1).abs() < 1e-5, "{per:?}");
    let batch = vec1(ReconstructionLoss::Bernoulli.mean(logits.clone(), recon, target.clone()));
    assert!((batch[0] - (want0 + want1) / 2.0).abs() < 1e-5);
    // Gaussian with sigma 2 on the raw reconstruction (logits here): (x-mu)^2/8 + ln 2 + ln(2 pi)/2 per value.
    let g = ReconstructionLoss::Gaussian(GaussianLikelihood { sigma: 2.0 });
    let per = vec1(g.per_sample(logits.clone(), logits, target));
    let c = 2f64.ln() + 0.5 * (2.0 * std::f64::consts::PI).ln();
    let want = (1.0f64 / 8.0 + c) + (1.0 / 8.0 + c);
    assert!((per[0] - want).abs() < 1e-5, "{} vs {want}", per[0]);
}

#[test]
fn encode_is_the_posterior_mean_and_training_codes_are_samples() {
    let d = Device::flex();
    d.seed(4);
    let model = vae(16, 3).init(10, &d).unwrap();
    let x = Tensor::<2>::random([5, 10], Distribution::Uniform(0.0, 1.0), &d);
    let a = model.encode(x.clone()).into_data();
    let b = model.encode(x.clone()).into_data();
    assert_eq!(a, b);
    let s1 = model.forward(x.clone(), None);
    let s2 = model.forward(x, None);
    assert_ne!(s1.code.into_data(), s2.code.into_data());
    let names: Vec<&str> = s1.terms.iter().map(|t| t.name).collect();
    assert_eq!(names, vec!["reconstruction", "kl"]);
    assert_eq!(model.sample_prior(7, &d).dims(), [7, 10]);
}

#[test]
fn importance_sampling_with_one_sample_is_an_unbiased_elbo_and_more_samples_tighten_it() {
    let d = Device::flex();
    d.seed(11);
    let model = vae(32, 4).init(12, &d).unwrap();
    let x = Tensor::<2>::random([6, 12], Distribution::Uniform(0.0, 1.0), &d).round();
    let reps = 400;
    // The ELBO with analytic KL, averaged over many reparameterised samples.
    let elbo: f64 = (0..reps).map(|_| -vec1(model.forward(x.clone(), None).loss)[0]).sum::<f64>() / reps as f64;
    // K = 1 importance weights: log p(x|z) + log p(z) - log q(z|x), whose mean is the same ELBO.
    let iw1: f64 = (0..reps)
        .map(|_| vec1(importance_log_likelihood(&model, x.clone(), 1).unwrap()).iter().sum::<f64>() / 6.0)
        .sum::<f64>()
        / reps as f64;
    assert!((iw1 - elbo).abs() < 0.05 * elbo.abs().max(1.0), "K=1 estimate {iw1} vs ELBO {elbo}");
    let iw100: f64 = vec1(importance_log_likelihood(&model, x, 100).unwrap()).iter().sum::<f64>() / 6.0;
    assert!(iw100 >= elbo - 0.01, "K=100 bound {iw100} is below the ELBO {elbo}");
}

#[test]
fn a_vae_rejects_a_code_activation_and_a_non_sigmoid_bernoulli() {
    let mut cfg = vae(8, 2);
    cfg.network.dense_mut().code_activation = Activation::Tanh;
    assert_eq!(cfg.init(5, &Device::flex()).unwrap_err().key, "network.code_activation");
    let mut cfg = vae(8, 2);
    cfg.network.dense_mut().output_activation = Activation::Linear;
    assert_eq!(cfg.init(5, &Device::flex()).unwrap_err().key, "loss.kind");
    let mut cfg = vae(8, 2);
    cfg.bottleneck = BottleneckConfig::Gaussian(GaussianConfig { beta: -1.0, warmup: 0.0 });
    assert_eq!(cfg.init(5, &Device::flex()).unwrap_err().key, "bottleneck.beta");
}

#[test]
fn kl_warmup_ramps_the_kl_weight() {
    use ae_models::schedule::Schedule;
    let d = Device::flex();
    d.seed(1);
    let mut cfg = vae(8, 2);
    cfg.bottleneck = BottleneckConfig::Gaussian(GaussianConfig { beta: 2.0, warmup: 0.5 });
    let model = cfg.init(6, &d).unwrap();
    let x = Tensor::<2>::random([4, 6], Distribution::Uniform(0.0, 1.0), &d);
    let kl_at = |p: u64| {
        d.seed(9);
        vec1(model.forward_at(x.clone(), None, Schedule::at(p, 100)).terms[1].value.clone())[0]
    };
    let (k0, k25, k50, k100) = (kl_at(0), kl_at(25), kl_at(50), kl_at(100));
    assert_eq!(k0, 0.0);
    assert!((k25 * 2.0 - k50).abs() < 1e-5 * k50.abs().max(1.0), "{k25} {k50}");
    assert!((k50 - k100).abs() < 1e-6);
}

//! The adversarial autoencoder: each alternating update touches only its own parameters, the
//! losses are the binary cross-entropies they claim to be, and the priors are what they say.

use ae_models::bottleneck::{AdversarialBottleneck, AdversarialConfig, BottleneckConfig, Discriminator, Prior};
use ae_models::network::DenseConfig;
use ae_models::schedule::Schedule;
use ae_models::step::{Optimizers, adversary_step, autoencoder_step, train_step};
use ae_models::{Autoencoder, AutoencoderConfig};
use burn::module::{Module, Param};
use burn::nn::Linear;
use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Tensor};

fn aae(prior: Prior) -> AutoencoderConfig {
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![16], 3));
    cfg.bottleneck = BottleneckConfig::Adversarial(AdversarialConfig {
        discriminator: vec![8, 8],
        prior,
        scale: 1.0,
        weight: 1.0,
        learning_rate: None,
    });
    cfg
}

fn bytes(m: &impl Module) -> Vec<u8> {
    m.clone().into_record().into_bytes().unwrap().to_vec()
}

/// Serialised weights of the encoder, the code layer, the discriminator and the decoder.
fn parts(m: &Autoencoder) -> [Vec<u8>; 4] {
    let a = m.bottleneck.adversary().unwrap();
    [bytes(&m.encoder), bytes(&a.linear), bytes(&a.discriminator), bytes(&m.decoder)]
}

#[test]
fn each_update_touches_only_its_own_parameters() {
    let d = Device::flex().autodiff();
    d.seed(11);
    let model = aae(Prior::Normal).init(10, &d).unwrap();
    let mut optims = Optimizers::new(&model, || AdamConfig::new().init());
    assert!(optims.adversary.is_some());
    let x = Tensor::<2>::random([32, 10], Distribution::Uniform(0.0, 1.0), &d);

    // 1. The autoencoder update: encoder, code layer and decoder move; the discriminator does not.
    let before = parts(&model);
    let (model, out) = autoencoder_step(model, &mut optims.model, x.clone(), Schedule::END, 1e-2);
    let after = parts(&model);
    assert!(out.terms.iter().any(|t| t.name == "adversarial"));
    assert_ne!(before[0], after[0], "encoder unchanged");
    assert_ne!(before[1], after[1], "code layer unchanged");
    assert_eq!(before[2], after[2], "the autoencoder update moved the discriminator");
    assert_ne!(before[3], after[3], "decoder unchanged");

    // 2. The discriminator update: only the discriminator moves.
    let (model, d_loss) = adversary_step(model, optims.adversary.as_mut().unwrap(), out.code, 1e-2);
    assert!(d_loss.is_some());
    let last = parts(&model);
    assert_eq!(after[0], last[0], "the discriminator update moved the encoder");
    assert_eq!(after[1], last[1], "the discriminator update moved the code layer");
    assert_ne!(after[2], last[2], "discriminator unchanged");
    assert_eq!(after[3], last[3], "the discriminator update moved the decoder");

    // A whole step reports the discriminator's loss beside (not inside) the objective.
    let (_, out) = train_step(model, &mut optims, x, Schedule::END, 1e-2);
    let names: Vec<_> = out.terms.iter().map(|t| t.name).collect();
    assert_eq!(names, ["reconstruction", "adversarial", "discriminator"]);
    let sum: f32 = out.terms[..2].iter().map(|t| t.value.clone().into_scalar::<f32>()).sum();
    assert!((out.loss.into_scalar::<f32>() - sum).abs() < 1e-5);
}

fn zero_linear(d_in: usize, d_out: usize, bias: f32, d: &Device) -> Linear {
    Linear {
        weight: Param::from_tensor(Tensor::zeros([d_in, d_out], d)),
        bias: Some(Param::from_tensor(Tensor::full([d_out], bias, d))),
    }
}

#[test]
fn losses_match_hand_values() {
    let d = Device::flex();
    // A discriminator whose logit is the constant c: generator loss softplus(-c), discriminator
    // loss softplus(-c) + softplus(c).
    for c in [0.0f32, 1.5, -2.0] {
        let b = AdversarialBottleneck {
            linear: zero_linear(4, 2, 0.0, &d),
            discriminator: Discriminator { layers: vec![zero_linear(2, 5, 0.3, &d), zero_linear(5, 1, c, &d)] },
            prior: Prior::Normal,
            scale: 1.0,
            weight: 0.5,
            learning_rate: None,
        };
        let code = Tensor::<2>::random([7, 2], Distribution::Normal(0.0, 1.0), &d);
        let sp = |v: f64| (1.0 + v.exp()).ln();
        let g = b.generator_loss(code.clone()).into_scalar::<f32>() as f64;
        assert!((g - 0.5 * sp(-c as f64)).abs() < 1e-6, "c={c}: {g}");
        let dl = b.discriminator_loss(code).into_scalar::<f32>() as f64;
        assert!((dl - (sp(-c as f64) + sp(c as f64))).abs() < 1e-5, "c={c}: {dl}");
    }
    // Through ReLU layers: one unit, logit = w2 * relu(w1 * z + b1) + b2.
    let mut disc = Discriminator::new(1, &[1], &d);
    disc.layers[0].weight = Param::from_tensor(Tensor::full([1, 1], 2.0, &d));
    disc.layers[0].bias = Some(Param::from_tensor(Tensor::full([1], -1.0, &d)));
    disc.layers[1].weight = Param::from_tensor(Tensor::full([1, 1], -3.0, &d));
    disc.layers[1].bias = Some(Param::from_tensor(Tensor::full([1], 0.5, &d)));
    let z = Tensor::<2>::from_data([[0.0f32], [1.0], [2.0]], &d);
    let logits = disc.forward(z, false).into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(logits, vec![0.5, -2.5, -8.5]);
}

#[test]
fn priors_have_their_moments() {
    let d = Device::flex();
    d.seed(4);
    let n = 20_000;
    let stats = |t: Tensor<2>, col: usize| {
        let v = t.into_data().try_into_vec::<f32>().unwrap();
        let w = v.len() / n;
        let xs: Vec<f64> = v.chunks(w).map(|r| r[col] as f64).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let (lo, hi) = xs.iter().fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
        (mean, var.sqrt(), lo, hi)
    };
    // Sampling error of a mean of 20000 unit-variance draws: 0.007; allow 4 sigma.
    let (m, s, _, _) = stats(Prior::Normal.sample(n, 3, 2.0, &d), 1);
    assert!(m.abs() < 0.06 && (s - 2.0).abs() < 0.05, "normal: mean {m}, std {s}");
    let (m, s, lo, hi) = stats(Prior::Uniform.sample(n, 3, 2.0, &d), 0);
    assert!(m.abs() < 0.05 && (s - 2.0 / 3f64.sqrt()).abs() < 0.03 && lo >= -2.0 && hi <= 2.0, "uniform {m} {s}");
    // Mixture: points lie near a circle of radius `scale` in units 0-1, at 10 angles.
    let v = Prior::Mixture.sample(n, 3, 4.0, &d).into_data().try_into_vec::<f32>().unwrap();
    let mut per_component = [0usize; 10];
    for r in v.chunks(3) {
        let (x, y) = (r[0] as f64, r[1] as f64);
        let angle = y.atan2(x).rem_euclid(std::f64::consts::TAU);
        per_component[((angle / std::f64::consts::TAU * 10.0).round() as usize) % 10] += 1;
    }
    let radius = v.chunks(3).map(|r| ((r[0] as f64).powi(2) + (r[1] as f64).powi(2)).sqrt()).sum::<f64>() / n as f64;
    assert!((radius - 4.0).abs() < 0.2, "mean radius {radius}");
    for c in per_component {
        assert!((1700..2300).contains(&c), "components unbalanced: {per_component:?}");
    }
}

#[test]
fn bad_settings_are_rejected_by_key() {
    let mut cfg = aae(Prior::Normal);
    if let BottleneckConfig::Adversarial(a) = &mut cfg.bottleneck {
        a.scale = 0.0;
    }
    let e = cfg.validate(10).unwrap_err();
    assert_eq!(e.key, "bottleneck.scale");
    let mut cfg = aae(Prior::Normal);
    if let BottleneckConfig::Adversarial(a) = &mut cfg.bottleneck {
        a.discriminator.push(0);
    }
    assert_eq!(cfg.validate(10).unwrap_err().key, "bottleneck.discriminator");
}

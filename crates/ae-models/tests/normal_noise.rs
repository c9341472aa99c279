//! The CPU backend's normal samples (`vendor/burn-flex`, drawn in parallel blocks since the
//! Gaussian corruption spent a tenth of a conv autoencoder's step drawing them one by one): they
//! must be normal and repeat with the seed. One test in its own binary, since the backend's seed
//! is global and a test drawing beside it would take values from the seeded stream.

use ae_models::corruption::{Corruption, GaussianNoise};
use burn::tensor::{Device, Distribution, Tensor};

fn values(t: Tensor<2>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn normal_samples_are_normal_and_repeat_with_the_seed() {
    let d = Device::flex();
    // The Gaussian corruption of a batch of 64 CIFAR images: 196,608 values.
    let noise = |seed: u64| {
        d.seed(seed);
        values(GaussianNoise { sigma: 0.5, clip: None }.apply(Tensor::<2>::zeros([64, 3072], &d)))
    };
    let v = noise(3);
    let n = v.len() as f64;
    let mean = v.iter().map(|a| *a as f64).sum::<f64>() / n;
    let std = (v.iter().map(|a| (*a as f64 - mean).powi(2)).sum::<f64>() / n).sqrt();
    // Standard errors: mean 0.5 / sqrt(n) = 0.0011, standard deviation 0.0008, shares 0.001.
    assert!(mean.abs() < 0.005, "mean {mean}");
    assert!((std - 0.5).abs() < 0.004, "std {std}");
    let share = |k: f64| v.iter().filter(|a| (**a as f64).abs() < k * 0.5).count() as f64 / n;
    assert!((share(1.0) - 0.682_689).abs() < 0.005, "within 1 sd: {}", share(1.0));
    assert!((share(2.0) - 0.954_500).abs() < 0.003, "within 2 sd: {}", share(2.0));
    assert!((share(3.0) - 0.997_300).abs() < 0.0015, "within 3 sd: {}", share(3.0));
    let kurtosis = v.iter().map(|a| ((*a as f64 - mean) / std).powi(4)).sum::<f64>() / n;
    assert!((kurtosis - 3.0).abs() < 0.06, "kurtosis {kurtosis}");
    // Neighbours (within a block and across the pairs of one draw) are uncorrelated.
    let lag =
        |k: usize| v.iter().zip(&v[k..]).map(|(a, b)| (*a as f64) * (*b as f64)).sum::<f64>() / (n - k as f64) / 0.25;
    assert!(lag(1).abs() < 0.01 && lag(2).abs() < 0.01, "correlation {} {}", lag(1), lag(2));
    assert!(noise(3) == v, "the same seed gives the same values");
    assert!(noise(4) != v, "another seed gives other values");

    // A mean and a standard deviation through Burn's own normal distribution.
    d.seed(5);
    let w = values(Tensor::<2>::random([300, 300], Distribution::Normal(2.0, 3.0), &d));
    let m = w.iter().map(|a| *a as f64).sum::<f64>() / w.len() as f64;
    let s = (w.iter().map(|a| (*a as f64 - m).powi(2)).sum::<f64>() / w.len() as f64).sqrt();
    assert!((m - 2.0).abs() < 0.04 && (s - 3.0).abs() < 0.03, "N(2, 9): mean {m}, std {s}");
}

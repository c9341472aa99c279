//! The k-sparse bottleneck keeps exactly k units per item, and only they get gradients.

use ae_models::AutoencoderConfig;
use ae_models::bottleneck::top_k::keep_top_k;
use ae_models::bottleneck::{BottleneckConfig, TopKConfig};
use ae_models::network::DenseConfig;
use ae_models::schedule::Schedule;
use burn::tensor::{Device, Distribution, Tensor, TensorData};

#[test]
fn keeps_exactly_the_k_largest_per_row() {
    let d = Device::flex();
    let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 3.0, 2.0, 0.1, 0.2, 0.3, 0.4], [2, 4]), &d);
    let y = keep_top_k(x, 2).into_data().try_into_vec::<f32>().unwrap();
    assert_eq!(y, vec![0.0, 0.0, 3.0, 2.0, 0.0, 0.0, 0.3, 0.4]);
    // Ties: still exactly k survivors.
    let ties = Tensor::<2>::ones([3, 6], &d);
    let kept = keep_top_k(ties, 4).into_data().try_into_vec::<f32>().unwrap();
    for row in kept.chunks(6) {
        assert_eq!(row.iter().filter(|&&v| v != 0.0).count(), 4);
    }
}

#[test]
fn gradients_reach_only_the_kept_units() {
    let d = Device::flex().autodiff();
    d.seed(3);
    let code = Tensor::<2>::random([5, 12], Distribution::Normal(0.0, 1.0), &d).require_grad();
    let sparse = keep_top_k(code.clone(), 3);
    let grads = sparse.clone().sum().backward();
    let g = code.grad(&grads).unwrap().into_data().try_into_vec::<f32>().unwrap();
    let kept = sparse.into_data().try_into_vec::<f32>().unwrap();
    for (gi, ki) in g.iter().zip(&kept) {
        // d(sum of kept)/d(unit) is 1 for a kept unit, 0 for a dropped one.
        assert_eq!(*gi, if *ki != 0.0 { 1.0 } else { 0.0 });
    }
    assert_eq!(g.iter().filter(|&&v| v == 1.0).count(), 5 * 3);
}

#[test]
fn k_is_annealed_from_k_start_to_k() {
    let d = Device::flex();
    let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![16], 10));
    cfg.bottleneck = BottleneckConfig::TopK(TopKConfig { k: 2, k_start: Some(10), anneal: 0.5 });
    let model = cfg.init(8, &d).unwrap();
    let x = Tensor::<2>::random([4, 8], Distribution::Uniform(0.0, 1.0), &d);
    let active = |s: Schedule| {
        let code = model.forward_at(x.clone(), None, s).code.into_data().try_into_vec::<f32>().unwrap();
        code.chunks(10).map(|r| r.iter().filter(|&&v| v != 0.0).count()).max().unwrap()
    };
    assert_eq!(active(Schedule::at(0, 100)), 10);
    assert_eq!(active(Schedule::at(25, 100)), 6);
    assert_eq!(active(Schedule::at(50, 100)), 2);
    assert_eq!(active(Schedule::END), 2);
    let encoded = model.encode(x).into_data().try_into_vec::<f32>().unwrap();
    assert!(encoded.chunks(10).all(|r| r.iter().filter(|&&v| v != 0.0).count() <= 2));
}

#[test]
fn impossible_k_is_rejected() {
    let d = Device::flex();
    for (k, k_start, key) in [
        (0, None, "bottleneck.k"),
        (11, None, "bottleneck.k"),
        (3, Some(2), "bottleneck.k_start"),
        (3, Some(12), "bottleneck.k_start"),
    ] {
        let mut cfg = AutoencoderConfig::dense(DenseConfig::new(vec![], 10));
        cfg.bottleneck = BottleneckConfig::TopK(TopKConfig { k, k_start, anneal: 0.5 });
        assert_eq!(cfg.init(4, &d).unwrap_err().key, key, "k {k} k_start {k_start:?}");
    }
}

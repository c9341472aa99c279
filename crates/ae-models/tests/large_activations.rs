//! Relu and sigmoid and their gradients on tensors large enough that the CPU backend splits them
//! across threads (`vendor/burn-flex`: 65,536 values and more, in place where the tensor is not
//! shared), against the values by hand, NaN, infinities and the ends of f32's exp included.

use burn::tensor::activation::{relu, sigmoid};
use burn::tensor::{Device, Distribution, Tensor, TensorData};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().try_into_vec::<f32>().unwrap()
}

#[test]
fn relu_and_sigmoid_and_their_gradients_match_the_values_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(21);
    let shape = [8, 16, 32, 32]; // 131,072 values
    let mut x = values(Tensor::<4>::random(shape, Distribution::Normal(0.0, 2.0), &d));
    x[5] = f32::NAN;
    x[70_000] = 0.0;
    // Where exp under- and overflows in f32 (the sigmoid is a polynomial there, not libm).
    let extremes = [(1, 100.0), (2, -100.0), (3, 88.5), (4, -87.5), (6, f32::INFINITY), (7, f32::NEG_INFINITY)];
    for (k, v) in extremes {
        x[k] = v;
    }
    let xt = Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &d);
    let r = values(Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &d));
    let rt = Tensor::<4>::from_data(TensorData::new(r.clone(), shape), &d);

    // Forward, once on a shared tensor (a copy is made) and once on an unshared one (in place).
    let shared = xt.clone();
    let got = values(relu(shared.clone()));
    let got_unique = values(relu(Tensor::<4>::from_data(TensorData::new(x.clone(), shape), &d)));
    let kept = values(shared);
    assert!(
        kept.iter().zip(&x).all(|(a, b)| a == b || (a.is_nan() && b.is_nan())),
        "the shared input is left as it was"
    );
    for (k, v) in x.iter().enumerate() {
        let want = if v.is_nan() { f32::NAN } else { v.max(0.0) };
        for (what, g) in [("copy", got[k]), ("in place", got_unique[k])] {
            assert!(g == want || (g.is_nan() && want.is_nan()), "relu {what} at {k}: {g} vs {want}");
        }
    }
    let s = values(sigmoid(xt.clone()));
    for (k, v) in x.iter().enumerate() {
        let want = 1.0 / (1.0 + (-(*v as f64)).exp());
        assert!(
            (s[k] as f64 - want).abs() < 1e-6 || (s[k].is_nan() && v.is_nan()),
            "sigmoid at {k}: {} vs {want}",
            s[k]
        );
    }

    // Gradients: d/dx sum(relu(x) * r) = r where x > 0 (and where x is NaN), else 0;
    // d/dx sum(sigmoid(x) * r) = r * s * (1 - s).
    let mut finite = x.clone();
    finite[5] = 1.5;
    (finite[6], finite[7]) = (-3.0, 3.0);
    let xg = Tensor::<4>::from_data(TensorData::new(finite.clone(), shape), &d).require_grad();
    let grads = (relu(xg.clone()) * rt.clone()).sum().backward();
    let dx = values(xg.grad(&grads).unwrap());
    for (k, v) in finite.iter().enumerate() {
        let want = if *v > 0.0 { r[k] } else { 0.0 };
        assert_eq!(dx[k], want, "relu gradient at {k}");
    }
    let xg = Tensor::<4>::from_data(TensorData::new(finite.clone(), shape), &d).require_grad();
    let grads = (sigmoid(xg.clone()) * rt).sum().backward();
    let dx = values(xg.grad(&grads).unwrap());
    for (k, v) in finite.iter().enumerate() {
        let s = 1.0 / (1.0 + (-(*v as f64)).exp());
        let want = r[k] as f64 * s * (1.0 - s);
        assert!((dx[k] as f64 - want).abs() < 1e-6, "sigmoid gradient at {k}: {} vs {want}", dx[k]);
    }
}

//! The weights' running average: the values of its formula, worked out by hand over real training
//! steps; the same parameters (ids, shapes) as the model; a resumed average continues exactly;
//! bad decays refused by key.

use ae_models::AutoencoderConfig;
use ae_models::average::WeightAverage;
use ae_models::network::DenseConfig;
use ae_models::schedule::Schedule;
use ae_models::step::{Optimizers, train_step};
use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::AdamConfig;
use burn::tensor::{Device, Distribution, Tensor};

/// Every float parameter's values, in visiting order, with its id.
struct Values(Vec<(ParamId, Vec<f32>)>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push((param.id, param.val().into_data().try_into_vec::<f32>().unwrap()));
    }
}

fn values<M: Module>(model: &M) -> Vec<(ParamId, Vec<f32>)> {
    let mut v = Values(Vec::new());
    model.visit(&mut v);
    v.0
}

#[test]
fn the_average_follows_its_formula_over_training_steps() {
    let device = Device::flex().autodiff();
    device.seed(3);
    let decay = 0.5;
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![7], 2)).init(5, &device).unwrap();
    let mut optims =
        Optimizers::new(&model, || AdamConfig::new().init()).with_average(WeightAverage::new(decay).unwrap());
    let x = Tensor::<2>::random([6, 5], Distribution::Uniform(0.0, 1.0), &device);
    let mut model = model;
    // The hand-computed average, in f64: a_1 = w_1, a_t = d_t a_{t-1} + (1 - d_t) w_t with
    // d_t = min(decay, (1 + t) / (10 + t)): d_2 = 0.25, d_3 = 4/13, d_4 = 5/14, d_5 = 0.4,
    // d_6 = 7/16, then decay = 0.5 from t = 8 on.
    let mut hand: Vec<Vec<f64>> = Vec::new();
    for t in 1..=10u64 {
        model = train_step(model, &mut optims, x.clone(), Schedule::at(t - 1, 10), 1e-2).0;
        let w = values(&model);
        let d = match t {
            2 => 0.25,
            3 => 4.0 / 13.0,
            4 => 5.0 / 14.0,
            5 => 0.4,
            6 => 7.0 / 16.0,
            7 => 8.0 / 17.0,
            _ => 0.5,
        };
        assert!((optims.average.as_ref().unwrap().decay_at(t) - if t == 1 { 2.0 / 11.0 } else { d }).abs() < 1e-12);
        if t == 1 {
            hand = w.iter().map(|(_, v)| v.iter().map(|&x| x as f64).collect()).collect();
        } else {
            for (a, (_, v)) in hand.iter_mut().zip(&w) {
                for (a, &x) in a.iter_mut().zip(v) {
                    *a = d * *a + (1.0 - d) * x as f64;
                }
            }
        }
    }
    let average = optims.average.as_ref().unwrap();
    assert_eq!(average.updates(), 10);
    let raw = values(&model);
    let averaged_model = optims.averaged(model.clone());
    let averaged = values(&averaged_model);
    assert_eq!(averaged.len(), raw.len());
    let mut moved = 0.0f64;
    for (((id, a), (raw_id, r)), h) in averaged.iter().zip(&raw).zip(&hand) {
        assert_eq!(id, raw_id, "the averaged model keeps the parameter ids");
        assert_eq!(a.len(), r.len());
        for ((&a, &r), &h) in a.iter().zip(r).zip(h) {
            assert!((a as f64 - h).abs() < 1e-5, "averaged {a} vs hand {h}");
            moved += (a as f64 - r as f64).abs();
        }
    }
    assert!(moved > 1e-3, "the average differs from the last step's weights");
    // The model itself is untouched, and the averaged one still trains (its parameters track
    // gradients).
    assert_eq!(values(&model), raw);
    let out = averaged_model.forward(x.clone(), None);
    let grads = out.loss.backward();
    let dense = match &averaged_model.encoder {
        ae_models::network::Encoder::Dense(d) => d.layers[0].weight.val(),
        _ => unreachable!(),
    };
    assert!(dense.grad(&grads).is_some());
}

#[test]
fn a_resumed_average_continues_exactly() {
    let device = Device::flex().autodiff();
    device.seed(4);
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![6], 3)).init(4, &device).unwrap();
    let mut optims =
        Optimizers::new(&model, || AdamConfig::new().init()).with_average(WeightAverage::new(0.9).unwrap());
    let x = Tensor::<2>::random([5, 4], Distribution::Uniform(0.0, 1.0), &device);
    let mut model = model;
    for t in 0..4 {
        model = train_step(model, &mut optims, x.clone(), Schedule::at(t, 8), 1e-2).0;
    }
    // What a checkpoint keeps: the averaged weights and the update count.
    let kept = optims.averaged(model.clone());
    let mut resumed = WeightAverage::resume(0.9, &kept, 4).unwrap();
    for t in 4..8 {
        model = train_step(model, &mut optims, x.clone(), Schedule::at(t, 8), 1e-2).0;
        resumed.update(&model);
    }
    let original = optims.average.as_ref().unwrap();
    assert_eq!(resumed.updates(), original.updates());
    let a = values(&original.apply(model.clone()));
    let b = values(&resumed.apply(model));
    for ((_, a), (_, b)) in a.iter().zip(&b) {
        for (x, y) in a.iter().zip(b) {
            assert!((x - y).abs() < 1e-6, "{x} vs {y}");
        }
    }
}

#[test]
fn bad_decays_are_refused_by_key() {
    for d in [0.0, 1.0, -0.5, 1.5, f64::NAN] {
        let e = WeightAverage::new(d).unwrap_err();
        assert_eq!(e.key, "ema_decay", "{d}");
    }
    assert!(WeightAverage::new(0.999).is_ok());
}

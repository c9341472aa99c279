//! Data-parallel steps: two replicas (threads here, MPI processes in ae-train) that each take a
//! shard of a batch step to exactly the weights worked out by hand from each shard's own
//! gradient, weighed by its items, and to those of one step on the whole batch; their reported
//! loss is the whole batch's.

use ae_models::AutoencoderConfig;
use ae_models::network::DenseConfig;
use ae_models::replicas::{Replicas, threads};
use ae_models::schedule::Schedule;
use ae_models::step::{Optimizers, train_step};
use burn::module::{Module, ModuleVisitor, Param};
use burn::optim::SgdConfig;
use burn::tensor::{Device, Distribution, Tensor};

/// Every float parameter's values, in visiting order.
struct Values(Vec<Vec<f32>>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().into_data().try_into_vec::<f32>().unwrap());
    }
}

fn values<M: Module>(model: &M) -> Vec<Vec<f32>> {
    let mut v = Values(Vec::new());
    model.visit(&mut v);
    v.0
}

#[test]
fn replicas_step_on_the_item_weighted_mean_of_their_shards_gradients() {
    let device = Device::flex().autodiff();
    device.seed(11);
    let model = AutoencoderConfig::dense(DenseConfig::new(vec![6], 3)).init(5, &device).unwrap();
    let x = Tensor::<2>::random([8, 5], Distribution::Uniform(0.0, 1.0), &device);
    let shards = [x.clone().slice([0..3, 0..5]), x.clone().slice([3..8, 0..5])];
    let lr = 0.5;
    let sgd = || SgdConfig::new().init();
    let step = |x: Tensor<2>| {
        let mut optims = Optimizers::new(&model, sgd);
        train_step(model.clone(), &mut optims, x, Schedule::at(0, 1), lr)
    };
    let w0 = values(&model);
    // Each shard's own gradient, read off a plain SGD step: g = (w - w') / lr.
    let grads: Vec<Vec<Vec<f64>>> = shards
        .iter()
        .map(|s| {
            let w1 = values(&step(s.clone()).0);
            w0.iter()
                .zip(&w1)
                .map(|(a, b)| a.iter().zip(b).map(|(&a, &b)| (a as f64 - b as f64) / lr).collect())
                .collect()
        })
        .collect();
    // By hand: the whole batch's gradient is (3 g_A + 5 g_B) / 8.
    let hand: Vec<Vec<f64>> = (0..w0.len())
        .map(|p| {
            (0..w0[p].len())
                .map(|i| w0[p][i] as f64 - lr * (3.0 * grads[0][p][i] + 5.0 * grads[1][p][i]) / 8.0)
                .collect()
        })
        .collect();
    let (whole, whole_out) = step(x.clone());
    let whole = values(&whole);

    // Two replicas, one shard each, in two threads.
    let results: Vec<(Vec<Vec<f32>>, f32)> = std::thread::scope(|scope| {
        let handles: Vec<_> = threads::replicas(2)
            .into_iter()
            .zip(shards.clone())
            .map(|(r, shard)| {
                let model = model.clone();
                scope.spawn(move || {
                    let mut optims = Optimizers::new(&model, sgd).with_replicas(Replicas::new(Box::new(r)));
                    let (m, out) = train_step(model, &mut optims, shard, Schedule::at(0, 1), lr);
                    assert_eq!(optims.replicas.as_mut().unwrap().take_last_items(), Some(8));
                    (values(&m), out.loss.into_scalar::<f32>())
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (replica, (w, loss)) in results.iter().enumerate() {
        for (p, (got, want)) in w.iter().zip(&hand).enumerate() {
            for (i, (&g, &h)) in got.iter().zip(want).enumerate() {
                assert!(
                    (g as f64 - h).abs() <= 1e-6 * (1.0 + h.abs()),
                    "replica {replica}, param {p}[{i}]: {g} vs hand {h}"
                );
                let one = whole[p][i] as f64;
                assert!(
                    (g as f64 - one).abs() <= 1e-6 * (1.0 + one.abs()),
                    "replica {replica}, param {p}[{i}]: {g} vs whole batch {one}"
                );
            }
        }
        let whole_loss = whole_out.loss.clone().into_scalar::<f32>();
        assert!((loss - whole_loss).abs() <= 1e-6 * whole_loss, "replica {replica}: loss {loss} vs {whole_loss}");
    }
    // Both replicas hold the very same weights.
    assert_eq!(results[0].0, results[1].0);
}

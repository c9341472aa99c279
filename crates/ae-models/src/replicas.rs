//! Data-parallel training: several replicas of one model (processes, devices or machines) each
//! take their shard of every batch, and before each optimizer step their gradients are combined
//! into the gradient of the whole batch, so that every replica takes the same step.
//!
//! The combining is an all-reduce over the replicas ([`AllReduce`]), supplied by the caller
//! (ae-train's comes from MPI); this module only says what is summed. Each replica contributes
//! its gradients and loss terms multiplied by its shard's item count, and the count itself; after
//! the sum, dividing by the total count gives the item-weighted mean: the gradient and losses of
//! the mean loss over the whole batch, exactly as one process computes them on that batch (up to
//! the order of float additions), whatever the shard sizes. Sums are in f64.
//!
//! [`crate::step::Optimizers::with_replicas`] attaches one to a training loop.

use burn::module::{Module, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::{Tensor, TensorData};

/// Sums values over every replica, in place: each replica calls it with a buffer of the same
/// length, in the same order of calls, and gets back the element-wise sum of all their buffers.
pub trait AllReduce {
    /// Replaces each value by its sum over all replicas.
    fn sum(&mut self, values: &mut [f64]);

    /// How many replicas take part.
    fn replicas(&self) -> usize;
}

/// The replicas a training loop combines its gradients with, and what the last combined step
/// covered.
pub struct Replicas {
    reduce: Box<dyn AllReduce>,
    last_items: Option<usize>,
}

impl std::fmt::Debug for Replicas {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Replicas").field("replicas", &self.reduce.replicas()).finish()
    }
}

impl Replicas {
    /// Replicas combined through `reduce`.
    pub fn new(reduce: Box<dyn AllReduce>) -> Self {
        Self { reduce, last_items: None }
    }

    /// How many replicas take part.
    pub fn count(&self) -> usize {
        self.reduce.replicas()
    }

    /// The items of the whole batch (every replica's shard) of the last combined step, taken
    /// (the next call gives `None` until another step is combined).
    pub fn take_last_items(&mut self) -> Option<usize> {
        self.last_items.take()
    }

    /// Sums `values` over the replicas (for callers combining numbers of their own, such as a
    /// check that every replica starts from the same weights).
    pub fn sum(&mut self, values: &mut [f64]) {
        self.reduce.sum(values);
    }

    /// Replaces `grads` (this replica's, from its `items` items) by the item-weighted mean of
    /// every replica's, and each of `losses` (this replica's loss values, `[1]` tensors, in the
    /// same order on every replica) by its weighted mean.
    pub fn average<M: Module>(
        &mut self,
        model: &M,
        grads: &mut GradientsParams,
        items: usize,
        losses: &mut [&mut Tensor<1>],
    ) {
        let weight = items as f64;
        let mut gather = Gather { grads, weight, values: Vec::new(), params: Vec::new() };
        model.visit(&mut gather);
        let Gather { mut values, params, .. } = gather;
        values.extend(losses.iter().map(|l| (**l).clone().into_scalar::<f32>() as f64 * weight));
        values.push(weight);
        self.reduce.sum(&mut values);
        let total = values.pop().unwrap_or(weight);
        values.iter_mut().for_each(|v| *v /= total);
        let mut at = 0;
        for p in &params {
            let n = p.shape.iter().product::<usize>();
            if let Some(device) = &p.device {
                let data: Vec<f32> = values[at..at + n].iter().map(|&v| v as f32).collect();
                p.register(grads, TensorData::new(data, p.shape.clone()), device);
            }
            at += n;
        }
        for (loss, &v) in losses.iter_mut().zip(&values[at..]) {
            **loss = Tensor::<1>::from_data(TensorData::new(vec![v as f32], [1]), &loss.device());
        }
        self.last_items = Some(total.round() as usize);
    }
}

/// One parameter's place in the gathered buffer.
struct Gathered {
    id: ParamId,
    rank: usize,
    shape: Vec<usize>,
    /// The gradient's device, `None` when this replica has no gradient for it (zeros sent).
    device: Option<burn::tensor::Device>,
}

impl Gathered {
    fn register(&self, grads: &mut GradientsParams, data: TensorData, device: &burn::tensor::Device) {
        macro_rules! put {
            ($($d:literal),*) => {
                match self.rank {
                    $($d => grads.register::<$d>(self.id, Tensor::<$d>::from_data(data, device)),)*
                    r => unreachable!("parameters of rank {r} are not gathered"),
                }
            };
        }
        put!(1, 2, 3, 4, 5, 6);
    }
}

/// Appends every parameter's gradient (times the weight) to one buffer, in the model's visiting
/// order: the same on every replica of the same model.
struct Gather<'a> {
    grads: &'a GradientsParams,
    weight: f64,
    values: Vec<f64>,
    params: Vec<Gathered>,
}

impl ModuleVisitor for Gather<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        assert!((1..=6).contains(&D), "parameters of rank {D} are not gathered");
        let shape = param.val().dims().to_vec();
        match self.grads.get::<D>(param.id) {
            Some(g) => {
                let device = g.device();
                let data = g.into_data().convert::<f32>();
                let slice = data.as_slice::<f32>().expect("f32 after convert");
                self.values.extend(slice.iter().map(|&v| v as f64 * self.weight));
                self.params.push(Gathered { id: param.id, rank: D, shape, device: Some(device) });
            }
            None => {
                self.values.extend(std::iter::repeat_n(0.0, shape.iter().product()));
                self.params.push(Gathered { id: param.id, rank: D, shape, device: None });
            }
        }
    }
}

/// Replicas that are threads of one process, each with a handle on a shared sum: for tests of
/// data-parallel arithmetic without MPI. Every handle must call [`AllReduce::sum`] the same
/// number of times with buffers of the same length.
pub mod threads {
    use std::sync::{Arc, Barrier, Mutex};

    use super::AllReduce;

    struct Shared {
        sum: Mutex<(Vec<f64>, usize)>,
        barrier: Barrier,
    }

    /// One replica's handle.
    pub struct ThreadReplica {
        shared: Arc<Shared>,
        count: usize,
    }

    /// `n` handles on one sum, one per thread.
    pub fn replicas(n: usize) -> Vec<ThreadReplica> {
        let shared = Arc::new(Shared { sum: Mutex::new((Vec::new(), 0)), barrier: Barrier::new(n) });
        (0..n).map(|_| ThreadReplica { shared: shared.clone(), count: n }).collect()
    }

    impl AllReduce for ThreadReplica {
        fn sum(&mut self, values: &mut [f64]) {
            {
                let mut s = self.shared.sum.lock().unwrap_or_else(|e| e.into_inner());
                if s.1 == 0 {
                    s.0 = vec![0.0; values.len()];
                }
                assert_eq!(s.0.len(), values.len(), "replicas summed buffers of different lengths");
                s.0.iter_mut().zip(values.iter()).for_each(|(a, v)| *a += v);
                s.1 += 1;
            }
            self.shared.barrier.wait();
            {
                let s = self.shared.sum.lock().unwrap_or_else(|e| e.into_inner());
                values.copy_from_slice(&s.0);
            }
            if self.shared.barrier.wait().is_leader() {
                self.shared.sum.lock().unwrap_or_else(|e| e.into_inner()).1 = 0;
            }
            self.shared.barrier.wait();
        }

        fn replicas(&self) -> usize {
            self.count
        }
    }
}

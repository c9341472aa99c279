//! The k-sparse bottleneck (Makhzani & Frey 2014): a linear code of which only the k largest units
//! of each item are kept; the rest are set to zero, so gradients reach only the kept units.
//! During training k falls linearly from `k_start` to `k` over the first `anneal` of training.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, IndexingUpdateOp, Tensor};

use crate::schedule::Schedule;

/// A linear code with a per-item top-k mask.
#[derive(Module, Debug)]
pub struct TopKBottleneck {
    /// Features to the dense code.
    pub linear: Linear,
    /// Units kept at the end of training and when encoding.
    #[module(skip)]
    pub k: usize,
    /// Units kept at the start of training.
    #[module(skip)]
    pub k_start: usize,
    /// Fraction of training over which k falls from `k_start` to `k`.
    #[module(skip)]
    pub anneal: f64,
}

impl TopKBottleneck {
    /// A bottleneck from `features` to `code` units keeping `k` (from `k_start`, annealed).
    pub fn new(features: usize, code: usize, k: usize, k_start: usize, anneal: f64, device: &Device) -> Self {
        Self { linear: LinearConfig::new(features, code).init(device), k, k_start, anneal }
    }

    /// The number of units kept at this point of training.
    pub fn k_at(&self, schedule: Schedule) -> usize {
        let t = schedule.ramp(self.anneal);
        (self.k_start as f64 + (self.k as f64 - self.k_start as f64) * t).round() as usize
    }

    /// The sparse code of each item, keeping `k_at(schedule)` units.
    pub fn forward(&self, features: Tensor<2>, schedule: Schedule) -> Tensor<2> {
        keep_top_k(self.linear.forward(features), self.k_at(schedule))
    }
}

/// Zeroes all but the `k` largest values of each row (exactly `k` survive, ties broken by position).
pub fn keep_top_k(code: Tensor<2>, k: usize) -> Tensor<2> {
    let [n, width] = code.dims();
    if k >= width {
        return code;
    }
    let (_, indices) = code.clone().topk_with_indices(k, 1);
    let device = code.device();
    let mask = Tensor::<2>::zeros([n, width], &device).scatter(
        1,
        indices,
        Tensor::ones([n, k], &device),
        IndexingUpdateOp::Add,
    );
    code * mask
}

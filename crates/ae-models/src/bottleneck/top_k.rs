//! The k-sparse bottleneck (Makhzani & Frey 2014): a linear code of which only the k largest units
//! of each item are kept; the rest are set to zero, so gradients reach only the kept units.
//! During training k falls linearly from `k_start` to `k` over the first `anneal` of training.

use burn::module::Module;
use burn::nn::{Linear, LinearConfig};
use burn::tensor::{Device, IndexingUpdateOp, Tensor};
use serde::{Deserialize, Serialize};

use super::{Bottleneck, BottleneckLayer, BottleneckSettings, CodeOutput, CodeRecipe};
use crate::activation::Activation;
use crate::error::ConfigError;
use crate::schedule::Schedule;

/// Settings of a k-sparse code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopKConfig {
    /// Units kept at the end of training and when encoding.
    pub k: usize,
    /// Units kept at the start of training (default: all of them).
    #[serde(default)]
    pub k_start: Option<usize>,
    /// Fraction of training over which k falls linearly from `k_start` to `k`.
    #[serde(default = "half")]
    pub anneal: f64,
}

fn half() -> f64 {
    0.5
}

impl TopKConfig {
    /// Keeps `k` units, annealed from all units over the first half of training.
    pub fn new(k: usize) -> Self {
        Self { k, k_start: None, anneal: half() }
    }
}

impl BottleneckSettings for TopKConfig {
    fn validate(&self, code: usize) -> Result<(), ConfigError> {
        let k = self.k;
        if k == 0 || k > code {
            return Err(ConfigError::new("k", format!("must be between 1 and the code width {code}, got {k}")));
        }
        if let Some(s) = self.k_start
            && (s < k || s > code)
        {
            return Err(ConfigError::new(
                "k_start",
                format!("must be between k = {k} and the code width {code}, got {s}"),
            ));
        }
        ConfigError::check_fraction("anneal", self.anneal)
    }

    fn init(&self, features: usize, code: usize, _activation: Activation, device: &Device) -> Bottleneck {
        let k_start = self.k_start.unwrap_or(code);
        Bottleneck::TopK(TopKBottleneck::new(features, code, self.k, k_start, self.anneal, device))
    }
}

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
}

impl BottleneckLayer for TopKBottleneck {
    /// The sparse code of each item, keeping `k_at(schedule)` units.
    fn forward(&self, features: Tensor<2>, schedule: Schedule) -> CodeOutput {
        CodeOutput::plain(keep_top_k(self.linear.forward(features), self.k_at(schedule)))
    }

    fn encode(&self, features: Tensor<2>) -> Tensor<2> {
        keep_top_k(self.linear.forward(features), self.k)
    }

    fn code_linear(&self) -> Option<&Linear> {
        Some(&self.linear)
    }

    fn recipe(&self) -> CodeRecipe<'_> {
        CodeRecipe {
            kind: "top_k",
            layers: vec![("linear", &self.linear)],
            activation: None,
            settings: vec![("k", self.k)],
            note: None,
            code: self.code_width(),
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    #[test]
    fn keeps_the_k_largest_and_anneals_k() {
        let device = Device::flex();
        let x = Tensor::<2>::from_data(TensorData::new(vec![0.5f32, -1.0, 3.0, 2.0], [1, 4]), &device);
        let kept: Vec<f32> = keep_top_k(x, 2).into_data().try_into_vec::<f32>().unwrap();
        assert_eq!(kept, [0.0, 0.0, 3.0, 2.0]);
        let b = TopKBottleneck::new(3, 10, 2, 10, 0.5, &device);
        assert_eq!((b.k_at(Schedule::at(0, 100)), b.k_at(Schedule::at(25, 100)), b.k_at(Schedule::END)), (10, 6, 2));
        assert_eq!(TopKConfig::new(11).validate(10).unwrap_err().key, "k");
        assert_eq!(TopKConfig { k_start: Some(1), ..TopKConfig::new(2) }.validate(10).unwrap_err().key, "k_start");
        assert!(TopKConfig::new(10).validate(10).is_ok());
    }
}

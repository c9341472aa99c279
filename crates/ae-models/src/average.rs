//! Weight averaging: an exponential moving average of a model's parameters over the optimizer's
//! steps (Polyak & Juditsky 1992, in the form of TensorFlow's `ExponentialMovingAverage`), kept
//! beside the model and used in its place for validation, testing and the saved model.
//!
//! At a constant learning rate the last step's weights carry the noise of the last minibatches;
//! their average over the last few hundred steps does not. After update `t` (from 1) the average
//! is `a_t = d_t a_{t-1} + (1 - d_t) w_t` with `d_t = min(decay, (1 + t) / (10 + t))` and
//! `a_1 = w_1`: the second term keeps the first updates from being dominated by the starting
//! weights, and `decay` bounds the horizon at about `1 / (1 - decay)` steps later on.
//!
//! [`crate::step::Optimizers::with_average`] attaches one to a training loop: every
//! [`crate::step::train_step`] then updates it after the optimizer steps.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::tensor::Tensor;

use crate::error::ConfigError;

/// The running average of a model's float parameters, keyed by [`ParamId`].
#[derive(Debug, Clone)]
pub struct WeightAverage {
    decay: f64,
    updates: u64,
    values: HashMap<ParamId, Tensor<1>>,
}

impl WeightAverage {
    /// An empty average with the given `decay` (in (0, 1); `ema_decay` names it in errors).
    pub fn new(decay: f64) -> Result<Self, ConfigError> {
        if !(decay > 0.0 && decay < 1.0) {
            return Err(ConfigError::new("ema_decay", format!("must be in (0, 1), got {decay}")));
        }
        Ok(Self { decay, updates: 0, values: HashMap::new() })
    }

    /// An average that continues from `averaged` (a model holding the averaged weights, e.g. read
    /// from a checkpoint) after `updates` updates.
    pub fn resume<M: Module>(decay: f64, averaged: &M, updates: u64) -> Result<Self, ConfigError> {
        let mut average = Self::new(decay)?;
        averaged.visit(&mut Collect(&mut average.values));
        average.updates = updates;
        Ok(average)
    }

    /// The configured decay (the upper bound of [`WeightAverage::decay_at`]).
    pub fn decay(&self) -> f64 {
        self.decay
    }

    /// Updates taken so far.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The weight the average keeps of itself at update `t` (from 1): `min(decay, (1+t)/(10+t))`.
    pub fn decay_at(&self, t: u64) -> f64 {
        self.decay.min((1 + t) as f64 / (10 + t) as f64)
    }

    /// Folds `model`'s current parameters into the average.
    pub fn update<M: Module>(&mut self, model: &M) {
        self.updates += 1;
        let mut current = HashMap::new();
        model.visit(&mut Collect(&mut current));
        let d = self.decay_at(self.updates);
        for (id, w) in current {
            let a = match self.values.remove(&id) {
                Some(a) if a.dims() == w.dims() => a.mul_scalar(d) + w.mul_scalar(1.0 - d),
                _ => w,
            };
            self.values.insert(id, a);
        }
    }

    /// `model` with every parameter the average holds replaced by its average (same ids, same
    /// shapes); parameters it has not seen are left as they are.
    pub fn apply<M: Module>(&self, model: M) -> M {
        model.map(&mut Replace(&self.values))
    }
}

/// Collects each float parameter, flattened and without autodiff (the average is no part of any
/// graph, and updating it pays no autodiff bookkeeping).
struct Collect<'a>(&'a mut HashMap<ParamId, Tensor<1>>);

impl ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.0.insert(param.id, value.reshape([n]));
    }
}

/// Puts the averaged values back into the parameters of the same ids.
struct Replace<'a>(&'a HashMap<ParamId, Tensor<1>>);

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(average) = self.0.get(&param.id) else {
            return param;
        };
        param.map(|value| {
            let shape = value.shape();
            if average.dims()[0] != shape.num_elements() {
                return value;
            }
            let averaged = average.clone().reshape(shape);
            match (value.is_autodiff(), value.is_require_grad()) {
                (true, true) => averaged.autodiff().require_grad(),
                (true, false) => averaged.autodiff(),
                _ => averaged,
            }
        })
    }
}

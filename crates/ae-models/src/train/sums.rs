//! Running sums of the loss and its named terms over the batches of an epoch.

use std::collections::BTreeMap;

use burn::tensor::Tensor;

use crate::objective::LossTerm;

/// Item-weighted sums of the loss and of every named term, kept on the device so that nothing
/// is read back per batch.
///
/// # Examples
///
/// ```
/// use ae_models::LossTerm;
/// use ae_models::train::LossSums;
/// use burn::tensor::{Device, Tensor};
///
/// let device = Device::flex();
/// let t = |v: f32| Tensor::<1>::from_floats([v], &device);
/// let mut sums = LossSums::default();
/// sums.add(&t(1.0), &[LossTerm::new("reconstruction", t(1.0))], 2); // a batch of 2 items
/// sums.add(&t(4.0), &[LossTerm::new("reconstruction", t(4.0))], 1); // a batch of 1 item
/// let (loss, terms) = sums.read(3);
/// assert_eq!(loss, 2.0); // (1 * 2 + 4 * 1) / 3
/// assert_eq!(terms["reconstruction"], 2.0);
/// ```
#[derive(Debug, Default)]
pub struct LossSums {
    loss: Option<Tensor<1>>,
    terms: Vec<(&'static str, Tensor<1>)>,
}

impl LossSums {
    /// Adds a batch of `rows` items whose mean loss is `loss` and mean terms are `terms`.
    pub fn add(&mut self, loss: &Tensor<1>, terms: &[LossTerm], rows: usize) {
        let w = rows as f64;
        let l = loss.clone().detach().mul_scalar(w);
        self.loss = Some(match self.loss.take() {
            Some(s) => s + l,
            None => l,
        });
        if self.terms.is_empty() {
            self.terms = terms.iter().map(|t| (t.name, t.value.clone().detach().mul_scalar(w))).collect();
        } else {
            for (s, t) in self.terms.iter_mut().zip(terms) {
                s.1 = s.1.clone() + t.value.clone().detach().mul_scalar(w);
            }
        }
    }

    /// The summed loss, read back to the host (0 before any batch).
    pub fn read_loss(&self) -> f64 {
        self.loss.as_ref().map(|l| l.clone().into_scalar::<f32>() as f64).unwrap_or(0.0)
    }

    /// The mean loss and mean terms over `n` items.
    pub fn read(&self, n: usize) -> (f64, BTreeMap<String, f64>) {
        let n = n.max(1) as f64;
        let terms =
            self.terms.iter().map(|(k, v)| (k.to_string(), v.clone().into_scalar::<f32>() as f64 / n)).collect();
        (self.read_loss() / n, terms)
    }
}

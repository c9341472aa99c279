//! Bernoulli negative log-likelihood `-sum_i [x_i ln p_i + (1 - x_i) ln(1 - p_i)]` per item
//! (nats); needs a sigmoid output and targets in [0, 1]. The same elementwise term as binary
//! cross-entropy, summed over an item's features instead of averaged.

use burn::tensor::Tensor;

use super::{Loss, bce};

/// Bernoulli negative log-likelihood.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct BernoulliLikelihood;

impl Loss for BernoulliLikelihood {
    fn name(&self) -> &'static str {
        "bernoulli"
    }

    fn elementwise(&self, logits: Tensor<2>, _reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        bce::from_logits(logits, target)
    }

    fn needs_unit_targets(&self) -> bool {
        true
    }

    fn is_likelihood(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_values::at;

    #[test]
    fn a_certain_pixel_costs_ln_2_at_logit_zero() {
        assert!((at(&BernoulliLikelihood, 0.0, 0.5, 1.0) - 2f64.ln()).abs() < 1e-6);
        assert!(BernoulliLikelihood.is_likelihood() && BernoulliLikelihood.needs_unit_targets());
    }
}

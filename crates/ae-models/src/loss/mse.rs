//! Mean squared error: `(y - x)^2` per element.

use burn::tensor::Tensor;

use super::Loss;

/// Mean squared error.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MseLoss;

impl Loss for MseLoss {
    fn name(&self) -> &'static str {
        "mse"
    }

    fn elementwise(&self, _logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        (reconstruction - target).square()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_values::at;

    #[test]
    fn squares_the_error() {
        assert!((at(&MseLoss, 0.0, 0.25, 1.0) - 0.5625).abs() < 1e-7);
    }
}

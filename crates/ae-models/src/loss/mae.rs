//! Mean absolute error: `|y - x|` per element.

use burn::tensor::Tensor;

use super::Loss;

/// Mean absolute error.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MaeLoss;

impl Loss for MaeLoss {
    fn name(&self) -> &'static str {
        "mae"
    }

    fn elementwise(&self, _logits: Tensor<2>, reconstruction: Tensor<2>, target: Tensor<2>) -> Tensor<2> {
        (reconstruction - target).abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loss::test_values::at;

    #[test]
    fn takes_the_absolute_error() {
        assert!((at(&MaeLoss, 0.0, 0.25, -1.0) - 1.25).abs() < 1e-7);
    }
}

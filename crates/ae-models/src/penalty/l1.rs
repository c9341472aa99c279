//! L1 activity: `weight * mean_batch(sum_j |h_j|)` on the code, pushing units to exactly zero.

use burn::tensor::Tensor;

use crate::objective::LossTerm;

/// The weighted L1 term of a batch of codes `[batch, code]`.
pub fn term(code: &Tensor<2>, weight: f64) -> LossTerm {
    LossTerm::new("l1", code.clone().abs().sum_dim(1).mean().mul_scalar(weight))
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::{Device, TensorData};

    #[test]
    fn sums_over_units_and_averages_over_items() {
        let code = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5, 0.5], [2, 2]), &Device::flex());
        let v: f32 = term(&code, 0.1).value.into_scalar();
        assert!((v - 0.1 * (3.0 + 1.0) / 2.0).abs() < 1e-7, "{v}");
    }
}

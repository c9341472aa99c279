//! The contractive penalty (Rifai et al. 2011), `weight * mean_batch(||J_f(x)||_F^2)`, and the
//! encoder's Jacobian `dcode/dinput` it needs, built explicitly (Burn's autodiff is first order, so
//! the penalty cannot differentiate a gradient).
//!
//! For a dense encoder `h_l = f_l(W_l h_{l-1} + b_l)` the Jacobian of each item is
//! `J = D_L W_L ... D_1 W_1`, with `D_l = diag(f_l'(pre_l))`. It is accumulated from the code side,
//! so the cost is about `code` forward passes, and every factor is a differentiable tensor: the
//! gradient of `||J||_F^2` with respect to the weights is exact.
//!
//! The contractive penalty only needs `||J||_F^2`, which [`encoder_jacobian_norm_squared`] gets
//! without ever forming the `[batch, code, input]` tensor: for one layer it is
//! `sum_j f'(pre_j)^2 ||W_j||^2`, and for deeper encoders the last factor is folded in through the
//! Gram matrix of the first layer's weights, `||S W_1^T||^2 = sum((S W_1^T W_1) * S)`. On MNIST
//! (784 inputs, 100 code units, batch 128) that is 13 thousand values a batch instead of
//! 10 million.

use burn::tensor::Tensor;

use crate::bottleneck::{Bottleneck, BottleneckConfig};
use crate::error::ConfigError;
use crate::network::{Encoder, NetworkConfig};
use crate::objective::LossTerm;

/// Checks that the model suits the penalty: a dense network without batch norm or dropout, and a
/// deterministic bottleneck (what the Jacobian is built for).
pub fn validate_model(network: &NetworkConfig, bottleneck: &BottleneckConfig) -> Result<(), ConfigError> {
    let NetworkConfig::Dense(dense) = network else {
        return Err(ConfigError::new(
            "",
            "the contractive penalty needs a dense network with a deterministic bottleneck",
        ));
    };
    if !matches!(bottleneck, BottleneckConfig::Deterministic(_)) {
        return Err(ConfigError::new(
            "",
            "the contractive penalty needs a dense network with a deterministic bottleneck",
        ));
    }
    if dense.batch_norm || dense.dropout.any() {
        return Err(ConfigError::new(
            "",
            "the contractive penalty's Jacobian is built for linear maps and activations: turn off network.batch_norm and network.dropout",
        ));
    }
    Ok(())
}

/// The weighted contractive term of a batch at `x`, or `None` when the model has no Jacobian
/// built for it (see [`validate_model`]).
pub fn term(encoder: &Encoder, bottleneck: &Bottleneck, x: Tensor<2>, weight: f64) -> Option<LossTerm> {
    let norms = encoder_jacobian_norm_squared(encoder, bottleneck, x)?;
    Some(LossTerm::new("contractive", norms.mean().mul_scalar(weight)))
}

/// The Jacobian of the code with respect to the input, `[batch, code, input]`, or `None` unless
/// `encoder` is dense and `bottleneck` deterministic. (`Autoencoder::encoder_jacobian` asks it of
/// a whole model.)
pub fn encoder_jacobian(encoder: &Encoder, bottleneck: &Bottleneck, x: Tensor<2>) -> Option<Tensor<3>> {
    let (layers, d_code, w_code) = factors(encoder, bottleneck, x)?;
    let mut j = d_code.unsqueeze_dim::<3>(2) * w_code.transpose().unsqueeze_dim::<3>(0); // [n, c, f]
    for (w, d) in layers.into_iter().rev() {
        j = times_layer(j, w, d);
    }
    Some(j)
}

/// `||J||_F^2` of each item, `[batch]`, computed without forming `J` (see the module docs);
/// `None` when [`encoder_jacobian`] would be `None`.
pub fn encoder_jacobian_norm_squared(encoder: &Encoder, bottleneck: &Bottleneck, x: Tensor<2>) -> Option<Tensor<1>> {
    let (mut layers, d_code, w_code) = factors(encoder, bottleneck, x)?;
    let n = d_code.dims()[0];
    let Some((w_first, d_first)) = (!layers.is_empty()).then(|| layers.remove(0)) else {
        // One layer: J = D W^T, so ||J||^2 = sum_j d_j^2 ||column j of W||^2.
        let col_sq = w_code.square().sum_dim(0); // [1, c]
        return Some((d_code.square() * col_sq).sum_dim(1).reshape([n]));
    };
    let mut j = d_code.unsqueeze_dim::<3>(2) * w_code.transpose().unsqueeze_dim::<3>(0); // [n, c, f]
    for (w, d) in layers.into_iter().rev() {
        j = times_layer(j, w, d);
    }
    // The first layer: S = J D_1 ([n, c, f1]); ||S W_1^T||^2 = sum((S G) * S) with G = W_1^T W_1.
    let [_, c, f1] = j.dims();
    let s = (j * d_first.unsqueeze_dim::<3>(1)).reshape([n * c, f1]);
    let gram = w_first.clone().transpose().matmul(w_first); // [f1, f1]
    Some((s.clone().matmul(gram) * s).reshape([n, c * f1]).sum_dim(1).reshape([n]))
}

/// The factors of the Jacobian: each hidden layer's weight `[in, out]` and activation derivative
/// `[n, out]` (input side first), the code layer's derivative `[n, c]` and weight `[f, c]`.
#[allow(clippy::type_complexity)]
fn factors(
    encoder: &Encoder,
    bottleneck: &Bottleneck,
    x: Tensor<2>,
) -> Option<(Vec<(Tensor<2>, Tensor<2>)>, Tensor<2>, Tensor<2>)> {
    let Encoder::Dense(enc) = encoder else {
        return None;
    };
    let Bottleneck::Deterministic(code_layer) = bottleneck else {
        return None;
    };
    let mut layers = Vec::with_capacity(enc.layers.len());
    let mut h = x;
    for layer in &enc.layers {
        let pre = layer.forward(h);
        h = enc.activation.apply(pre.clone());
        layers.push((layer.weight.val(), enc.activation.derivative(pre)));
    }
    let pre_code = code_layer.linear.forward(h);
    Some((layers, code_layer.activation.derivative(pre_code), code_layer.linear.weight.val()))
}

/// `J D W^T`: one more layer of the chain, `[n, c, f]` to `[n, c, f_prev]`. (Burn's `Linear`
/// stores `W` as `[in, out]`, so `dy/dx = W^T`.)
fn times_layer(j: Tensor<3>, w: Tensor<2>, d: Tensor<2>) -> Tensor<3> {
    let [n, c, f] = j.dims();
    let f_prev = w.dims()[0];
    (j * d.unsqueeze_dim::<3>(1)).reshape([n * c, f]).matmul(w.transpose()).reshape([n, c, f_prev])
}

/// `||J||_F^2` of each item: `[batch]`.
pub fn frobenius_squared(j: Tensor<3>) -> Tensor<1> {
    let n = j.dims()[0];
    j.square().reshape([n as i64, -1]).sum_dim(1).reshape([n])
}

//! The encoder's Jacobian `dcode/dinput`, built explicitly (Burn's autodiff is first order, so the
//! contractive penalty cannot differentiate a gradient).
//!
//! For a dense encoder `h_l = f_l(W_l h_{l-1} + b_l)` the Jacobian of each item is
//! `J = D_L W_L ... D_1 W_1`, with `D_l = diag(f_l'(pre_l))`. It is accumulated from the code side,
//! so the cost is about `code` forward passes, and every factor is a differentiable tensor: the
//! gradient of `||J||_F^2` with respect to the weights is exact.

use burn::tensor::Tensor;

use crate::Autoencoder;
use crate::bottleneck::Bottleneck;
use crate::network::Encoder;

/// The Jacobian of the code with respect to the input, `[batch, code, input]`, or `None` when the
/// model is not a dense encoder with a deterministic code.
pub fn encoder_jacobian(model: &Autoencoder, x: Tensor<2>) -> Option<Tensor<3>> {
    let Encoder::Dense(enc) = &model.encoder else {
        return None;
    };
    let Bottleneck::Deterministic(code_layer) = &model.bottleneck else {
        return None;
    };
    let n = x.dims()[0];
    // Forward pass keeping each layer's pre-activation.
    let mut pres = Vec::with_capacity(enc.layers.len());
    let mut h = x;
    for layer in &enc.layers {
        let pre = layer.forward(h);
        h = enc.activation.apply(pre.clone());
        pres.push(pre);
    }
    let pre_code = code_layer.linear.forward(h);
    let c = pre_code.dims()[1];
    // J = D_code W_code^T, then right-multiplied by D_l W_l^T down to the input.
    // (Burn's Linear stores W as [in, out]: dy/dx = W^T.)
    let d_code = code_layer.activation.derivative(pre_code).unsqueeze_dim::<3>(2); // [n, c, 1]
    let w = code_layer.linear.weight.val().transpose().unsqueeze_dim::<3>(0); // [1, c, f]
    let mut j = d_code * w; // [n, c, f]
    for (layer, pre) in enc.layers.iter().zip(pres).rev() {
        let f = pre.dims()[1];
        let scaled = j * enc.activation.derivative(pre).unsqueeze_dim::<3>(1); // [n, c, f]
        let w_t = layer.weight.val().transpose(); // [f, f_prev]
        let f_prev = w_t.dims()[1];
        j = scaled.reshape([n * c, f]).matmul(w_t).reshape([n, c, f_prev]);
    }
    Some(j)
}

/// `||J||_F^2` of each item: `[batch]`.
pub fn frobenius_squared(j: Tensor<3>) -> Tensor<1> {
    let n = j.dims()[0];
    j.square().reshape([n as i64, -1]).sum_dim(1).reshape([n])
}

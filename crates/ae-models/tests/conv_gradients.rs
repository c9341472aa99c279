//! The convolutions and convolution gradients of the CPU backend (the patched burn-flex computes
//! them as long matrix products, see vendor/burn-flex/PATCHED.md) against sums written out by
//! hand, over strides, paddings, dilations, groups and odd sizes, for convolutions and
//! transposed ones.

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};

/// One case: batch, channels in/out, input size, kernel, stride, padding, dilation, groups.
struct Case {
    n: usize,
    c_in: usize,
    c_out: usize,
    size: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
}

/// (n, c_in, c_out, size, kernel, stride, padding, dilation, groups)
type Row = (usize, usize, usize, [usize; 2], [usize; 2], [usize; 2], [usize; 2], [usize; 2], usize);

const ROWS: [Row; 6] = [
    (4, 3, 8, [9, 7], [3, 3], [2, 2], [1, 1], [1, 1], 1),
    (2, 4, 6, [8, 8], [4, 4], [2, 2], [1, 1], [1, 1], 2),
    (3, 5, 2, [6, 10], [3, 2], [1, 3], [0, 2], [2, 1], 1),
    (1, 2, 3, [5, 5], [1, 1], [1, 1], [0, 0], [1, 1], 1),
    (5, 6, 6, [4, 4], [3, 3], [1, 1], [1, 1], [1, 1], 6),
    (2, 3, 4, [3, 3], [5, 5], [1, 1], [2, 2], [1, 1], 1),
];

fn cases() -> impl Iterator<Item = (usize, Case)> {
    ROWS.iter().enumerate().map(|(i, &(n, c_in, c_out, size, kernel, stride, padding, dilation, groups))| {
        (i, Case { n, c_in, c_out, size, kernel, stride, padding, dilation, groups })
    })
}

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()
}

/// Calls `f(b, a, w)` for every term of the convolution sum, written out: `b` indexes an element
/// `[n, cb, y, x]` of a tensor of `b_dims`, `a` the element of a tensor of `a_dims` it meets
/// through tap `(cl, i, j)` (`[n, group(cb) * ca_per_group + cl, y * s + i * d - p, ...]`, skipped
/// outside), and `w` the flat index `[cb, cl, i, j]` of a weight `[cb, ca_per_group, kh, kw]`.
/// Convolution: b is the output, a the input; transposed convolution: b is the input, a the output.
fn each_term(c: &Case, b_dims: [usize; 4], a_dims: [usize; 4], mut f: impl FnMut(usize, usize, usize)) {
    let (cb_g, ca_g) = (b_dims[1] / c.groups, a_dims[1] / c.groups);
    let [kh, kw] = c.kernel;
    let flat = |d: [usize; 4], i: [usize; 4]| ((i[0] * d[1] + i[1]) * d[2] + i[2]) * d[3] + i[3];
    for n in 0..b_dims[0] {
        for cb in 0..b_dims[1] {
            for y in 0..b_dims[2] {
                for x in 0..b_dims[3] {
                    for cl in 0..ca_g {
                        for i in 0..kh {
                            for j in 0..kw {
                                let r = (y * c.stride[0] + i * c.dilation[0]) as isize - c.padding[0] as isize;
                                let s = (x * c.stride[1] + j * c.dilation[1]) as isize - c.padding[1] as isize;
                                if r < 0 || s < 0 || r as usize >= a_dims[2] || s as usize >= a_dims[3] {
                                    continue;
                                }
                                let a = flat(a_dims, [n, (cb / cb_g) * ca_g + cl, r as usize, s as usize]);
                                f(flat(b_dims, [n, cb, y, x]), a, flat([b_dims[1], ca_g, kh, kw], [cb, cl, i, j]));
                            }
                        }
                    }
                }
            }
        }
    }
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * scale, "{what}: element {k}: {g} vs {w}");
    }
}

fn normal<const D: usize>(shape: [usize; D], d: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), d)
}

#[test]
fn conv2d_outputs_and_weight_gradients_match_the_sums_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(11);
    for (k, c) in cases() {
        let x_dims = [c.n, c.c_in, c.size[0], c.size[1]];
        let x = normal(x_dims, &d);
        let w = normal([c.c_out, c.c_in / c.groups, c.kernel[0], c.kernel[1]], &d).require_grad();
        let bias = normal([c.c_out], &d);
        let options = ConvOptions::new(c.stride, c.padding, c.dilation, c.groups);
        let y = conv2d(x.clone(), w.clone(), Some(bias.clone()), options);
        let y_dims = y.dims();
        let r = normal(y_dims, &d);
        let grads = (y.clone() * r.clone()).sum().backward();
        let (xv, wv, bv, rv) = (values(x.inner()), values(w.clone().inner()), values(bias.inner()), values(r.inner()));

        let mut out = vec![0.0; y_dims.iter().product()];
        let mut dw = vec![0.0; wv.len()];
        each_term(&c, y_dims, x_dims, |yi, xi, wi| {
            out[yi] += wv[wi] * xv[xi];
            dw[wi] += rv[yi] * xv[xi];
        });
        let plane = y_dims[2] * y_dims[3];
        for (i, o) in out.iter_mut().enumerate() {
            *o += bv[(i / plane) % c.c_out];
        }
        assert_close(&values(y.inner()), &out, &format!("conv2d output, case {k}"));
        assert_close(&values(w.grad(&grads).unwrap()), &dw, &format!("conv2d weight gradient, case {k}"));
    }
}

#[test]
fn conv_transpose2d_weight_and_input_gradients_match_the_sums_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(12);
    for (k, c) in cases() {
        // c_in channels to c_out, weights [c_in, c_out / groups, kh, kw].
        let x_dims = [c.n, c.c_in, c.size[0], c.size[1]];
        let x = normal(x_dims, &d).require_grad();
        let w = normal([c.c_in, c.c_out / c.groups, c.kernel[0], c.kernel[1]], &d).require_grad();
        let padding_out = [(c.stride[0] > 1) as usize, 0];
        let options = ConvTransposeOptions::new(c.stride, c.padding, padding_out, c.dilation, c.groups);
        let y = conv_transpose2d(x.clone(), w.clone(), None, options);
        let y_dims = y.dims();
        let r = normal(y_dims, &d);
        let grads = (y * r.clone()).sum().backward();
        let (xv, wv, rv) = (values(x.clone().inner()), values(w.clone().inner()), values(r.inner()));

        let mut dw = vec![0.0; wv.len()];
        let mut dx = vec![0.0; xv.len()];
        each_term(&c, x_dims, y_dims, |xi, yi, wi| {
            dw[wi] += xv[xi] * rv[yi];
            dx[xi] += rv[yi] * wv[wi];
        });
        assert_close(&values(w.grad(&grads).unwrap()), &dw, &format!("conv_transpose2d weight gradient, case {k}"));
        assert_close(&values(x.grad(&grads).unwrap()), &dx, &format!("conv_transpose2d input gradient, case {k}"));
    }
}

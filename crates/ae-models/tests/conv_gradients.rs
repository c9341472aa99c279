//! Convolutions and their gradients against sums written out by hand, on the CPU backend and on
//! wgpu (lavapipe in CI: `AE_REQUIRE_WGPU=1` makes a missing adapter fail instead of skipping),
//! over strides, paddings, output paddings, dilations, groups up to depthwise and odd sizes.
//!
//! The gradients that matter are those the patched crates compute: burn-flex's convolution
//! weight gradient (one column matrix and product, `vendor/burn-flex`) and every backend's
//! transposed-convolution weight gradient, which the patched burn-backend computes as a
//! convolution's weight gradient (`vendor/burn-backend/PATCHED.md`); that one is also checked
//! against Burn's stock formula (a convolution over the batch with batch and channels swapped,
//! written here with Burn's public ops). The decoder's other route, nearest upsampling then a
//! convolution, is checked the same way.

mod common;

use burn::tensor::module::{conv_transpose2d, conv2d, interpolate};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions, InterpolateMode, InterpolateOptions};
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

const ROWS: [Row; 17] = [
    (4, 3, 8, [9, 7], [3, 3], [2, 2], [1, 1], [1, 1], 1),
    (2, 4, 6, [8, 8], [4, 4], [2, 2], [1, 1], [1, 1], 2),
    (3, 5, 2, [6, 10], [3, 2], [1, 3], [0, 2], [2, 1], 1),
    (1, 2, 3, [5, 5], [1, 1], [1, 1], [0, 0], [1, 1], 1),
    (5, 6, 6, [4, 4], [3, 3], [1, 1], [1, 1], [1, 1], 6),
    (2, 3, 4, [3, 3], [5, 5], [1, 1], [2, 2], [1, 1], 1),
    // The decoders' shapes: kernel 4 stride 2 padding 1 (doubles a map), kernel 3 stride 2
    // padding 1 (doubles it with output padding), kernel 3 stride 1 padding 1 (full resolution).
    (3, 8, 4, [4, 4], [4, 4], [2, 2], [1, 1], [1, 1], 1),
    (2, 6, 3, [5, 4], [3, 3], [2, 2], [1, 1], [1, 1], 1),
    (2, 4, 4, [6, 6], [3, 3], [1, 1], [1, 1], [1, 1], 1),
    // Depthwise with stride 2 and kernel 4.
    (2, 4, 4, [5, 5], [4, 4], [2, 2], [1, 1], [1, 1], 4),
    // Wide maps with 16 channels, which burn-flex computes as one product per tap over shifted
    // views of the input (no column matrix): stride 1, stride 2 with odd sizes, dilation 2.
    (2, 16, 16, [16, 18], [3, 3], [1, 1], [1, 1], [1, 1], 1),
    (2, 16, 16, [33, 34], [3, 3], [2, 2], [1, 1], [1, 1], 1),
    (1, 16, 16, [9, 40], [3, 3], [1, 1], [2, 2], [2, 2], 1),
    // Small maps with 16 channels or more, whose weight gradients and transposed convolutions
    // burn-flex computes from position-major column matrices: the decoder's doubling, odd
    // channel counts and sizes, a last row no tap reads, dilation along the width, and two
    // groups (which keep the channel-major columns).
    (3, 16, 24, [4, 4], [4, 4], [2, 2], [1, 1], [1, 1], 1),
    (2, 17, 19, [7, 5], [3, 3], [2, 2], [1, 1], [1, 1], 1),
    (2, 16, 20, [10, 9], [3, 2], [2, 1], [0, 1], [1, 2], 1),
    (2, 32, 32, [6, 6], [3, 3], [2, 2], [1, 1], [1, 1], 2),
];

/// The rows run on wgpu as well: every kernel, stride, output padding and group count above, but
/// fewer shapes, since each new shape compiles kernels and a software adapter compiles slowly.
const WGPU_ROWS: [usize; 7] = [1, 2, 4, 6, 7, 8, 9];

/// The cases to run on device `name`.
fn cases(name: &str) -> impl Iterator<Item = (usize, Case)> {
    let all = name == "flex";
    ROWS.iter().enumerate().filter(move |(i, _)| all || WGPU_ROWS.contains(i)).map(
        |(i, &(n, c_in, c_out, size, kernel, stride, padding, dilation, groups))| {
            (i, Case { n, c_in, c_out, size, kernel, stride, padding, dilation, groups })
        },
    )
}

/// The devices to check: flex, and wgpu where it is built in and has an adapter.
fn devices() -> Vec<(&'static str, Device)> {
    let mut v = vec![("flex", Device::flex().autodiff())];
    if let Some(wgpu) = common::wgpu_device() {
        v.push(("wgpu", wgpu));
    }
    v
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

fn flat(d: [usize; 4], i: [usize; 4]) -> usize {
    ((i[0] * d[1] + i[1]) * d[2] + i[2]) * d[3] + i[3]
}

/// Every element within 1e-5 of the largest magnitude in `want`.
fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-5 * scale, "{what}: element {k}: {g} vs {w} (scale {scale})");
    }
}

fn normal<const D: usize>(shape: [usize; D], d: &Device) -> Tensor<D> {
    Tensor::random(shape, Distribution::Normal(0.0, 1.0), d)
}

/// The bias gradient by hand: the output gradient `r` (`[n, c, h, w]`) summed per channel.
fn bias_gradient(r: &[f64], dims: [usize; 4]) -> Vec<f64> {
    let plane = dims[2] * dims[3];
    let mut db = vec![0.0; dims[1]];
    for (i, v) in r.iter().enumerate() {
        db[(i / plane) % dims[1]] += v;
    }
    db
}

#[test]
fn conv2d_outputs_and_weight_gradients_match_the_sums_by_hand() {
    for (name, d) in devices() {
        d.seed(11);
        for (k, c) in cases(name) {
            let x_dims = [c.n, c.c_in, c.size[0], c.size[1]];
            let x = normal(x_dims, &d).require_grad();
            let w = normal([c.c_out, c.c_in / c.groups, c.kernel[0], c.kernel[1]], &d).require_grad();
            let bias = normal([c.c_out], &d).require_grad();
            let options = ConvOptions::new(c.stride, c.padding, c.dilation, c.groups);
            let y = conv2d(x.clone(), w.clone(), Some(bias.clone()), options);
            let y_dims = y.dims();
            let r = normal(y_dims, &d);
            let grads = (y.clone() * r.clone()).sum().backward();
            let (xv, wv, bv, rv) =
                (values(x.clone().inner()), values(w.clone().inner()), values(bias.clone().inner()), values(r.inner()));

            let mut out = vec![0.0; y_dims.iter().product()];
            let mut dw = vec![0.0; wv.len()];
            let mut dx = vec![0.0; xv.len()];
            each_term(&c, y_dims, x_dims, |yi, xi, wi| {
                out[yi] += wv[wi] * xv[xi];
                dw[wi] += rv[yi] * xv[xi];
                dx[xi] += rv[yi] * wv[wi];
            });
            let plane = y_dims[2] * y_dims[3];
            for (i, o) in out.iter_mut().enumerate() {
                *o += bv[(i / plane) % c.c_out];
            }
            assert_close(&values(y.inner()), &out, &format!("{name}: conv2d output, case {k}"));
            assert_close(&values(w.grad(&grads).unwrap()), &dw, &format!("{name}: conv2d weight gradient, case {k}"));
            assert_close(&values(x.grad(&grads).unwrap()), &dx, &format!("{name}: conv2d input gradient, case {k}"));
            let db = bias_gradient(&rv, y_dims);
            assert_close(&values(bias.grad(&grads).unwrap()), &db, &format!("{name}: conv2d bias gradient, case {k}"));
        }
    }
}

/// Burn's stock transposed-convolution weight gradient (burn-backend 0.22.1's generic one,
/// before the patch): per group, a convolution of the output gradient with the input, batch and
/// channels swapped, cut to the weight's size.
fn stock_weight_gradient(x: Tensor<4>, dy: Tensor<4>, w_dims: [usize; 4], c: &Case) -> Tensor<4> {
    let (cin_g, cout_g) = (c.c_in / c.groups, c.c_out / c.groups);
    let per_group: Vec<Tensor<4>> = (0..c.groups)
        .map(|g| {
            let xg = x.clone().narrow(1, g * cin_g, cin_g).swap_dims(0, 1);
            let dyg = dy.clone().narrow(1, g * cout_g, cout_g).swap_dims(0, 1);
            let options = ConvOptions::new(c.dilation, c.padding, c.stride, 1);
            let wg = conv2d(dyg, xg, None, options).swap_dims(0, 1);
            wg.slice([0..cin_g, 0..cout_g, 0..w_dims[2], 0..w_dims[3]])
        })
        .collect();
    Tensor::cat(per_group, 0)
}

#[test]
fn conv_transpose2d_outputs_and_gradients_match_the_sums_by_hand_and_burns_stock_formula() {
    for (name, d) in devices() {
        d.seed(12);
        for (k, c) in cases(name) {
            // c_in channels to c_out, weights [c_in, c_out / groups, kh, kw].
            let x_dims = [c.n, c.c_in, c.size[0], c.size[1]];
            let x = normal(x_dims, &d).require_grad();
            let w_dims = [c.c_in, c.c_out / c.groups, c.kernel[0], c.kernel[1]];
            let w = normal(w_dims, &d).require_grad();
            // Output padding where the stride allows it (< stride or < dilation).
            let op = |a: usize| (c.stride[a] > 1 || c.dilation[a] > 1) as usize;
            let options = ConvTransposeOptions::new(c.stride, c.padding, [op(0), 0], c.dilation, c.groups);
            let bias = normal([c.c_out], &d).require_grad();
            let y = conv_transpose2d(x.clone(), w.clone(), Some(bias.clone()), options);
            let y_dims = y.dims();
            let r = normal(y_dims, &d);
            let grads = (y.clone() * r.clone()).sum().backward();
            let (xv, wv, rv) = (values(x.clone().inner()), values(w.clone().inner()), values(r.clone().inner()));
            let bv = values(bias.clone().inner());

            let mut out = vec![0.0; y_dims.iter().product()];
            let mut dw = vec![0.0; wv.len()];
            let mut dx = vec![0.0; xv.len()];
            each_term(&c, x_dims, y_dims, |xi, yi, wi| {
                out[yi] += xv[xi] * wv[wi];
                dw[wi] += xv[xi] * rv[yi];
                dx[xi] += rv[yi] * wv[wi];
            });
            let plane = y_dims[2] * y_dims[3];
            for (i, o) in out.iter_mut().enumerate() {
                *o += bv[(i / plane) % c.c_out];
            }
            assert_close(&values(y.inner()), &out, &format!("{name}: conv_transpose2d output, case {k}"));
            let got = values(w.grad(&grads).unwrap());
            let what = format!("{name}: conv_transpose2d weight gradient, case {k}");
            assert_close(&got, &dw, &what);
            let stock = values(stock_weight_gradient(x.clone().inner(), r.inner(), w_dims, &c));
            assert_close(&got, &stock, &format!("{what}, against Burn's stock formula"));
            let what = format!("{name}: conv_transpose2d input gradient, case {k}");
            assert_close(&values(x.grad(&grads).unwrap()), &dx, &what);
            let db = bias_gradient(&rv, y_dims);
            let what = format!("{name}: conv_transpose2d bias gradient, case {k}");
            assert_close(&values(bias.grad(&grads).unwrap()), &db, &what);
        }
    }
}

#[test]
fn nearest_upsampling_then_conv2d_gradients_match_the_sums_by_hand() {
    // The `upsampling = "upsample"` decoder layer: nearest upsampling to a size, then a stride-1
    // convolution with "same" padding. Source of output row o: floor(o * in / out).
    let rows = [(2, 4, 3, [3, 3], [6, 6], 3), (2, 3, 2, [4, 5], [8, 9], 3), (1, 2, 4, [2, 2], [4, 4], 1)];
    for (name, d) in devices() {
        d.seed(13);
        for (k, &(n, c_in, c_out, small, big, kernel)) in
            rows.iter().enumerate().take(if name == "flex" { 3 } else { 2 })
        {
            let x = normal([n, c_in, small[0], small[1]], &d).require_grad();
            let w = normal([c_out, c_in, kernel, kernel], &d).require_grad();
            let up = interpolate(x.clone(), InterpolateOptions::new(InterpolateMode::Nearest).with_output_size(big));
            let pad = kernel / 2;
            let y = conv2d(up, w.clone(), None, ConvOptions::new([1, 1], [pad, pad], [1, 1], 1));
            let y_dims = y.dims();
            assert_eq!(y_dims, [n, c_out, big[0], big[1]]);
            let r = normal(y_dims, &d);
            let grads = (y * r.clone()).sum().backward();
            let (xv, wv, rv) = (values(x.clone().inner()), values(w.clone().inner()), values(r.inner()));

            let src = |o: usize, a: usize| o * small[a] / big[a];
            let up_dims = [n, c_in, big[0], big[1]];
            let mut upv = vec![0.0; up_dims.iter().product()];
            for b in 0..n {
                for ch in 0..c_in {
                    for yy in 0..big[0] {
                        for xx in 0..big[1] {
                            let from = flat([n, c_in, small[0], small[1]], [b, ch, src(yy, 0), src(xx, 1)]);
                            upv[flat(up_dims, [b, ch, yy, xx])] = xv[from];
                        }
                    }
                }
            }
            let c = Case {
                n,
                c_in,
                c_out,
                size: big,
                kernel: [kernel, kernel],
                stride: [1, 1],
                padding: [pad, pad],
                dilation: [1, 1],
                groups: 1,
            };
            let mut dw = vec![0.0; wv.len()];
            let mut dup = vec![0.0; upv.len()];
            each_term(&c, y_dims, up_dims, |yi, ui, wi| {
                dw[wi] += rv[yi] * upv[ui];
                dup[ui] += rv[yi] * wv[wi];
            });
            // The upsampling's gradient sums each source's copies.
            let mut dx = vec![0.0; xv.len()];
            for b in 0..n {
                for ch in 0..c_in {
                    for yy in 0..big[0] {
                        for xx in 0..big[1] {
                            let to = flat([n, c_in, small[0], small[1]], [b, ch, src(yy, 0), src(xx, 1)]);
                            dx[to] += dup[flat(up_dims, [b, ch, yy, xx])];
                        }
                    }
                }
            }
            assert_close(
                &values(w.grad(&grads).unwrap()),
                &dw,
                &format!("{name}: upsample+conv weight gradient, case {k}"),
            );
            assert_close(
                &values(x.grad(&grads).unwrap()),
                &dx,
                &format!("{name}: upsample+conv input gradient, case {k}"),
            );
        }
    }
}

//! The convolutions and convolution weight gradients of the CPU backend (the patched burn-flex computes them as one
//! matrix product, see vendor/burn-flex/PATCHED.md) against sums written out by hand, over
//! strides, paddings, dilations, groups and odd sizes, for convolutions and transposed ones.

use burn::tensor::module::{conv_transpose2d, conv2d};
use burn::tensor::ops::{ConvOptions, ConvTransposeOptions};
use burn::tensor::{Device, Distribution, Tensor};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f64> {
    t.into_data().convert::<f64>().try_into_vec::<f64>().unwrap()
}

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

const CASES: [Case; 6] = [
    Case {
        n: 4,
        c_in: 3,
        c_out: 8,
        size: [9, 7],
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 1,
    },
    Case {
        n: 2,
        c_in: 4,
        c_out: 6,
        size: [8, 8],
        kernel: [4, 4],
        stride: [2, 2],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 2,
    },
    Case {
        n: 3,
        c_in: 5,
        c_out: 2,
        size: [6, 10],
        kernel: [3, 2],
        stride: [1, 3],
        padding: [0, 2],
        dilation: [2, 1],
        groups: 1,
    },
    Case {
        n: 1,
        c_in: 2,
        c_out: 3,
        size: [5, 5],
        kernel: [1, 1],
        stride: [1, 1],
        padding: [0, 0],
        dilation: [1, 1],
        groups: 1,
    },
    Case {
        n: 5,
        c_in: 6,
        c_out: 6,
        size: [4, 4],
        kernel: [3, 3],
        stride: [1, 1],
        padding: [1, 1],
        dilation: [1, 1],
        groups: 6,
    },
    Case {
        n: 2,
        c_in: 3,
        c_out: 4,
        size: [3, 3],
        kernel: [5, 5],
        stride: [1, 1],
        padding: [2, 2],
        dilation: [1, 1],
        groups: 1,
    },
];

fn at(v: &[f64], dims: [usize; 4], idx: [isize; 4]) -> f64 {
    if idx.iter().zip(dims).any(|(&i, d)| i < 0 || i as usize >= d) {
        return 0.0;
    }
    let i = idx.map(|i| i as usize);
    v[((i[0] * dims[1] + i[1]) * dims[2] + i[2]) * dims[3] + i[3]]
}

fn assert_close(got: &[f64], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    let scale = want.iter().fold(1e-3f64, |m, v| m.max(v.abs()));
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!((g - w).abs() <= 1e-4 * scale, "{what}: element {k}: {g} vs {w}");
    }
}

#[test]
fn conv2d_weight_gradients_match_the_sum_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(11);
    for (ci, c) in CASES.iter().enumerate() {
        let x = Tensor::<4>::random([c.n, c.c_in, c.size[0], c.size[1]], Distribution::Normal(0.0, 1.0), &d);
        let wshape = [c.c_out, c.c_in / c.groups, c.kernel[0], c.kernel[1]];
        let w = Tensor::<4>::random(wshape, Distribution::Normal(0.0, 1.0), &d).require_grad();
        let options = ConvOptions::new(c.stride, c.padding, c.dilation, c.groups);
        let y = conv2d(x.clone(), w.clone(), None, options);
        let ydims = y.dims();
        let r = Tensor::<4>::random(ydims, Distribution::Normal(0.0, 1.0), &d);
        let grads = (y * r.clone()).sum().backward();
        let got = values(w.grad(&grads).unwrap());
        let (xv, rv, xdims) = (values(x.inner()), values(r.inner()), [c.n, c.c_in, c.size[0], c.size[1]]);
        let (cig, cog) = (c.c_in / c.groups, c.c_out / c.groups);
        let mut want = vec![0.0; got.len()];
        for co in 0..c.c_out {
            for cl in 0..cig {
                for i in 0..c.kernel[0] {
                    for j in 0..c.kernel[1] {
                        let mut sum = 0.0;
                        for n in 0..c.n {
                            for ho in 0..ydims[2] {
                                for wo in 0..ydims[3] {
                                    let row = (ho * c.stride[0] + i * c.dilation[0]) as isize - c.padding[0] as isize;
                                    let col = (wo * c.stride[1] + j * c.dilation[1]) as isize - c.padding[1] as isize;
                                    let xval = at(&xv, xdims, [n as isize, ((co / cog) * cig + cl) as isize, row, col]);
                                    sum += rv[((n * c.c_out + co) * ydims[2] + ho) * ydims[3] + wo] * xval;
                                }
                            }
                        }
                        want[((co * cig + cl) * c.kernel[0] + i) * c.kernel[1] + j] = sum;
                    }
                }
            }
        }
        assert_close(&got, &want, &format!("conv2d case {ci}"));
    }
}

#[test]
fn conv_transpose2d_weight_gradients_match_the_sum_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(12);
    for (ci, c) in CASES.iter().enumerate() {
        // The transposed convolution maps c_in channels to c_out with weights [c_in, c_out / groups, kh, kw].
        let x = Tensor::<4>::random([c.n, c.c_in, c.size[0], c.size[1]], Distribution::Normal(0.0, 1.0), &d);
        let wshape = [c.c_in, c.c_out / c.groups, c.kernel[0], c.kernel[1]];
        let w = Tensor::<4>::random(wshape, Distribution::Normal(0.0, 1.0), &d).require_grad();
        let padding_out = [(c.stride[0] > 1) as usize, 0];
        let options = ConvTransposeOptions::new(c.stride, c.padding, padding_out, c.dilation, c.groups);
        let y = conv_transpose2d(x.clone(), w.clone(), None, options);
        let ydims = y.dims();
        let r = Tensor::<4>::random(ydims, Distribution::Normal(0.0, 1.0), &d);
        let grads = (y * r.clone()).sum().backward();
        let got = values(w.grad(&grads).unwrap());
        let (xv, rv) = (values(x.inner()), values(r.inner()));
        let (cig, cog) = (c.c_in / c.groups, c.c_out / c.groups);
        let mut want = vec![0.0; got.len()];
        for cin in 0..c.c_in {
            for cl in 0..cog {
                for i in 0..c.kernel[0] {
                    for j in 0..c.kernel[1] {
                        let mut sum = 0.0;
                        for n in 0..c.n {
                            for h in 0..c.size[0] {
                                for wi in 0..c.size[1] {
                                    let row = (h * c.stride[0] + i * c.dilation[0]) as isize - c.padding[0] as isize;
                                    let col = (wi * c.stride[1] + j * c.dilation[1]) as isize - c.padding[1] as isize;
                                    let rval =
                                        at(&rv, ydims, [n as isize, ((cin / cig) * cog + cl) as isize, row, col]);
                                    sum += xv[((n * c.c_in + cin) * c.size[0] + h) * c.size[1] + wi] * rval;
                                }
                            }
                        }
                        want[((cin * cog + cl) * c.kernel[0] + i) * c.kernel[1] + j] = sum;
                    }
                }
            }
        }
        assert_close(&got, &want, &format!("conv_transpose2d case {ci}"));
    }
}

#[test]
fn conv2d_outputs_and_transposed_input_gradients_match_the_sums_by_hand() {
    let d = Device::flex().autodiff();
    d.seed(13);
    for (ci, c) in CASES.iter().enumerate() {
        // Forward: y[n, co, ho, wo] = bias[co] + sum of w[co, cl, i, j] * x[n, g * cig + cl, ...].
        let x = Tensor::<4>::random([c.n, c.c_in, c.size[0], c.size[1]], Distribution::Normal(0.0, 1.0), &d);
        let (cig, cog) = (c.c_in / c.groups, c.c_out / c.groups);
        let w = Tensor::<4>::random([c.c_out, cig, c.kernel[0], c.kernel[1]], Distribution::Normal(0.0, 1.0), &d);
        let b = Tensor::<1>::random([c.c_out], Distribution::Normal(0.0, 1.0), &d);
        let y =
            conv2d(x.clone(), w.clone(), Some(b.clone()), ConvOptions::new(c.stride, c.padding, c.dilation, c.groups));
        let yd = y.dims();
        let (xv, wv, bv, xdims) =
            (values(x.clone().inner()), values(w.inner()), values(b.inner()), [c.n, c.c_in, c.size[0], c.size[1]]);
        let mut want = vec![0.0; yd.iter().product()];
        for n in 0..c.n {
            for co in 0..c.c_out {
                for ho in 0..yd[2] {
                    for wo in 0..yd[3] {
                        let mut sum = bv[co];
                        for cl in 0..cig {
                            for i in 0..c.kernel[0] {
                                for j in 0..c.kernel[1] {
                                    let row = (ho * c.stride[0] + i * c.dilation[0]) as isize - c.padding[0] as isize;
                                    let col = (wo * c.stride[1] + j * c.dilation[1]) as isize - c.padding[1] as isize;
                                    let xval = at(&xv, xdims, [n as isize, ((co / cog) * cig + cl) as isize, row, col]);
                                    sum += wv[((co * cig + cl) * c.kernel[0] + i) * c.kernel[1] + j] * xval;
                                }
                            }
                        }
                        want[((n * c.c_out + co) * yd[2] + ho) * yd[3] + wo] = sum;
                    }
                }
            }
        }
        assert_close(&values(y), &want, &format!("conv2d forward case {ci}"));

        // The input gradient of a transposed convolution (computed by a convolution):
        // dx[n, cin, h, w] = sum of r[n, g * cog + cl, h * s + i * d - p, ...] * wt[cin, cl, i, j].
        let x = x.require_grad();
        let wt = Tensor::<4>::random([c.c_in, cog, c.kernel[0], c.kernel[1]], Distribution::Normal(0.0, 1.0), &d);
        let padding_out = [(c.stride[0] > 1) as usize, 0];
        let options = ConvTransposeOptions::new(c.stride, c.padding, padding_out, c.dilation, c.groups);
        let y = conv_transpose2d(x.clone(), wt.clone(), None, options);
        let yd = y.dims();
        let r = Tensor::<4>::random(yd, Distribution::Normal(0.0, 1.0), &d);
        let grads = (y * r.clone()).sum().backward();
        let got = values(x.grad(&grads).unwrap());
        let (rv, wtv) = (values(r.inner()), values(wt.inner()));
        let mut want = vec![0.0; got.len()];
        for n in 0..c.n {
            for cin in 0..c.c_in {
                for h in 0..c.size[0] {
                    for wi in 0..c.size[1] {
                        let mut sum = 0.0;
                        for cl in 0..cog {
                            for i in 0..c.kernel[0] {
                                for j in 0..c.kernel[1] {
                                    let row = (h * c.stride[0] + i * c.dilation[0]) as isize - c.padding[0] as isize;
                                    let col = (wi * c.stride[1] + j * c.dilation[1]) as isize - c.padding[1] as isize;
                                    let rval = at(&rv, yd, [n as isize, ((cin / cig) * cog + cl) as isize, row, col]);
                                    sum += rval * wtv[((cin * cog + cl) * c.kernel[0] + i) * c.kernel[1] + j];
                                }
                            }
                        }
                        want[((n * c.c_in + cin) * c.size[0] + h) * c.size[1] + wi] = sum;
                    }
                }
            }
        }
        assert_close(&got, &want, &format!("conv_transpose2d input gradient case {ci}"));
    }
}

//! 2-D convolutions (f32, one group) and the weight gradients of 2-D convolutions and transposed
//! convolutions as one matrix product per chunk of items.
//!
//! Patch of the autoencoder framework (see `PATCHED.md`). Burn's generic backward computes a
//! convolution's weight gradient as another convolution with batch and channels swapped: one
//! product per input channel whose output has only `kh * kw` positions and whose inner dimension
//! is `batch * positions`, each behind a full im2col. Here the gradient is
//!
//! `dW[cb, (ca, i, j)] = sum over (n, p) of b[n, cb, p] * a[n, ca, row(p, i), col(p, j)]`
//!
//! built as one column matrix of `a` (one row per `(ca, i, j)`, one column per `(n, p)`) and one
//! product with `b`: for a convolution `a` is the input and `b` the output gradient; for a
//! transposed convolution `a` is the output gradient and `b` the input (the transposed
//! convolution's geometry seen from its output is a plain convolution's). Batches are taken in
//! chunks that bound the column matrix, the products accumulating into the gradient.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_std::{Bytes, Shape, bf16, f16};

use crate::ops::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};

/// Most values of one column-matrix chunk (16 MiB of f32).
const CHUNK_VALUES: usize = 1 << 22;

/// Geometry of the gathered operand `a` relative to the positions of `b`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    /// Kernel height and width.
    pub kernel: [usize; 2],
    /// Stride between positions.
    pub stride: [usize; 2],
    /// Padding before the first row and column.
    pub padding: [usize; 2],
    /// Spacing of kernel taps.
    pub dilation: [usize; 2],
    /// Channel groups.
    pub groups: usize,
}

/// The gradient `[cb, ca / groups, kh, kw]` of `b` `[n, cb, hb, wb]` against the patches of `a`
/// `[n, ca, ha, wa]` (see the module docs), in the dtype of `a`.
pub(crate) fn weight_grad(a: FlexTensor, b: FlexTensor, g: Geometry) -> FlexTensor {
    match a.dtype() {
        DType::F32 => weight_grad_typed::<f32>(a, b, g, DType::F32),
        DType::F64 => weight_grad_typed::<f64>(a, b, g, DType::F64),
        DType::F16 => {
            let a = cast_to_f32::<f16>(a, |v| v.to_f32());
            let b = cast_to_f32::<f16>(b, |v| v.to_f32());
            cast_from_f32::<f16>(weight_grad_typed::<f32>(a, b, g, DType::F32), f16::from_f32)
        }
        DType::BF16 => {
            let a = cast_to_f32::<bf16>(a, |v| v.to_f32());
            let b = cast_to_f32::<bf16>(b, |v| v.to_f32());
            cast_from_f32::<bf16>(weight_grad_typed::<f32>(a, b, g, DType::F32), bf16::from_f32)
        }
        dtype => panic!("conv weight gradient: unsupported dtype {:?}", dtype),
    }
}

fn weight_grad_typed<T>(a: FlexTensor, b: FlexTensor, g: Geometry, dtype: DType) -> FlexTensor
where
    T: burn_backend::Element + bytemuck::Pod + Copy + Send + Sync + num_traits::Zero + num_traits::One + 'static,
{
    let a = a.to_contiguous();
    let b = b.to_contiguous();
    let [n, ca, ha, wa]: [usize; 4] = a.layout().shape().dims();
    let [nb, cb, hb, wb]: [usize; 4] = b.layout().shape().dims();
    assert_eq!(n, nb, "conv weight gradient: batch sizes differ");
    let [kh, kw] = g.kernel;
    let (ca_g, cb_g) = (ca / g.groups, cb / g.groups);
    let taps = kh * kw;
    let k_g = ca_g * taps;
    let positions = hb * wb;
    let a_data: &[T] = a.storage();
    let b_data: &[T] = b.storage();
    let mut out = vec![T::zero(); cb * k_g];
    if n == 0 || positions == 0 || k_g == 0 || cb_g == 0 {
        return tensor(out, [cb, ca_g, kh, kw], dtype);
    }
    let chunk = (CHUNK_VALUES / (k_g * positions).max(1)).clamp(1, n);
    for group in 0..g.groups {
        let mut first = true;
        let mut acc = vec![T::zero(); cb_g * k_g];
        for n0 in (0..n).step_by(chunk) {
            let nc = chunk.min(n - n0);
            let cols = nc * positions;
            let col = columns(a_data, [n, ca, ha, wa], [hb, wb], g, group, n0..n0 + nc);
            // The group's channels of b for these items, position-major: [cols, cb_g].
            let mut lhs = vec![T::zero(); cols * cb_g];
            for m in 0..nc {
                for c in 0..cb_g {
                    let src = &b_data[((n0 + m) * cb + group * cb_g + c) * positions..][..positions];
                    for (p, v) in src.iter().enumerate() {
                        lhs[(m * positions + p) * cb_g + c] = *v;
                    }
                }
            }
            #[cfg(feature = "rayon")]
            let parallelism = if cb_g * k_g * cols >= 192 * 192 * 192 {
                gemm::Parallelism::Rayon(0)
            } else {
                gemm::Parallelism::None
            };
            #[cfg(not(feature = "rayon"))]
            let parallelism = gemm::Parallelism::None;
            // acc[cb_g, k_g] (column-major) (+)= lhs[cb_g, cols] * col[k_g, cols]^T
            unsafe {
                gemm::gemm(
                    cb_g,
                    k_g,
                    cols,
                    acc.as_mut_ptr(),
                    cb_g as isize,
                    1,
                    !first,
                    lhs.as_ptr(),
                    cb_g as isize,
                    1,
                    col.as_ptr(),
                    cols as isize,
                    1,
                    T::one(),
                    T::one(),
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
            first = false;
        }
        for c in 0..cb_g {
            for kk in 0..k_g {
                out[(group * cb_g + c) * k_g + kk] = acc[kk * cb_g + c];
            }
        }
    }
    tensor(out, [cb, ca_g, kh, kw], dtype)
}

/// The column matrix `[ca / groups * kh * kw, items * hb * wb]` of `a` (`[n, ca, ha, wa]`
/// values) for `group` and the items `items`: row `(c, i, j)`, column `(item, y, x)` holds
/// `a[item, c, y * stride + i * dilation - padding, x * stride + j * dilation - padding]`, or 0
/// outside `a`.
fn columns<T>(a: &[T], dims: [usize; 4], out: [usize; 2], g: Geometry, group: usize, items: core::ops::Range<usize>) -> Vec<T>
where
    T: Copy + Send + Sync + num_traits::Zero,
{
    let [_, ca, ha, wa] = dims;
    let [hb, wb] = out;
    let [kh, kw] = g.kernel;
    let (taps, ca_g, positions) = (kh * kw, ca / g.groups, hb * wb);
    let cols = items.len() * positions;
    let mut col = vec![T::zero(); ca_g * taps * cols];
    let fill = |row: usize, dst: &mut [T]| {
        let c = group * ca_g + row / taps;
        let (i, j) = ((row % taps) / kw, row % kw);
        // Columns x whose source column x * stride + j * dilation - padding is inside a.
        let shift = (j * g.dilation[1]) as isize - g.padding[1] as isize;
        let (x_lo, x_hi) = inside(shift, g.stride[1], wa, wb);
        for (m, item) in items.clone().enumerate() {
            let plane = &a[(item * ca + c) * ha * wa..][..ha * wa];
            let dst = &mut dst[m * positions..][..positions];
            for y in 0..hb {
                let r = (y * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                if r < 0 || r as usize >= ha || x_lo >= x_hi {
                    continue;
                }
                let src = &plane[r as usize * wa..][..wa];
                let dst = &mut dst[y * wb..][..wb];
                let start = (x_lo as isize * g.stride[1] as isize + shift) as usize;
                if g.stride[1] == 1 {
                    dst[x_lo..x_hi].copy_from_slice(&src[start..start + (x_hi - x_lo)]);
                } else {
                    for (v, s) in dst[x_lo..x_hi].iter_mut().zip(src[start..].iter().step_by(g.stride[1])) {
                        *v = *s;
                    }
                }
            }
        }
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        col.par_chunks_mut(cols).enumerate().for_each(|(row, dst)| fill(row, dst));
    }
    #[cfg(not(feature = "rayon"))]
    for (row, dst) in col.chunks_mut(cols).enumerate() {
        fill(row, dst);
    }
    col
}

/// A 2-D convolution of f32 `x` `[n, c_in, h, w]` with `weight` `[c_out, c_in, kh, kw]` (one
/// group, padding already symmetric) as one product per chunk of items:
/// `y[c_out, (n, p)] = weight[c_out, (c, i, j)] * columns(x)[(c, i, j), (n, p)]`, so the product's
/// long side is `items * positions` however small the feature map (burn-flex's own convolution
/// makes one product per item and tile of positions, short for small maps).
pub(crate) fn conv2d_f32(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, g: Geometry) -> FlexTensor {
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let [n, c_in, h, w]: [usize; 4] = x.layout().shape().dims();
    let [c_out, _, kh, kw]: [usize; 4] = weight.layout().shape().dims();
    let size = |len: usize, k: usize, s: usize, p: usize, d: usize| (len + 2 * p).saturating_sub(d * (k - 1) + 1) / s + 1;
    let ho = size(h, kh, g.stride[0], g.padding[0], g.dilation[0]);
    let wo = size(w, kw, g.stride[1], g.padding[1], g.dilation[1]);
    let (positions, k) = (ho * wo, c_in * kh * kw);
    let x_data: &[f32] = x.storage();
    let w_data: &[f32] = weight.storage();
    let mut out = vec![0f32; n * c_out * positions];
    let chunk = (CHUNK_VALUES / (k * positions).max(1)).clamp(1, n.max(1));
    for n0 in (0..n).step_by(chunk) {
        let nc = chunk.min(n - n0);
        let cols = nc * positions;
        let col = columns(x_data, [n, c_in, h, w], [ho, wo], g, 0, n0..n0 + nc);
        let mut y = vec![0f32; c_out * cols];
        #[cfg(feature = "rayon")]
        let parallelism = if c_out * k * cols >= 192 * 192 * 192 {
            gemm::Parallelism::Rayon(0)
        } else {
            gemm::Parallelism::None
        };
        #[cfg(not(feature = "rayon"))]
        let parallelism = gemm::Parallelism::None;
        // y[c_out, cols] = weight[c_out, k] * col[k, cols], all row-major.
        unsafe {
            gemm::gemm(
                c_out,
                cols,
                k,
                y.as_mut_ptr(),
                1,
                cols as isize,
                false,
                w_data.as_ptr(),
                1,
                k as isize,
                col.as_ptr(),
                1,
                cols as isize,
                0f32,
                1f32,
                false,
                false,
                false,
                parallelism,
            );
        }
        for m in 0..nc {
            for c in 0..c_out {
                out[((n0 + m) * c_out + c) * positions..][..positions]
                    .copy_from_slice(&y[c * cols + m * positions..][..positions]);
            }
        }
    }
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        let b: &[f32] = bias.storage();
        for (i, plane) in out.chunks_mut(positions.max(1)).enumerate() {
            let v = b[i % c_out];
            plane.iter_mut().for_each(|o| *o += v);
        }
    }
    tensor(out, [n, c_out, ho, wo], DType::F32)
}

/// The range `[lo, hi)` of positions `x < len` whose source `x * stride + shift` lies in `0..size`.
fn inside(shift: isize, stride: usize, size: usize, len: usize) -> (usize, usize) {
    let s = stride as isize;
    let lo = if shift >= 0 { 0 } else { ((-shift) + s - 1) / s };
    let hi = if (size as isize) <= shift { 0 } else { (size as isize - shift + s - 1) / s };
    (lo as usize, (hi as usize).min(len).max(lo as usize))
}

fn tensor<T: bytemuck::Pod + Send + Sync>(data: Vec<T>, shape: [usize; 4], dtype: DType) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(shape.to_vec())), dtype)
}

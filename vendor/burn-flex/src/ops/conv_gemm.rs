//! 2-D convolutions (f32), transposed convolutions (f32) and the weight gradients of both as
//! long matrix products.
//!
//! Patch of the autoencoder framework (see `PATCHED.md`). burn-flex's own convolutions make one
//! product per item and tile of positions, short for the 4x4 and 8x8 maps of a convolutional
//! autoencoder, and Burn's generic weight gradient is a convolution with batch and channels
//! swapped. Here each operation takes one of two routes.
//!
//! On maps of [`DIRECT_POSITIONS`] positions and more ([`shifted_pays`]), no column matrix: one
//! product per kernel tap over the planes of `a` shifted by the tap's offset,
//! `y[co, q] += w_t[co, ci] * phases(x)[ci, base_t + q]` ([`conv2d_shifted`]; a stride-1
//! transposed convolution is this convolution with flipped weights, [`as_convolution`]) and
//! `dW_t[cb, ca] += b[cb, q] * phases(a)[ca, base_t + q]` ([`weight_grad_shifted`]).
//!
//! Else a column matrix and one product per chunk of items, `items * positions` as the long
//! side:
//! - convolution: `y[c_out, (n, p)] = w[c_out, (c, i, j)] * columns(x)[(c, i, j), (n, p)]`;
//! - transposed convolution: `columns[(c_out, i, j), (n, p)] = w^T[(c_out, i, j), c_in] *
//!   x[c_in, (n, p)]`, then the columns are added into the output (col2im);
//! - weight gradient: `dW[cb, (ca, i, j)] = b[cb, (n, p)] * columns(a)[(ca, i, j), (n, p)]^T`.
//!
//! With 16 channels or more (one group), the column matrices are built position-major instead
//! ([`columns_by_position`], [`add_by_position`]): row `(n, p)` holds the taps' values with the
//! channels together, `(i, j, c)`, so that on small maps each row is a few copies (or sums) of
//! `kw * c` values rather than many of a map row's. A convolution's product is then made
//! position-major as well, `y^T[(n, p), c_out] = columns[(n, p), (i, j, c)] * w^T`, and each
//! item transposed into place (with `y` channel-major the product would pack a strided operand
//! and take up to twice as long).
//!
//! For a convolution's weight gradient `a` is the input and `b` the output gradient; for a
//! transposed convolution's (through the patched burn-backend) `a` is the output gradient and `b`
//! the input. In the convolution view, output position `(y, x)` of a map `b` reads row
//! `y * stride + i * dilation - padding` of `a`. Both routes read `a` through a copy of each plane
//! with its padding made explicit and split into its stride phases (see [`Taps`]), so that every
//! tap reads consecutive values: a tap's view of a phase is a matrix with constant strides.

use alloc::vec;
use alloc::vec::Vec;
use burn_backend::DType;
use burn_std::{Bytes, Shape, bf16, f16};
use core::mem::MaybeUninit;

use crate::ops::module::{cast_from_f32, cast_to_f32};
use crate::{FlexTensor, Layout};

/// Most values of one column-matrix chunk (2 MiB of f32: a chunk stays in cache while its
/// product reads it).
const CHUNK_VALUES: usize = 1 << 19;

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

/// How the positions of a map `[hb, wb]` reach into the planes of a map `[ha, wa]`.
///
/// A plane is held padded (its padding made explicit zeros) and split into its `stride_h *
/// stride_w` phases (rows `r` with `r % stride_h = py`, columns likewise): every tap of every
/// position then reads one phase at consecutive columns, so gathering a tap's values for a row
/// of positions (and adding them back, for col2im) is a contiguous copy.
#[derive(Clone, Debug)]
struct Taps {
    /// `[ha, wa]`.
    plane: [usize; 2],
    /// `[hb, wb]`.
    positions: [usize; 2],
    padding: [usize; 2],
    stride: [usize; 2],
    kernel: [usize; 2],
    dilation: [usize; 2],
    /// Height and width of each phase.
    phase: [usize; 2],
    /// Padded plane height and width: rows `-padding ..= (hb - 1) * stride + (kh - 1) * dilation - padding`.
    padded: [usize; 2],
    /// Offset of tap `(i, j)` in the phases, tap-major.
    tap: Vec<usize>,
    /// The column part of [`Taps::at`] for each plane column that lies in the padded plane.
    column: Vec<usize>,
}

impl Taps {
    fn new(plane: [usize; 2], positions: [usize; 2], g: &Geometry) -> Self {
        let [kh, kw] = g.kernel;
        let extent = |d: usize| (positions[d] - 1) * g.stride[d] + (g.kernel[d] - 1) * g.dilation[d] + 1;
        let padded = [extent(0), extent(1)];
        let phase = [padded[0].div_ceil(g.stride[0]), padded[1].div_ceil(g.stride[1])];
        let phase_len = phase[0] * phase[1];
        let mut tap = Vec::with_capacity(kh * kw);
        for i in 0..kh {
            for j in 0..kw {
                let (r, c) = (i * g.dilation[0], j * g.dilation[1]);
                let which = (r % g.stride[0]) * g.stride[1] + c % g.stride[1];
                tap.push(which * phase_len + (r / g.stride[0]) * phase[1] + c / g.stride[1]);
            }
        }
        let mut taps = Self {
            plane,
            positions,
            padding: g.padding,
            stride: g.stride,
            kernel: g.kernel,
            dilation: g.dilation,
            phase,
            padded,
            tap,
            column: Vec::new(),
        };
        let (left, cols) = taps.overlap(1);
        taps.column = (0..cols).map(|c| taps.at(0, c + left)).collect();
        taps
    }

    fn count(&self) -> usize {
        self.positions[0] * self.positions[1]
    }

    /// Positions `q = y * phase_w + x` a tap's shifted view spans, from the first position to the
    /// last (the `phase_w - wb` positions past each row's end included).
    fn span(&self) -> usize {
        (self.positions[0] - 1) * self.phase[1] + self.positions[1]
    }

    /// Values in the phases of one plane.
    fn phases_len(&self) -> usize {
        self.stride[0] * self.stride[1] * self.phase[0] * self.phase[1]
    }

    /// Where padded row `r`, column `c` sits in the phases.
    #[inline]
    fn at(&self, r: usize, c: usize) -> usize {
        let [sy, sx] = self.stride;
        (((r % sy) * sx + c % sx) * self.phase[0] + r / sy) * self.phase[1] + c / sx
    }

    /// Rows and columns of the plane that fall inside the padded plane: `(first, count)` each.
    fn overlap(&self, d: usize) -> (usize, usize) {
        // Plane row r sits at padded row r + padding; rows past the padded plane are read by no tap.
        let count = self.plane[d].min(self.padded[d].saturating_sub(self.padding[d]));
        (self.padding[d], count)
    }

    /// The phases of `plane` (`[ha, wa]`) into `phases`. What lies outside the plane (the
    /// padding) is left as it is: every plane of this geometry writes the same places, so a
    /// buffer zeroed once and reused keeps its zeros there.
    fn split<T: Copy>(&self, plane: &[T], phases: &mut [T]) {
        let ((top, rows), (left, cols)) = (self.overlap(0), self.overlap(1));
        for r in 0..rows {
            let src = &plane[r * self.plane[1]..][..cols];
            if self.stride[1] == 1 {
                let dst = self.at(r + top, left);
                phases[dst..dst + cols].copy_from_slice(src);
            } else if self.stride[1] == 2 && cols > 1 {
                // Even and odd columns to their two phases, each consecutive there.
                let (even, odd) = (self.at(r + top, left), self.at(r + top, left + 1));
                let (even, odd) = two_runs(phases, even, odd, cols.div_ceil(2), cols / 2);
                for (pair, (e, o)) in src.chunks_exact(2).zip(even.iter_mut().zip(odd.iter_mut())) {
                    *e = pair[0];
                    *o = pair[1];
                }
                if cols % 2 == 1 {
                    even[cols / 2] = src[cols - 1];
                }
            } else {
                let row = &mut phases[self.at(r + top, 0)..];
                for (v, &at) in src.iter().zip(&self.column) {
                    row[at] = *v;
                }
            }
        }
    }

    /// The plane back from its `phases`, zero where no tap reached.
    fn join(&self, phases: &[f32], plane: &mut [f32]) {
        let ((top, rows), (left, cols)) = (self.overlap(0), self.overlap(1));
        if rows < self.plane[0] || cols < self.plane[1] {
            plane.fill(0.0);
        }
        for r in 0..rows {
            let dst = &mut plane[r * self.plane[1]..][..cols];
            if self.stride[1] == 1 {
                let src = self.at(r + top, left);
                dst.copy_from_slice(&phases[src..src + cols]);
            } else {
                let row = &phases[self.at(r + top, 0)..];
                for (v, &at) in dst.iter_mut().zip(&self.column) {
                    *v = row[at];
                }
            }
        }
    }

    /// The values of `planes` (`[c, ha, wa]`) that lie in the padded plane into `dst`
    /// (`[padded_h, padded_w, c]`, position-major) at their padded positions; the padding of
    /// `dst` is left as it is (the same values are written for every item, so a buffer zeroed
    /// once keeps its zeros there).
    fn to_positions<T: Copy + 'static>(&self, planes: &[T], c: usize, dst: &mut [T]) {
        let ((top, rows), (left, cols)) = (self.overlap(0), self.overlap(1));
        let (wa, wp) = (self.plane[1], self.padded[1]);
        let plane_len = self.plane[0] * wa;
        for r in 0..rows {
            transpose(&planes[r * wa..], plane_len, &mut dst[((r + top) * wp + left) * c..], c, [c, cols]);
        }
    }

    /// The transpose of [`Taps::to_positions`]: the plane values of `src` (`[padded_h, padded_w,
    /// c]`) into `planes` (`[c, ha, wa]`); plane values outside the padded plane are left as
    /// they are.
    fn from_positions(&self, src: &[f32], c: usize, planes: &mut [f32]) {
        let ((top, rows), (left, cols)) = (self.overlap(0), self.overlap(1));
        let (wa, wp) = (self.plane[1], self.padded[1]);
        let plane_len = self.plane[0] * wa;
        for r in 0..rows {
            transpose(&src[((r + top) * wp + left) * c..], c, &mut planes[r * wa..], plane_len, [cols, c]);
        }
    }

    /// Values of a row of the position-major column matrix ([`columns_by_position`]) that are
    /// consecutive in the padded copy: a kernel row (`kw * c`) when taps are adjacent, else one
    /// tap's channels.
    fn run(&self, c: usize) -> usize {
        if self.dilation[1] == 1 { self.kernel[1] * c } else { c }
    }

    /// Where run `t` of position `p`'s row starts in the padded position-major copy.
    #[inline]
    fn run_at(&self, p: usize, t: usize, c: usize) -> usize {
        let ([kh, kw], [dh, dw], [sh, sw]) = (self.kernel, self.dilation, self.stride);
        let wb = self.positions[1];
        let (y, x) = (p / wb, p % wb);
        let (i, j) = if dw == 1 { (t, 0) } else { (t / kw, t % kw) };
        debug_assert!(i < kh);
        ((y * sh + i * dh) * self.padded[1] + x * sw + j * dw) * c
    }

    /// `dst[(y, x)] = phases[base + y * phase_w + x]` over every position.
    #[inline]
    fn gather<T: Copy>(&self, phases: &[T], base: usize, dst: &mut [core::mem::MaybeUninit<T>]) {
        let ([hb, wb], pw) = (self.positions, self.phase[1]);
        // Rows of the usual widths as fixed-size copies (a call to memcpy per row of 4 to 32
        // values costs more than the copy).
        fn rows<T: Copy, const W: usize>(
            phases: &[T],
            base: usize,
            pw: usize,
            hb: usize,
            dst: &mut [core::mem::MaybeUninit<T>],
        ) {
            for (y, row) in dst.chunks_exact_mut(W).take(hb).enumerate() {
                let src: &[T; W] = phases[base + y * pw..][..W].try_into().expect("W values");
                let row: &mut [core::mem::MaybeUninit<T>; W] = row.try_into().expect("W values");
                for (d, v) in row.iter_mut().zip(src) {
                    d.write(*v);
                }
            }
        }
        match wb {
            4 => rows::<T, 4>(phases, base, pw, hb, dst),
            8 => rows::<T, 8>(phases, base, pw, hb, dst),
            16 => rows::<T, 16>(phases, base, pw, hb, dst),
            32 => rows::<T, 32>(phases, base, pw, hb, dst),
            _ => {
                for (y, row) in dst.chunks_exact_mut(wb).take(hb).enumerate() {
                    write_slice(row, &phases[base + y * pw..][..wb]);
                }
            }
        }
    }

    /// `phases[base + y * phase_w + x] += src[(y, x)]` over every position.
    #[inline]
    fn scatter_add(&self, src: &[f32], base: usize, phases: &mut [f32]) {
        let ([hb, wb], pw) = (self.positions, self.phase[1]);
        fn rows<const W: usize>(src: &[f32], base: usize, pw: usize, hb: usize, phases: &mut [f32]) {
            for (y, row) in src.chunks_exact(W).take(hb).enumerate() {
                let dst: &mut [f32; W] = (&mut phases[base + y * pw..][..W]).try_into().expect("W values");
                for (d, v) in dst.iter_mut().zip(row) {
                    *d += *v;
                }
            }
        }
        match wb {
            4 => rows::<4>(src, base, pw, hb, phases),
            8 => rows::<8>(src, base, pw, hb, phases),
            16 => rows::<16>(src, base, pw, hb, phases),
            32 => rows::<32>(src, base, pw, hb, phases),
            _ => {
                for (y, row) in src.chunks_exact(wb).take(hb).enumerate() {
                    let dst = &mut phases[base + y * pw..][..wb];
                    for (d, v) in dst.iter_mut().zip(row) {
                        *d += *v;
                    }
                }
            }
        }
    }
}

/// `dst[x * dst_rs + y] = src[y * src_rs + x]` for `[y, x]` below `size`. f32 on x86-64 goes in
/// tiles of 4 x 4 values swapped in SSE registers (a value at a time costs a few cycles each,
/// and these transposes move every feature map of a step several times; tiles of 8 x 8 in AVX
/// registers made the `conv` step no faster).
fn transpose<T: Copy + 'static>(src: &[T], src_rs: usize, dst: &mut [T], dst_rs: usize, size: [usize; 2]) {
    let [ny, nx] = size;
    let (mut full_y, mut full_x) = (0, 0);
    #[cfg(target_arch = "x86_64")]
    if is_f32::<T>() && ny >= 4 && nx >= 4 {
        (full_y, full_x) = (ny / 4 * 4, nx / 4 * 4);
        // Every tile lies inside both slices: the last one ends at these bounds.
        assert!((full_y - 1) * src_rs + full_x <= src.len(), "transpose: source too short");
        assert!((full_x - 1) * dst_rs + full_y <= dst.len(), "transpose: destination too short");
        let (src, dst) = (src.as_ptr().cast::<f32>(), dst.as_mut_ptr().cast::<f32>());
        for y0 in (0..full_y).step_by(4) {
            for x0 in (0..full_x).step_by(4) {
                // SAFETY: T is f32 or MaybeUninit<f32> (the same layout, and the tile's values
                // are copied, not read as numbers); its rows lie inside the slices (asserted
                // above).
                unsafe { tile4(src.add(y0 * src_rs + x0), src_rs, dst.add(x0 * dst_rs + y0), dst_rs) };
            }
        }
    }
    // The rest (the edges, or everything for other types), one value at a time.
    for y in 0..ny {
        let xs = if y < full_y { full_x..nx } else { 0..nx };
        for x in xs {
            dst[x * dst_rs + y] = src[y * src_rs + x];
        }
    }
}

/// Whether `T` is f32 or `MaybeUninit<f32>` (moved as f32 by the tile transposes).
fn is_f32<T: 'static>() -> bool {
    let t = core::any::TypeId::of::<T>();
    t == core::any::TypeId::of::<f32>() || t == core::any::TypeId::of::<MaybeUninit<f32>>()
}

/// The 4 x 4 tile at `src` (rows `src_rs` apart) transposed into `dst` (rows `dst_rs` apart).
///
/// # Safety
/// Four rows of four values must lie at each pointer.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn tile4(src: *const f32, src_rs: usize, dst: *mut f32, dst_rs: usize) {
    use core::arch::x86_64::{
        _mm_loadu_ps, _mm_movehl_ps, _mm_movelh_ps, _mm_storeu_ps, _mm_unpackhi_ps, _mm_unpacklo_ps,
    };
    // SAFETY: the caller's promise; SSE is part of x86-64.
    unsafe {
        let (r0, r1) = (_mm_loadu_ps(src), _mm_loadu_ps(src.add(src_rs)));
        let (r2, r3) = (_mm_loadu_ps(src.add(2 * src_rs)), _mm_loadu_ps(src.add(3 * src_rs)));
        // Rows a, b, c, d: (a0 b0 a1 b1), (c0 d0 c1 d1), (a2 b2 a3 b3), (c2 d2 c3 d3).
        let (t0, t1) = (_mm_unpacklo_ps(r0, r1), _mm_unpacklo_ps(r2, r3));
        let (t2, t3) = (_mm_unpackhi_ps(r0, r1), _mm_unpackhi_ps(r2, r3));
        _mm_storeu_ps(dst, _mm_movelh_ps(t0, t1));
        _mm_storeu_ps(dst.add(dst_rs), _mm_movehl_ps(t1, t0));
        _mm_storeu_ps(dst.add(2 * dst_rs), _mm_movelh_ps(t2, t3));
        _mm_storeu_ps(dst.add(3 * dst_rs), _mm_movehl_ps(t3, t2));
    }
}

/// The disjoint runs `v[a..a + a_len]` and `v[b..b + b_len]`, both mutable.
fn two_runs<T>(v: &mut [T], a: usize, b: usize, a_len: usize, b_len: usize) -> (&mut [T], &mut [T]) {
    if a < b {
        let (x, y) = v.split_at_mut(b);
        (&mut x[a..a + a_len], &mut y[..b_len])
    } else {
        let (x, y) = v.split_at_mut(a);
        (&mut y[..a_len], &mut x[b..b + b_len])
    }
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

/// The weight gradient as `dW^T[(ca, i, j), cb] = columns(a)[(ca, i, j), (n, p)] * b^T[(n, p), cb]`,
/// both operands row-major, the items split across threads (each chunk's product into its own
/// partial sum): a product whose long side is its inner dimension runs several times faster this
/// way than with the gradient as the output's rows and the inner dimension split by `gemm`.
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
    let k_g = ca_g * kh * kw;
    let positions = hb * wb;
    let a_data: &[T] = a.storage();
    let b_data: &[T] = b.storage();
    let mut out = vec![T::zero(); cb * k_g];
    if n == 0 || positions == 0 || k_g == 0 || cb_g == 0 {
        return tensor(out, [cb, ca_g, kh, kw], dtype);
    }
    let taps = Taps::new([ha, wa], [hb, wb], &g);
    if g.groups == 1 && shifted_pays(&taps) {
        weight_grad_shifted(a_data, b_data, [ca, cb], &taps, &mut out);
        return tensor(out, [cb, ca_g, kh, kw], dtype);
    }
    let chunk = chunk_items(n, k_g * positions);
    // A position-major column matrix's rows are `(i, j, c)`, the gradient's `(c, i, j)`.
    let by_position = g.groups == 1 && ca >= BY_POSITION_CHANNELS;
    for group in 0..g.groups {
        let partial = |n0: usize| {
            let items = n0..(n0 + chunk).min(n);
            let cols = items.len() * positions;
            // Element (kk, q) of the column matrix at `kk * rs_k + q * rs_q`.
            let (col, rs_k, rs_q) = if by_position {
                (columns_by_position(a_data, ca, &taps, items.clone()), 1, k_g)
            } else {
                (columns(a_data, ca, &taps, g, group, items.clone()), cols, 1)
            };
            let bt = positions_by_channel(b_data, cb, positions, group * cb_g..(group + 1) * cb_g, items);
            // part[k_g, cb_g] = col[k_g, cols] * bt[cols, cb_g], bt row-major.
            // SAFETY: the product writes every element of its output (read_dst false).
            unsafe {
                written_by(k_g * cb_g, |part| {
                    product(k_g, cb_g, cols, part, cb_g, col.as_ptr(), rs_k, rs_q, bt.as_ptr(), cb_g, 1)
                })
            }
        };
        let add = |mut x: Vec<T>, y: Vec<T>| {
            x.iter_mut().zip(&y).for_each(|(a, b)| *a = *a + *b);
            x
        };
        let starts = (0..n).step_by(chunk);
        #[cfg(feature = "rayon")]
        let sum = {
            use rayon::prelude::*;
            starts.collect::<Vec<_>>().into_par_iter().map(partial).reduce_with(add)
        };
        #[cfg(not(feature = "rayon"))]
        let sum = starts.map(partial).reduce(add);
        let sum = sum.expect("at least one item");
        let dst = &mut out[group * cb_g * k_g..][..cb_g * k_g];
        // Row `kk` of the sum is `(c, t)` of the gradient, or `(t, c)` by position.
        if by_position {
            taps_last(&sum, [kh * kw, ca_g, cb_g], dst);
        } else {
            transpose(&sum, cb_g, dst, k_g, [k_g, cb_g]);
        }
    }
    tensor(out, [cb, ca_g, kh, kw], dtype)
}

/// The weight gradient (one group) as one product per item and tap over shifted views, with no
/// column matrix: `dW_t[cb, ca] += b[cb, q] * phases(a)[ca, base_t + q]` over the positions
/// `q = y * phase_w + x` of [`Taps::span`], where `b` is held position-major with zeros at the
/// positions past each row's end, so the values the shifted views read there add nothing. Each
/// thread sums its items' products into its own gradient; `out` is `[cb, ca, kh, kw]`.
fn weight_grad_shifted<T>(a: &[T], b: &[T], [ca, cb]: [usize; 2], taps: &Taps, out: &mut [T])
where
    T: bytemuck::Pod + Send + Sync + num_traits::Zero + num_traits::One + core::ops::Add<Output = T> + 'static,
{
    let n_taps = taps.tap.len();
    let (positions, span, phases_len) = (taps.count(), taps.span(), taps.phases_len());
    let plane_len = taps.plane[0] * taps.plane[1];
    let n = b.len() / (cb * positions);
    let [hb, wb] = taps.positions;
    let pw = taps.phase[1];
    let grad_len = n_taps * ca * cb;
    struct Scratch<T> {
        grad: Vec<T>,
        phases: Vec<T>,
        bt: Vec<T>,
        first: bool,
    }
    let scratch = || Scratch {
        grad: vec![T::zero(); grad_len],
        phases: vec![T::zero(); ca * phases_len],
        // Zero once: the positions past each row's end are never written.
        bt: vec![T::zero(); span * cb],
        first: true,
    };
    let item = |mut s: Scratch<T>, k: usize| {
        for (c, ph) in s.phases.chunks_exact_mut(phases_len).enumerate() {
            taps.split(&a[(k * ca + c) * plane_len..][..plane_len], ph);
        }
        transpose_positions(&b[k * cb * positions..][..cb * positions], cb, [hb, wb], pw, &mut s.bt);
        for (t, &base) in taps.tap.iter().enumerate() {
            // grad_t[cb, ca] (+)= bt^T[cb, q] * phases[q + base, ca], the gradient column-major.
            // SAFETY: every view lies inside its buffer (the span ends at a real position).
            unsafe {
                product_at(
                    [cb, ca, span],
                    s.grad.as_mut_ptr().add(t * ca * cb),
                    [1, cb],
                    !s.first,
                    s.bt.as_ptr(),
                    [1, cb],
                    s.phases.as_ptr().add(base),
                    [1, phases_len],
                )
            }
        }
        s.first = false;
        s
    };
    let add = |mut x: Scratch<T>, y: Scratch<T>| {
        if x.first {
            return y;
        }
        if !y.first {
            x.grad.iter_mut().zip(&y.grad).for_each(|(a, b)| *a = *a + *b);
        }
        x
    };
    #[cfg(feature = "rayon")]
    let sum = {
        use rayon::prelude::*;
        (0..n).into_par_iter().fold(scratch, item).reduce(scratch, add)
    };
    #[cfg(not(feature = "rayon"))]
    let sum = (0..n).fold(scratch(), item);
    taps_last(&sum.grad, [n_taps, ca, cb], out);
}

/// `out[o, c, t] = grad[t, c, o]` for a gradient summed tap-major, `[n_taps, ca, cb]`: the
/// layout of Burn's weights, `[cb, ca, kh, kw]`, through two transposes (one value at a time,
/// the writes would land `ca * n_taps` values apart).
fn taps_last<T: Copy + num_traits::Zero + 'static>(grad: &[T], [n_taps, ca, cb]: [usize; 3], out: &mut [T]) {
    let k = n_taps * ca;
    let mut rows = vec![T::zero(); cb * k];
    transpose(grad, cb, &mut rows, k, [k, cb]);
    for (dst, row) in out.chunks_exact_mut(k).zip(rows.chunks_exact(k)) {
        transpose(row, ca, dst, n_taps, [n_taps, ca]);
    }
}

/// `dst[(y * pw + x) * c + ch] = src[ch][y][x]` for the `[c, hb, wb]` values of `src`: the
/// channels of each position together, rows `pw` positions apart (what lies past a row's end is
/// left as it is), a row at a time through [`transpose`].
fn transpose_positions<T: Copy + 'static>(src: &[T], c: usize, [hb, wb]: [usize; 2], pw: usize, dst: &mut [T]) {
    for y in 0..hb {
        transpose(&src[y * wb..], hb * wb, &mut dst[y * pw * c..], c, [c, wb]);
    }
}

/// Items per chunk of a column matrix of `per_item` values per item: at most about
/// [`CHUNK_VALUES`] values, in a number of chunks that the threads share evenly (64 items of
/// at most 28 are 4 chunks of 16, not 28, 28 and 8, which one thread would finish alone).
fn chunk_items(n: usize, per_item: usize) -> usize {
    #[cfg(feature = "rayon")]
    let threads = rayon::current_num_threads().max(1);
    #[cfg(not(feature = "rayon"))]
    let threads = 1;
    let most = (CHUNK_VALUES / per_item.max(1)).max(1);
    let chunks = n.div_ceil(most).next_multiple_of(threads).max(1);
    n.div_ceil(chunks).max(1)
}

/// `dst[m, n] = lhs[m, k] * rhs[k, n]` with the given row and column strides (dst row-major
/// with row stride `dst_rs`), on this thread: the callers split the work across threads.
///
/// # Safety
/// The pointers must address matrices of these sizes and strides.
#[allow(clippy::too_many_arguments)]
unsafe fn product<T: 'static>(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut T,
    dst_rs: usize,
    lhs: *const T,
    lhs_rs: usize,
    lhs_cs: usize,
    rhs: *const T,
    rhs_rs: usize,
    rhs_cs: usize,
) where
    T: num_traits::Zero + num_traits::One,
{
    // SAFETY: the caller's promise.
    unsafe { product_at([m, n, k], dst, [dst_rs, 1], false, lhs, [lhs_rs, lhs_cs], rhs, [rhs_rs, rhs_cs]) }
}

/// `dst = lhs * rhs` (`accumulate`: `dst += lhs * rhs`) for `[m, n, k]` = `size`, each matrix's
/// element `(r, c)` at `r * strides[0] + c * strides[1]`, on this thread.
///
/// # Safety
/// The pointers must address matrices of these sizes and strides.
#[allow(clippy::too_many_arguments)]
unsafe fn product_at<T: 'static>(
    size: [usize; 3],
    dst: *mut T,
    dst_strides: [usize; 2],
    accumulate: bool,
    lhs: *const T,
    lhs_strides: [usize; 2],
    rhs: *const T,
    rhs_strides: [usize; 2],
) where
    T: num_traits::Zero + num_traits::One,
{
    let [m, n, k] = size;
    let s = |v: usize| v as isize;
    // SAFETY: the caller's promise.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            s(dst_strides[1]),
            s(dst_strides[0]),
            accumulate,
            lhs,
            s(lhs_strides[1]),
            s(lhs_strides[0]),
            rhs,
            s(rhs_strides[1]),
            s(rhs_strides[0]),
            if accumulate { T::one() } else { T::zero() },
            T::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Channels `channels` of the items `items` of `data` (`[n, c, positions]`), as the row-major
/// matrix `[channels, items * positions]`.
fn gather_channels<T: Copy>(
    data: &[T],
    c: usize,
    positions: usize,
    channels: core::ops::Range<usize>,
    items: core::ops::Range<usize>,
) -> Vec<T> {
    let cols = items.len() * positions;
    let len = channels.len() * cols;
    let mut m: Vec<T> = Vec::with_capacity(len);
    let spare = &mut m.spare_capacity_mut()[..len];
    for (row, ch) in channels.enumerate() {
        for (k, item) in items.clone().enumerate() {
            write_slice(
                &mut spare[row * cols + k * positions..][..positions],
                &data[(item * c + ch) * positions..][..positions],
            );
        }
    }
    // SAFETY: every (row, item) run of `positions` values was written.
    unsafe { m.set_len(len) };
    m
}

/// Channels `channels` of the items `items` of `data` (`[n, c, positions]`), as the row-major
/// matrix `[items * positions, channels]` (the transpose of [`gather_channels`]).
fn positions_by_channel<T: Copy + num_traits::Zero + 'static>(
    data: &[T],
    c: usize,
    positions: usize,
    channels: core::ops::Range<usize>,
    items: core::ops::Range<usize>,
) -> Vec<T> {
    let width = channels.len();
    let mut m = vec![T::zero(); items.len() * positions * width];
    for (k, item) in items.enumerate() {
        let block = &mut m[k * positions * width..][..positions * width];
        transpose(&data[(item * c + channels.start) * positions..], positions, block, width, [width, positions]);
    }
    m
}

/// `values` as values that may be uninitialised (to copy them into such a buffer).
fn as_uninit(values: &[f32]) -> &[MaybeUninit<f32>] {
    // SAFETY: `MaybeUninit<f32>` has `f32`'s layout, and every f32 is a valid `MaybeUninit<f32>`.
    unsafe { core::slice::from_raw_parts(values.as_ptr().cast(), values.len()) }
}

/// `dst = src`, initialising `dst`.
#[inline]
fn write_slice<T: Copy>(dst: &mut [core::mem::MaybeUninit<T>], src: &[T]) {
    assert_eq!(dst.len(), src.len());
    // SAFETY: same length, distinct allocations; `MaybeUninit<T>` has `T`'s layout.
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_mut_ptr().cast::<T>(), src.len()) };
}

/// A vector of `len` values that `write` fills through a raw pointer (a product's output).
///
/// # Safety
/// `write` must write all `len` values.
unsafe fn written_by<T>(len: usize, write: impl FnOnce(*mut T)) -> Vec<T> {
    let mut v = Vec::with_capacity(len);
    write(v.as_mut_ptr());
    // SAFETY: the caller's promise.
    unsafe { v.set_len(len) };
    v
}

/// The column matrix `[ca / groups * kh * kw, items * hb * wb]` of `a` (`[n, ca, ha, wa]`
/// values) for `group` and the items `items`: row `(c, i, j)`, column `(item, y, x)` holds
/// `a[item, c, y * stride + i * dilation - padding, x * stride + j * dilation - padding]`, or 0
/// outside `a`.
fn columns<T>(a: &[T], ca: usize, taps: &Taps, g: Geometry, group: usize, items: core::ops::Range<usize>) -> Vec<T>
where
    T: Copy + num_traits::Zero,
{
    let ca_g = ca / g.groups;
    let (n_taps, positions) = (taps.tap.len(), taps.count());
    let plane_len = taps.plane[0] * taps.plane[1];
    let cols = items.len() * positions;
    let len = ca_g * n_taps * cols;
    // Every element is written below (the padded planes hold the zeros), so no zeroing first.
    let mut col: Vec<T> = Vec::with_capacity(len);
    let spare = &mut col.spare_capacity_mut()[..len];
    let mut phases = vec![T::zero(); taps.phases_len()];
    for (cl, rows) in spare.chunks_mut(n_taps * cols).enumerate() {
        let c = group * ca_g + cl;
        for (k, item) in items.clone().enumerate() {
            taps.split(&a[(item * ca + c) * plane_len..][..plane_len], &mut phases);
            for (t, &base) in taps.tap.iter().enumerate() {
                taps.gather(&phases, base, &mut rows[t * cols + k * positions..][..positions]);
            }
        }
    }
    // SAFETY: every channel's rows were written: each tap's run of `positions` values for every
    // item.
    unsafe { col.set_len(len) };
    col
}

/// Channels from which a column matrix is built position-major ([`columns_by_position`]):
/// its rows are then runs of `kw * c` consecutive values rather than rows of the (small) map.
const BY_POSITION_CHANNELS: usize = 16;

/// The column matrix `[items * hb * wb, kh * kw * ca]` of `a` (`[n, ca, ha, wa]`, one group) for
/// the items `items`, position-major: row `(item, y, x)` holds what the kernel covers at that
/// position, tap-major with the channels together (`(i, j, c)`), 0 outside `a`. Each item is
/// first copied position-major with its padding explicit, so each row is a few long copies.
fn columns_by_position<T>(a: &[T], ca: usize, taps: &Taps, items: core::ops::Range<usize>) -> Vec<T>
where
    T: Copy + num_traits::Zero + 'static,
{
    let k = taps.tap.len() * ca;
    let (positions, run) = (taps.count(), taps.run(ca));
    let plane_len = taps.plane[0] * taps.plane[1];
    let len = items.len() * positions * k;
    let mut col: Vec<T> = Vec::with_capacity(len);
    let spare = &mut col.spare_capacity_mut()[..len];
    // Zeroed once: the padding is never written, the rest is overwritten for each item.
    let mut padded = vec![T::zero(); taps.padded[0] * taps.padded[1] * ca];
    for (m, item) in items.enumerate() {
        taps.to_positions(&a[item * ca * plane_len..][..ca * plane_len], ca, &mut padded);
        for (p, row) in spare[m * positions * k..][..positions * k].chunks_exact_mut(k).enumerate() {
            for (t, dst) in row.chunks_exact_mut(run).enumerate() {
                write_slice(dst, &padded[taps.run_at(p, t, ca)..][..run]);
            }
        }
    }
    // SAFETY: every row was written, run by run.
    unsafe { col.set_len(len) };
    col
}

/// Adds the position-major column matrix `col` (`[items * hb * wb, kh * kw * c]`, see
/// [`columns_by_position`]) into `out` (`[items, c, ha, wa]`, zero where no tap reaches): col2im
/// through a padded position-major copy of each item.
fn add_by_position(col: &[f32], c: usize, taps: &Taps, out: &mut [f32]) {
    let k = taps.tap.len() * c;
    let (positions, run) = (taps.count(), taps.run(c));
    let plane_len = taps.plane[0] * taps.plane[1];
    let mut padded = vec![0f32; taps.padded[0] * taps.padded[1] * c];
    for (m, planes) in out.chunks_mut(c * plane_len).enumerate() {
        padded.fill(0.0);
        for (p, row) in col[m * positions * k..][..positions * k].chunks_exact(k).enumerate() {
            for (t, src) in row.chunks_exact(run).enumerate() {
                let dst = &mut padded[taps.run_at(p, t, c)..][..run];
                dst.iter_mut().zip(src).for_each(|(d, v)| *d += *v);
            }
        }
        taps.from_positions(&padded, c, planes);
    }
}

/// `w` (`[a, b, kh, kw]`) as `[a, kh, kw, b]`: the weights in the order of a position-major
/// column matrix's rows.
fn taps_then_channels(w: &[f32], [a, b, taps]: [usize; 3]) -> Vec<f32> {
    let mut out = vec![0f32; w.len()];
    for (src, dst) in w.chunks_exact(b * taps).zip(out.chunks_exact_mut(b * taps)).take(a) {
        transpose(src, taps, dst, b, [b, taps]);
    }
    out
}

/// Adds the column matrix `col` `[c * kh * kw, items * hb * wb]` into `out` (`[items, c, ha,
/// wa]`, the items' own block of the output): the transpose of [`columns`] (col2im).
fn add_columns(col: &[f32], c: usize, taps: &Taps, items: usize, out: &mut [f32]) {
    let (n_taps, positions) = (taps.tap.len(), taps.count());
    let plane_len = taps.plane[0] * taps.plane[1];
    let cols = items * positions;
    let mut phases = vec![0f32; taps.phases_len()];
    for (k, planes) in out.chunks_mut(c * plane_len).enumerate() {
        for ch in 0..c {
            phases.fill(0.0);
            for (t, &base) in taps.tap.iter().enumerate() {
                taps.scatter_add(&col[(ch * n_taps + t) * cols + k * positions..][..positions], base, &mut phases);
            }
            taps.join(&phases, &mut planes[ch * plane_len..][..plane_len]);
        }
    }
}

/// Runs `f(first_item, block)` for consecutive chunks of `chunk` items of `out`, whose items
/// are `per_item` values each, across threads.
fn for_item_chunks<T: Send>(out: &mut [T], per_item: usize, chunk: usize, f: impl Fn(usize, &mut [T]) + Send + Sync) {
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(chunk * per_item).enumerate().for_each(|(i, block)| f(i * chunk, block));
    }
    #[cfg(not(feature = "rayon"))]
    for (i, block) in out.chunks_mut(chunk * per_item).enumerate() {
        f(i * chunk, block);
    }
}

/// Output size of a convolution along one axis.
fn conv_size(len: usize, k: usize, s: usize, p: usize, d: usize) -> usize {
    (len + 2 * p).saturating_sub(d * (k - 1) + 1) / s + 1
}

/// A 2-D convolution of f32 `x` `[n, c_in, h, w]` with `weight` `[c_out, c_in, kh, kw]` (one
/// group, padding already symmetric) as one product per chunk of items:
/// `y[c_out, (n, p)] = weight[c_out, (c, i, j)] * columns(x)[(c, i, j), (n, p)]`, or its
/// position-major form (see the module docs).
pub(crate) fn conv2d_f32(x: FlexTensor, weight: FlexTensor, bias: Option<FlexTensor>, g: Geometry) -> FlexTensor {
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let [n, c_in, h, w]: [usize; 4] = x.layout().shape().dims();
    let [c_out, _, kh, kw]: [usize; 4] = weight.layout().shape().dims();
    let ho = conv_size(h, kh, g.stride[0], g.padding[0], g.dilation[0]);
    let wo = conv_size(w, kw, g.stride[1], g.padding[1], g.dilation[1]);
    let (positions, k) = (ho * wo, c_in * kh * kw);
    let x_data: &[f32] = x.storage();
    let w_data: &[f32] = weight.storage();
    if n * c_out * positions == 0 {
        return tensor(Vec::<f32>::new(), [n, c_out, ho, wo], DType::F32);
    }
    let taps = Taps::new([h, w], [ho, wo], &g);
    let bias = bias.map(|b| b.to_contiguous());
    let bias: Option<&[f32]> = bias.as_ref().map(|b| b.storage());
    if c_in >= SHIFTED_CHANNELS && shifted_pays(&taps) {
        let out = conv2d_shifted(x_data, w_data, bias, [n, c_in, c_out], &taps);
        return tensor(out, [n, c_out, ho, wo], DType::F32);
    }
    let mut out = uninit_vec::<f32>(n * c_out * positions);
    let chunk = chunk_items(n, k * positions);
    // Position-major (see the module docs): the product comes out position-major too,
    // `y^T[(n, p), c_out] = columns[(n, p), (i, j, c)] * w^T`, and each item's block is transposed
    // into place.
    let by_position = positions < DIRECT_POSITIONS && c_in >= BY_POSITION_CHANNELS;
    let w_by_position = by_position.then(|| taps_then_channels(w_data, [c_out, c_in, kh * kw]));
    for_item_chunks(&mut out, c_out * positions, chunk, |n0, block| {
        let items = n0..n0 + block.len() / (c_out * positions);
        let cols = items.len() * positions;
        if let Some(w) = &w_by_position {
            let col = columns_by_position(x_data, c_in, &taps, items.clone());
            // SAFETY: the product writes every element of its output (read_dst false).
            let yt = unsafe {
                written_by(cols * c_out, |yt| product(cols, c_out, k, yt, c_out, col.as_ptr(), k, 1, w.as_ptr(), 1, k))
            };
            for (item, dst) in yt.chunks_exact(positions * c_out).zip(block.chunks_exact_mut(c_out * positions)) {
                transpose(as_uninit(item), c_out, dst, positions, [positions, c_out]);
            }
        } else if positions >= DIRECT_POSITIONS {
            let col = columns(x_data, c_in, &taps, g, 0, items.clone());
            // Each item's y[c_out, positions] = weight[c_out, k] * col[k, item's positions],
            // straight into the output.
            for m in 0..items.len() {
                let dst = block[m * c_out * positions..].as_mut_ptr().cast::<f32>();
                // SAFETY: the product writes all `c_out * positions` values of the item's block.
                unsafe {
                    product(
                        c_out,
                        positions,
                        k,
                        dst,
                        positions,
                        w_data.as_ptr(),
                        k,
                        1,
                        col.as_ptr().add(m * positions),
                        cols,
                        1,
                    )
                };
            }
        } else {
            let col = columns(x_data, c_in, &taps, g, 0, items.clone());
            // y[c_out, cols] = weight[c_out, k] * col[k, cols], all row-major.
            // SAFETY: the product writes every element of its output (read_dst false).
            let y = unsafe {
                written_by(c_out * cols, |y| {
                    product(c_out, cols, k, y, cols, w_data.as_ptr(), k, 1, col.as_ptr(), cols, 1)
                })
            };
            for m in 0..items.len() {
                for c in 0..c_out {
                    write_slice(
                        &mut block[(m * c_out + c) * positions..][..positions],
                        &y[c * cols + m * positions..][..positions],
                    );
                }
            }
        }
        // SAFETY: every value of the block was written above.
        let block = unsafe { &mut *(block as *mut [MaybeUninit<f32>] as *mut [f32]) };
        if let Some(b) = bias {
            for (i, plane) in block.chunks_mut(positions).enumerate() {
                plane.iter_mut().for_each(|v| *v += b[i % c_out]);
            }
        }
    });
    // SAFETY: every item's block was written.
    tensor(unsafe { assume_init(out) }, [n, c_out, ho, wo], DType::F32)
}

/// Positions per item from which a convolution's product is made per item, straight into the
/// output (below, one product per chunk of items, copied into place).
const DIRECT_POSITIONS: usize = 256;

/// `len` values to be written.
pub(crate) fn uninit_vec<T>(len: usize) -> Vec<MaybeUninit<T>> {
    let mut v = Vec::with_capacity(len);
    // SAFETY: `MaybeUninit` needs no initialisation.
    unsafe { v.set_len(len) };
    v
}

/// Whether a product over `taps` is faster as one product per tap over shifted views
/// ([`conv2d_shifted`], [`weight_grad_shifted`]) than through a column matrix: maps of
/// [`DIRECT_POSITIONS`] positions and more, and few positions computed only to be dropped (under
/// 1/8).
fn shifted_pays(taps: &Taps) -> bool {
    taps.count() >= DIRECT_POSITIONS && taps.span() * 8 <= taps.count() * 9
}

/// Input channels from which a convolution's products over shifted views (whose inner dimension
/// is the input channels) are long enough to pay.
const SHIFTED_CHANNELS: usize = 16;

/// The convolution of each item as one product per tap, each over the item's phases (see
/// [`Taps`]) shifted by the tap's offset, with no column matrix:
/// `y[co, q] += w_t[co, ci] * phases[ci, base_t + q]` over the positions `q = y * phase_w + x`
/// (the products also compute the `phase_w - wb` positions between two rows, dropped when
/// copied into `out`, `[n, c_out, hb, wb]`).
fn conv2d_shifted(x: &[f32], w: &[f32], bias: Option<&[f32]>, [n, c_in, c_out]: [usize; 3], taps: &Taps) -> Vec<f32> {
    let n_taps = taps.tap.len();
    let (positions, span, phases_len) = (taps.count(), taps.span(), taps.phases_len());
    let plane_len = taps.plane[0] * taps.plane[1];
    let per_item = c_out * positions;
    let [hb, wb] = taps.positions;
    let pw = taps.phase[1];
    let item = |k: usize, block: &mut [MaybeUninit<f32>], phases: &mut Vec<f32>, y: &mut Vec<f32>| {
        phases.resize(c_in * phases_len, 0.0);
        for (ci, ph) in phases.chunks_exact_mut(phases_len).enumerate() {
            taps.split(&x[(k * c_in + ci) * plane_len..][..plane_len], ph);
        }
        y.resize(c_out * span, 0.0);
        for (t, &base) in taps.tap.iter().enumerate() {
            // y[q, co] (+)= phases[q + base, ci] * w[ci, co, t]: y column-major, the phases'
            // view column-major (each channel's shifted plane a column), the weights strided.
            // SAFETY: the views lie inside their buffers: the last position of every tap's view
            // is inside its phases (the span ends at a real position).
            unsafe {
                product_at(
                    [span, c_out, c_in],
                    y.as_mut_ptr(),
                    [1, span],
                    t > 0,
                    phases.as_ptr().add(base),
                    [1, phases_len],
                    w.as_ptr().add(t),
                    [n_taps, c_in * n_taps],
                )
            }
        }
        for co in 0..c_out {
            let b = bias.map_or(0.0, |b| b[co]);
            for r in 0..hb {
                let src = &y[co * span + r * pw..][..wb];
                for (d, v) in block[(co * hb + r) * wb..][..wb].iter_mut().zip(src) {
                    d.write(v + b);
                }
            }
        }
    };
    let mut out = uninit_vec::<f32>(n * per_item);
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(per_item)
            .enumerate()
            .for_each_init(|| (Vec::new(), Vec::new()), |(phases, y), (k, block)| item(k, block, phases, y));
    }
    #[cfg(not(feature = "rayon"))]
    {
        let (mut phases, mut y) = (Vec::new(), Vec::new());
        for (k, block) in out.chunks_mut(per_item).enumerate() {
            item(k, block, &mut phases, &mut y);
        }
    }
    // SAFETY: every item's block was written, each of its values once.
    unsafe { assume_init(out) }
}

/// The vector's values, all written.
///
/// # Safety
/// Every element must have been written.
pub(crate) unsafe fn assume_init<T>(v: Vec<MaybeUninit<T>>) -> Vec<T> {
    let mut v = core::mem::ManuallyDrop::new(v);
    // SAFETY: `MaybeUninit<T>` has `T`'s layout; the caller's promise that all are written.
    unsafe { Vec::from_raw_parts(v.as_mut_ptr().cast::<T>(), v.len(), v.capacity()) }
}

/// A 2-D transposed convolution of f32 `x` `[n, c_in, h, w]` with `weight` `[c_in, c_out, kh,
/// kw]` (one group) as one product per chunk of items, `columns[(c_out, i, j), (n, p)] =
/// weight^T * x[c_in, (n, p)]`, whose columns are then added into the output.
pub(crate) fn conv_transpose2d_f32(
    x: FlexTensor,
    weight: FlexTensor,
    bias: Option<FlexTensor>,
    g: Geometry,
    padding_out: [usize; 2],
) -> FlexTensor {
    let x = x.to_contiguous();
    let weight = weight.to_contiguous();
    let [n, c_in, h, w]: [usize; 4] = x.layout().shape().dims();
    let [_, c_out, kh, kw]: [usize; 4] = weight.layout().shape().dims();
    let size = |len: usize, d: usize| {
        ((len - 1) * g.stride[d] + g.dilation[d] * (g.kernel[d] - 1) + padding_out[d] + 1)
            .saturating_sub(2 * g.padding[d])
    };
    let (ho, wo) = (size(h, 0), size(w, 1));
    if n * c_out * ho * wo > 0
        && let Some(flipped) = as_convolution(g, padding_out, [h, w], [ho, wo], c_in)
    {
        let w_data: &[f32] = weight.storage();
        let mut wf = vec![0f32; w_data.len()];
        for ci in 0..c_in {
            for co in 0..c_out {
                for i in 0..kh {
                    for j in 0..kw {
                        wf[((co * c_in + ci) * kh + kh - 1 - i) * kw + kw - 1 - j] =
                            w_data[((ci * c_out + co) * kh + i) * kw + j];
                    }
                }
            }
        }
        return conv2d_f32(x, tensor(wf, [c_out, c_in, kh, kw], DType::F32), bias, flipped);
    }
    let mut out = vec![0f32; n * c_out * ho * wo];
    if out.is_empty() || c_in == 0 {
        add_bias(&mut out, bias, c_out, ho * wo);
        return tensor(out, [n, c_out, ho, wo], DType::F32);
    }
    let positions = h * w;
    let rows = c_out * kh * kw;
    let x_data: &[f32] = x.storage();
    let w_data: &[f32] = weight.storage();
    // Seen from its output, the transposed convolution is a convolution: output positions of
    // that view are this input's.
    let taps = Taps::new([ho, wo], [h, w], &g);
    let chunk = chunk_items(n, rows * positions);
    let block = c_out * ho * wo;
    let by_position = c_out >= BY_POSITION_CHANNELS;
    let w_by_position = by_position.then(|| taps_then_channels(w_data, [c_in, c_out, kh * kw]));
    for_item_chunks(&mut out, block, chunk, |n0, out_block| {
        let items = n0..n0 + out_block.len() / block;
        let cols = items.len() * positions;
        let xm = gather_channels(x_data, c_in, positions, 0..c_in, items.clone());
        if let Some(w) = &w_by_position {
            // col[cols, (i, j, c_out)] = xm^T[cols, c_in] * w[c_in, (i, j, c_out)].
            // SAFETY: the product writes every element of its output (read_dst false).
            let col = unsafe {
                written_by(cols * rows, |col| {
                    product(cols, rows, c_in, col, rows, xm.as_ptr(), 1, cols, w.as_ptr(), rows, 1)
                })
            };
            add_by_position(&col, c_out, &taps, out_block);
            return;
        }
        // col[rows, cols] = weight^T[rows, c_in] * xm[c_in, cols]; weight is row-major [c_in, rows].
        // SAFETY: the product writes every element of its output (read_dst false).
        let col = unsafe {
            written_by(rows * cols, |col| {
                product(rows, cols, c_in, col, cols, w_data.as_ptr(), 1, rows, xm.as_ptr(), cols, 1)
            })
        };
        add_columns(&col, c_out, &taps, items.len(), out_block);
    });
    add_bias(&mut out, bias, c_out, ho * wo);
    tensor(out, [n, c_out, ho, wo], DType::F32)
}

/// A stride-1 transposed convolution is a convolution of its input with the weights flipped
/// and transposed, padded by `dilation * (kernel - 1) - padding`: that convolution's geometry,
/// where it exists and is computed over shifted views ([`shifted_pays`]); else `None`.
fn as_convolution(
    g: Geometry,
    padding_out: [usize; 2],
    input: [usize; 2],
    output: [usize; 2],
    c_in: usize,
) -> Option<Geometry> {
    if g.stride != [1, 1] || padding_out != [0, 0] || g.groups != 1 {
        return None;
    }
    let reach = |d: usize| g.dilation[d] * (g.kernel[d] - 1);
    if g.padding[0] > reach(0) || g.padding[1] > reach(1) {
        return None;
    }
    let flipped = Geometry { padding: [reach(0) - g.padding[0], reach(1) - g.padding[1]], ..g };
    (c_in >= SHIFTED_CHANNELS && shifted_pays(&Taps::new(input, output, &flipped))).then_some(flipped)
}

fn add_bias(out: &mut [f32], bias: Option<FlexTensor>, c_out: usize, positions: usize) {
    if let Some(bias) = bias {
        let bias = bias.to_contiguous();
        let b: &[f32] = bias.storage();
        for (i, plane) in out.chunks_mut(positions.max(1)).enumerate() {
            let v = b[i % c_out];
            plane.iter_mut().for_each(|o| *o += v);
        }
    }
}

fn tensor<T: bytemuck::Pod + Send + Sync>(data: Vec<T>, shape: [usize; 4], dtype: DType) -> FlexTensor {
    FlexTensor::new(Bytes::from_elems(data), Layout::contiguous(Shape::from(shape.to_vec())), dtype)
}

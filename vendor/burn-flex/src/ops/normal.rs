//! Normal samples for f32 tensors, in parallel blocks.
//!
//! Patch of the autoencoder framework (see `PATCHED.md`). burn-flex draws every random value
//! from one ChaCha generator on one thread through `rand_distr`'s f64 sampler, which for the
//! Gaussian corruption of a conv autoencoder (196,608 values a step) took a tenth of a training
//! step. Here one draw of the backend's seeded generator keys a block-indexed SplitMix64 stream,
//! and each block of values is filled by the Box-Muller transform on its own thread, through the
//! branch-free `ln`, `sqrt` and sine/cosine of `vector_math` in a loop that vectorises: the same
//! seed gives the same values on any number of threads and any x86-64 CPU.

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use crate::ops::conv_gemm::{assume_init, uninit_vec};
use crate::ops::vector_math::{ln, sin_cos_turns, sqrt};

/// Values per block (each block has its own stream).
const BLOCK: usize = 4096;

/// Pairs of values computed together: a batch of random bits, then their transform in one loop
/// that vectorises.
const PAIRS: usize = 64;

/// `len` samples of `N(mean, std^2)` from the stream keyed by `seed`.
pub(crate) fn normal_f32(len: usize, mean: f64, std: f64, seed: u64) -> Vec<f32> {
    let (mean, std) = (mean as f32, std as f32);
    let mut out = uninit_vec::<f32>(len);
    let fill = |(index, block): (usize, &mut [MaybeUninit<f32>])| {
        let key = seed ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        #[cfg(all(target_arch = "x86_64", feature = "std"))]
        if std::is_x86_feature_detected!("avx2") {
            #[target_feature(enable = "avx2")]
            fn fill_avx2(block: &mut [MaybeUninit<f32>], key: u64, mean: f32, std: f32) {
                fill_block(block, key, mean, std)
            }
            // SAFETY: the CPU has AVX2.
            return unsafe { fill_avx2(block, key, mean, std) };
        }
        fill_block(block, key, mean, std)
    };
    #[cfg(feature = "rayon")]
    {
        use rayon::prelude::*;
        out.par_chunks_mut(BLOCK).enumerate().for_each(fill);
    }
    #[cfg(not(feature = "rayon"))]
    out.chunks_mut(BLOCK).enumerate().for_each(fill);
    // SAFETY: every block wrote each of its values.
    unsafe { assume_init(out) }
}

/// The values of the block keyed by `key`: pair `i` of the block from the `(i + 1)`-th value of
/// its SplitMix64 stream. Inlined into each caller, so that its loops vectorise for the caller's
/// features.
#[inline(always)]
fn fill_block(block: &mut [MaybeUninit<f32>], key: u64, mean: f32, std: f32) {
    for (c, chunk) in block.chunks_mut(2 * PAIRS).enumerate() {
        let first = (c * PAIRS) as u64 + 1;
        let (mut radius_bits, mut angle_bits) = ([0u32; PAIRS], [0u32; PAIRS]);
        for i in 0..PAIRS {
            let bits = splitmix64(key.wrapping_add((first + i as u64).wrapping_mul(GAMMA)));
            (radius_bits[i], angle_bits[i]) = ((bits >> 32) as u32, bits as u32 & 0xFF_FFFF);
        }
        let mut values = [0f32; 2 * PAIRS];
        for i in 0..PAIRS {
            let [x, y] = standard_pair(radius_bits[i], angle_bits[i]);
            values[2 * i] = mean + std * x;
            values[2 * i + 1] = mean + std * y;
        }
        for (d, v) in chunk.iter_mut().zip(values) {
            d.write(v);
        }
    }
}

/// SplitMix64's increment.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// SplitMix64's output for the stream state `z` (the key plus `k` increments for the `k`-th
/// value).
#[inline(always)]
fn splitmix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Two independent standard normal values (Box-Muller): the radius from 32 random bits
/// (uniform in (0, 1], so tails reach 6.7 standard deviations), the angle from 24.
#[inline(always)]
fn standard_pair(radius_bits: u32, angle_bits: u32) -> [f32; 2] {
    // In two halves, each exact in f32, so that u = 2^-32 and u = 1 are both reached.
    let u = ((radius_bits >> 16) as f32 * 65_536.0 + ((radius_bits & 0xFFFF) + 1) as f32) * (1.0 / 4_294_967_296.0);
    let radius = sqrt(-2.0 * ln(u));
    let (s, c) = sin_cos_turns(angle_bits as f32 * (1.0 / 16_777_216.0));
    [radius * c, radius * s]
}

//! Normal samples for f32 tensors, in parallel blocks.
//!
//! Patch of the autoencoder framework (see `PATCHED.md`). burn-flex draws every random value
//! from one ChaCha generator on one thread through `rand_distr`'s f64 sampler, which for the
//! Gaussian corruption of a conv autoencoder (196,608 values a step) took a tenth of a training
//! step. Here one draw of the backend's seeded generator keys a block-indexed SplitMix64 stream,
//! and each block of values is filled by the Box-Muller transform on its own thread: the same
//! seed gives the same values on any number of threads.

use alloc::vec::Vec;
use core::mem::MaybeUninit;

use crate::ops::conv_gemm::{assume_init, uninit_vec};

/// Values per block (each block has its own stream).
const BLOCK: usize = 4096;

/// `len` samples of `N(mean, std^2)` from the stream keyed by `seed`.
pub(crate) fn normal_f32(len: usize, mean: f64, std: f64, seed: u64) -> Vec<f32> {
    let (mean, std) = (mean as f32, std as f32);
    let mut out = uninit_vec::<f32>(len);
    let fill = |(index, block): (usize, &mut [MaybeUninit<f32>])| {
        let mut state = seed ^ (index as u64 + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
        for pair in block.chunks_mut(2) {
            let [a, b] = standard_pair(splitmix64(&mut state));
            pair[0].write(mean + std * a);
            if let Some(second) = pair.get_mut(1) {
                second.write(mean + std * b);
            }
        }
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

/// The next value of a SplitMix64 stream.
#[inline]
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Two independent standard normal values from 64 random bits (Box-Muller): the radius from
/// the high 32 bits (uniform in (0, 1], so tails reach 6.7 standard deviations), the angle from
/// the low 24.
#[inline]
fn standard_pair(bits: u64) -> [f32; 2] {
    let u = ((bits >> 32) as f64 + 1.0) * (1.0 / 4_294_967_296.0);
    let radius = libm::sqrt(-2.0 * libm::log(u)) as f32;
    let angle = (bits & 0xFF_FFFF) as f32 * (core::f32::consts::TAU / 16_777_216.0);
    let (s, c) = (libm::sinf(angle), libm::cosf(angle));
    [radius * c, radius * s]
}

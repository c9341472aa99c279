//! f32 exp, ln and sine/cosine as branch-free polynomials, and [`vectorized`], which compiles a
//! loop over them for AVX2 where the CPU has it (chosen at run time).
//!
//! Patch of the autoencoder framework (see `PATCHED.md`). The sigmoid and the Box-Muller
//! transform of the normal samples called libm once per value, which no loop can vectorise;
//! these functions have no branches and no calls, so a loop over them runs 8 values at a time
//! with AVX2 (4 with the SSE2 every x86-64 has). Written without `mul_add`, they round the same
//! on every path: the values do not depend on the CPU. The polynomials are Cephes' `expf`,
//! `logf`, `sinf` and `cosf` (relative error about 1e-7 over their ranges).

/// `f()` compiled with AVX2 when this CPU has it, else as built. `f` must be small enough to be
/// inlined there (a loop over an element function, indexed, so that it vectorises); a larger
/// kernel is an `#[inline(always)]` function called from its own `#[target_feature]` wrapper
/// (`normal.rs`).
#[inline(always)]
pub(crate) fn vectorized<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(all(target_arch = "x86_64", feature = "std"))]
    if std::is_x86_feature_detected!("avx2") {
        #[target_feature(enable = "avx2")]
        fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        // SAFETY: the CPU has AVX2.
        return unsafe { with_avx2(f) };
    }
    f()
}

/// 1.5 * 2^23: `x + MAGIC` rounds `x` (|x| < 2^22) to the nearest integer, held in the low bits.
const MAGIC: f32 = 12_582_912.0;

/// `x` rounded to the nearest integer, as an f32 and as an i32 (|x| < 2^22).
#[inline(always)]
fn round(x: f32) -> (f32, i32) {
    let t = x + MAGIC;
    (t - MAGIC, t.to_bits() as i32 - MAGIC.to_bits() as i32)
}

/// `e^x`; 0 below -87, `e^88` above 88 (both far past where a sigmoid saturates), NaN kept.
#[inline(always)]
pub(crate) fn exp(x: f32) -> f32 {
    let below = x < -87.0;
    let x = x.clamp(-87.0, 88.0);
    let (n, ni) = round(x * core::f32::consts::LOG2_E);
    // x - n ln 2 in two parts, so the reduced argument keeps its precision.
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let mut p = 1.987_569_1e-4;
    p = p * r + 1.398_2e-3;
    p = p * r + 8.333_452e-3;
    p = p * r + 4.166_579_6e-2;
    p = p * r + 0.166_666_65;
    p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    if below { 0.0 } else { y * f32::from_bits(((ni + 127) as u32) << 23) }
}

/// `ln x` for positive normal `x`.
#[inline(always)]
pub(crate) fn ln(x: f32) -> f32 {
    let bits = x.to_bits();
    // x = m 2^e with m in [0.5, 1), then m in [sqrt(1/2), sqrt(2)) and m - 1 by the polynomial.
    let e = ((bits >> 23) as i32 - 126) as f32;
    let m = f32::from_bits((bits & 0x007F_FFFF) | 0x3F00_0000);
    let small = m < core::f32::consts::FRAC_1_SQRT_2;
    let e = if small { e - 1.0 } else { e };
    let m = if small { m + m - 1.0 } else { m - 1.0 };
    let z = m * m;
    let mut y = 7.037_683_6e-2;
    y = y * m - 0.115_146_1;
    y = y * m + 0.116_769_98;
    y = y * m - 0.124_201_41;
    y = y * m + 0.142_493_23;
    y = y * m - 0.166_680_57;
    y = y * m + 0.200_007_15;
    y = y * m - 0.249_999_94;
    y = y * m + 0.333_333_3;
    let y = y * m * z + e * -2.121_944_4e-4 - 0.5 * z;
    m + y + e * 0.693_359_4
}

/// `(sin, cos)` of `turns` full turns (`2 pi turns` radians), for `turns` in `[0, 1]`.
#[inline(always)]
pub(crate) fn sin_cos_turns(turns: f32) -> (f32, f32) {
    // The nearest quarter turn q, and what is left in [-1/8, 1/8] turn: [-pi/4, pi/4].
    let (q, qi) = round(turns * 4.0);
    let x = (turns - q * 0.25) * core::f32::consts::TAU;
    let z = x * x;
    let s = ((-1.951_529_6e-4 * z + 8.332_161e-3) * z - 0.166_666_55) * z * x + x;
    let c = ((2.443_315_7e-5 * z - 1.388_731_6e-3) * z + 4.166_664_6e-2) * z * z - 0.5 * z + 1.0;
    // sin(q pi/2 + x), cos(q pi/2 + x): swapped on odd quarters, signs from the quadrant.
    let (s, c) = if qi & 1 == 1 { (c, s) } else { (s, c) };
    let sin_sign = ((qi & 2) as u32) << 30;
    let cos_sign = (((qi + 1) & 2) as u32) << 30;
    (f32::from_bits(s.to_bits() ^ sin_sign), f32::from_bits(c.to_bits() ^ cos_sign))
}

/// `1 / (1 + e^-x)`, NaN kept.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    // e^-|x| never overflows; the negative side as e^x / (1 + e^x) keeps its relative precision.
    let e = exp(-f32::from_bits(x.to_bits() & 0x7FFF_FFFF));
    let d = 1.0 / (1.0 + e);
    if x >= 0.0 { d } else { e * d }
}

/// `sqrt x`.
#[inline(always)]
pub(crate) fn sqrt(x: f32) -> f32 {
    #[cfg(feature = "std")]
    {
        x.sqrt()
    }
    #[cfg(not(feature = "std"))]
    {
        libm::sqrtf(x)
    }
}

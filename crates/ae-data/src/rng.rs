//! A small, fast, seedable random generator (SplitMix64) whose whole state is one `u64`.
//!
//! Used for shuffles, splits and generated data so that a run is reproducible from its seed and
//! resumable from the epoch alone, independent of any crate's RNG version.

/// SplitMix64 (Steele, Lea & Flood 2014).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    /// A generator for a seed and a stream (e.g. the epoch), so that streams do not overlap.
    pub fn new(seed: u64, stream: u64) -> Self {
        let mut g = SplitMix64(seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03));
        g.next_u64();
        g
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.next_f64()
    }

    /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift, negligible bias for n << 2^64).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }

    /// Shuffles a slice in place (Fisher-Yates).
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A random permutation of `0..n`.
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        self.shuffle(&mut p);
        p
    }

    /// `k` distinct values of `0..n` drawn uniformly, in draw order (the first `k` steps of a
    /// Fisher-Yates shuffle, kept sparse: memory grows with `k`, not `n`); all of `0..n`,
    /// shuffled, when `k >= n`.
    pub fn sample(&mut self, n: usize, k: usize) -> Vec<usize> {
        let k = k.min(n);
        // Slot -> value for the slots a swap has moved; every other slot holds its own index.
        let mut moved = std::collections::HashMap::with_capacity(2 * k);
        let mut out = Vec::with_capacity(k);
        for i in 0..k {
            let j = i + self.below(n - i);
            let at_i = moved.get(&i).copied().unwrap_or(i);
            out.push(moved.get(&j).copied().unwrap_or(j));
            moved.insert(j, at_i);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutation_is_a_permutation_and_seeded() {
        let a = SplitMix64::new(7, 1).permutation(1000);
        let b = SplitMix64::new(7, 1).permutation(1000);
        let c = SplitMix64::new(7, 2).permutation(1000);
        assert_eq!(a, b);
        assert_ne!(a, c);
        let mut s = a.clone();
        s.sort();
        assert_eq!(s, (0..1000).collect::<Vec<_>>());
    }

    #[test]
    fn sample_draws_distinct_values_uniformly_and_is_seeded() {
        let a = SplitMix64::new(3, 0).sample(10, 4);
        assert_eq!(a, SplitMix64::new(3, 0).sample(10, 4));
        let mut d = a.clone();
        d.sort();
        d.dedup();
        assert!(d.len() == 4 && d.iter().all(|&x| x < 10));
        let mut all = SplitMix64::new(3, 0).sample(5, 9);
        all.sort();
        assert_eq!(all, [0, 1, 2, 3, 4]);
        // Each of 0..10 is drawn about 4 / 10 of the time.
        let mut hits = [0usize; 10];
        let mut g = SplitMix64::new(1, 2);
        for _ in 0..20_000 {
            g.sample(10, 4).into_iter().for_each(|x| hits[x] += 1);
        }
        assert!(hits.iter().all(|&h| (7_600..8_400).contains(&h)), "{hits:?}");
    }

    #[test]
    fn uniform_mean_and_below_range() {
        let mut g = SplitMix64::new(1, 0);
        let n = 100_000;
        let mean: f64 = (0..n).map(|_| g.next_f64()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert!((0..10_000).all(|_| g.below(7) < 7));
    }
}

//! A small, fast, seedable random generator (SplitMix64) whose whole state is one `u64`.
//!
//! The one generator of the workspace: shuffles, splits, samples and generated data, so that a run
//! is reproducible from its seed and resumable from the epoch alone, independent of any crate's
//! RNG version. (Noise on tensors, such as corruption and sampling, comes from the Burn device's
//! own generator, seeded per epoch.)

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

    /// A standard normal draw (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.next_f64();
        let u2 = self.next_f64();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
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

/// The order in which epoch `epoch` (from 0) of training seeded with `seed` visits `n` items: a
/// seeded shuffle per (seed, epoch), so a resumed run sees exactly the order the uninterrupted run
/// would have seen.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Vec<usize> {
    SplitMix64::new(seed, 1 + epoch as u64).permutation(n)
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
    fn epoch_orders_differ_per_epoch_and_repeat_per_seed() {
        assert_eq!(epoch_order(50, 3, 0), epoch_order(50, 3, 0));
        assert_ne!(epoch_order(50, 3, 0), epoch_order(50, 3, 1));
        assert_ne!(epoch_order(50, 3, 0), epoch_order(50, 4, 0));
        // The stream of epoch e is 1 + e: epoch 0 of seed 7 is the permutation of stream 1.
        assert_eq!(epoch_order(50, 7, 0), SplitMix64::new(7, 1).permutation(50));
    }

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut g = SplitMix64::new(5, 0);
        let xs: Vec<f64> = (0..100_000).map(|_| g.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.01 && (var - 1.0).abs() < 0.02, "mean {mean}, variance {var}");
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

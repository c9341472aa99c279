//! Per-feature affine normalisation `x' = (x - offset) / scale`, fitted on training data and
//! saved with the model so that inference uses the same statistics.

use ae_core::SplitMix64;
use serde::{Deserialize, Serialize};

use crate::dataset::Dataset;
#[cfg(test)]
use crate::dataset::Features;

/// How to normalise features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Bytes divided by 255; floats min-max scaled to [0, 1] with training minima and maxima.
    Unit,
    /// Zero mean, unit variance per feature, with training statistics.
    Zscore,
    /// Values as stored.
    None,
}

/// A fitted normalisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Normalizer {
    /// How it was fitted.
    pub kind: Normalization,
    /// Subtracted from each feature (one value applies to all).
    pub offset: Vec<f32>,
    /// Each feature is divided by this after the offset (one value applies to all).
    pub scale: Vec<f32>,
}

impl Normalizer {
    /// Fits `kind` on a training set, over every item ([`Normalizer::fit_sample`] with no
    /// limit). Reads the items one at a time into one buffer, so that mapped data is streamed,
    /// not copied. Over a streamed image folder ([`crate::Features::is_streamed`]) a `Zscore` fit
    /// decodes every image: use [`Normalizer::fit_sample`] there.
    pub fn fit(kind: Normalization, data: &Dataset) -> Self {
        Self::fit_sample(kind, data, usize::MAX, 0)
    }

    /// Fits `kind` on at most `max_items` items of a training set: every item, in order, when
    /// `data.len() <= max_items` (then the same as [`Normalizer::fit`], whatever the seed), else
    /// `max_items` distinct items drawn with `seed` ([`SplitMix64::sample`]), read in item
    /// order. For data decoded per item (a streamed image folder) this bounds the decoding done
    /// before training; a trainer should fit such data on a sample of about 10,000 items.
    /// `Unit` on 8-bit data (bytes, mapped or streamed) reads no item at all (the scale is 255).
    /// Panics, naming the file, if a streamed image cannot be decoded.
    pub fn fit_sample(kind: Normalization, data: &Dataset, max_items: usize, seed: u64) -> Self {
        // `None`: every item (no list of them, which could be large for mapped data).
        let sample: Option<Vec<usize>> = (data.len() > max_items).then(|| {
            let mut s = SplitMix64::new(seed, 0xF17_5A3E).sample(data.len(), max_items);
            s.sort_unstable();
            s
        });
        let items = || -> Box<dyn Iterator<Item = usize> + '_> {
            match &sample {
                Some(s) => Box::new(s.iter().copied()),
                None => Box::new(0..data.len()),
            }
        };
        let d = data.item_len();
        let n = sample.as_ref().map_or(data.len(), Vec::len).max(1);
        let mut row = vec![0f32; d];
        match kind {
            Normalization::None => Self { kind, offset: vec![0.0], scale: vec![1.0] },
            Normalization::Unit if data.features.bits_per_value() == 8 => {
                Self { kind, offset: vec![0.0], scale: vec![255.0] }
            }
            Normalization::Unit => {
                let mut lo = vec![f32::INFINITY; d];
                let mut hi = vec![f32::NEG_INFINITY; d];
                for i in items() {
                    data.write_raw(i, &mut row);
                    for j in 0..d {
                        lo[j] = lo[j].min(row[j]);
                        hi[j] = hi[j].max(row[j]);
                    }
                }
                let scale = lo.iter().zip(&hi).map(|(l, h)| if h > l { h - l } else { 1.0 }).collect();
                Self { kind, offset: lo, scale }
            }
            Normalization::Zscore => {
                let mut sum = vec![0f64; d];
                let mut sq = vec![0f64; d];
                for i in items() {
                    data.write_raw(i, &mut row);
                    for j in 0..d {
                        let x = row[j] as f64;
                        sum[j] += x;
                        sq[j] += x * x;
                    }
                }
                let mean: Vec<f64> = sum.iter().map(|s| s / n as f64).collect();
                // Population standard deviation, as numpy's default `std()`.
                let std = sq
                    .iter()
                    .zip(&mean)
                    .map(|(q, m)| {
                        let v = (q / n as f64 - m * m).max(0.0).sqrt();
                        if v > 1e-12 { v as f32 } else { 1.0 }
                    })
                    .collect();
                Self { kind, offset: mean.iter().map(|&m| m as f32).collect(), scale: std }
            }
        }
    }

    /// Normalises one item in place.
    pub fn apply(&self, item: &mut [f32]) {
        if self.offset.len() == 1 && self.scale.len() == 1 {
            let (o, s) = (self.offset[0], 1.0 / self.scale[0]);
            item.iter_mut().for_each(|x| *x = (*x - o) * s);
        } else {
            for (j, x) in item.iter_mut().enumerate() {
                *x = (*x - self.offset[j]) / self.scale[j];
            }
        }
    }

    /// Undoes [`Normalizer::apply`] on one item.
    pub fn invert(&self, item: &mut [f32]) {
        for (j, x) in item.iter_mut().enumerate() {
            let (o, s) =
                if self.offset.len() == 1 { (self.offset[0], self.scale[0]) } else { (self.offset[j], self.scale[j]) };
            *x = *x * s + o;
        }
    }

    /// Whether normalised values lie in [0, 1] for data like the training data.
    pub fn is_unit_range(&self) -> bool {
        self.kind == Normalization::Unit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(rows: &[[f32; 2]]) -> Dataset {
        Dataset {
            features: Features::F32(rows.iter().flatten().copied().collect()),
            item_shape: vec![2],
            labels: None,
            classes: vec![],
        }
    }

    #[test]
    fn zscore_matches_hand_values() {
        // column 0: 1, 2, 3 -> mean 2, population std sqrt(2/3); column 1 constant -> scale 1.
        let d = table(&[[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]]);
        let n = Normalizer::fit(Normalization::Zscore, &d);
        assert_eq!(n.offset, vec![2.0, 5.0]);
        assert!((n.scale[0] - (2.0f32 / 3.0).sqrt()).abs() < 1e-6);
        assert_eq!(n.scale[1], 1.0);
        let mut x = [3.0, 5.0];
        n.apply(&mut x);
        assert!((x[0] - 1.224_744_9).abs() < 1e-5 && x[1] == 0.0);
        n.invert(&mut x);
        assert!((x[0] - 3.0).abs() < 1e-6);
    }

    #[test]
    fn fit_sample_uses_every_item_up_to_max_items_else_a_seeded_sample() {
        // Items 1, 2, 4, ..., 32: the sum of any items tells which were used.
        let values = [1.0f32, 2.0, 4.0, 8.0, 16.0, 32.0];
        let d =
            Dataset { features: Features::F32(values.to_vec()), item_shape: vec![1], labels: None, classes: vec![] };
        for kind in [Normalization::Unit, Normalization::Zscore, Normalization::None] {
            assert_eq!(Normalizer::fit_sample(kind, &d, 6, 9), Normalizer::fit(kind, &d));
            assert_eq!(Normalizer::fit_sample(kind, &d, 100, 1), Normalizer::fit(kind, &d));
        }
        assert_eq!(Normalizer::fit(Normalization::Zscore, &d).offset, vec![63.0 / 6.0]);
        let mut subsets = std::collections::BTreeSet::new();
        for seed in 0..20 {
            let z = Normalizer::fit_sample(Normalization::Zscore, &d, 3, seed);
            assert_eq!(z, Normalizer::fit_sample(Normalization::Zscore, &d, 3, seed));
            let sum = (z.offset[0] as f64 * 3.0).round() as u32;
            let used: Vec<f64> = values.iter().filter(|&&v| sum & v as u32 != 0).map(|&v| v as f64).collect();
            assert_eq!(used.len(), 3, "seed {seed}: offset {}", z.offset[0]);
            // By hand: the mean and population standard deviation of the three used items.
            let mean = used.iter().sum::<f64>() / 3.0;
            let std = (used.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 3.0).sqrt();
            assert!((z.offset[0] as f64 - mean).abs() < 1e-5 && (z.scale[0] as f64 - std).abs() < 1e-4, "{z:?}");
            // Unit with the same seed samples the same items: their minimum and range.
            let u = Normalizer::fit_sample(Normalization::Unit, &d, 3, seed);
            let (lo, hi) = (used[0] as f32, used[2] as f32);
            assert_eq!((u.offset.clone(), u.scale.clone()), (vec![lo], vec![hi - lo]));
            subsets.insert(sum);
        }
        assert!(subsets.len() >= 8, "{subsets:?}");
        // One item: its value, and scale 1 (no spread).
        let one = Normalizer::fit_sample(Normalization::Zscore, &d, 1, 4);
        assert!(values.contains(&one.offset[0]) && one.scale == vec![1.0]);
    }

    #[test]
    fn unit_scales_bytes_and_floats() {
        let bytes =
            Dataset { features: Features::U8(vec![0, 255]), item_shape: vec![2], labels: None, classes: vec![] };
        let n = Normalizer::fit(Normalization::Unit, &bytes);
        let mut x = [0.0, 255.0];
        n.apply(&mut x);
        assert_eq!(x, [0.0, 1.0]);
        let f = Normalizer::fit(Normalization::Unit, &table(&[[10.0, 0.0], [20.0, 4.0]]));
        let mut y = [15.0, 1.0];
        f.apply(&mut y);
        assert_eq!(y, [0.5, 0.25]);
    }
}

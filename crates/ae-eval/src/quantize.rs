//! Uniform scalar quantisation of codes, unit by unit, for measuring compression: each unit's
//! range [min, max] is cut into `2^bits` evenly spaced levels.

use crate::error::{EvalError, Result};
use crate::matrix::Matrix;

/// Bits to store one unit's range (its min and max as `f32`).
pub const SIDE_BITS_PER_UNIT: u64 = 64;

/// Per-unit ranges and a bit depth: fitted on some codes, applied to others.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantizer {
    /// Bits per unit per item (1 to 16).
    pub bits: u8,
    /// Smallest value of each unit in the fitted codes.
    pub min: Vec<f32>,
    /// Largest value of each unit in the fitted codes.
    pub max: Vec<f32>,
}

/// Quantised codes and what they cost.
#[derive(Debug, Clone, PartialEq)]
pub struct Quantized {
    /// Level of each value, `rows x units` row-major, in `0..2^bits` (0 for constant units).
    pub codes: Vec<u16>,
    /// The value each level stands for, `rows x units`: what a decoder receives.
    pub dequantized: Vec<f32>,
    /// Number of items.
    pub rows: usize,
    /// Bits of the levels: `bits` per value of every unit that is not constant (a constant unit
    /// is known from its range alone).
    pub payload_bits: u64,
    /// Bits of the ranges: [`SIDE_BITS_PER_UNIT`] per unit.
    pub side_bits: u64,
}

impl Quantized {
    /// All bits needed to rebuild `dequantized`: payload plus ranges.
    pub fn total_bits(&self) -> u64 {
        self.payload_bits + self.side_bits
    }

    /// Total bits per item; divide by the values of an input item (e.g. 784 pixels) for bits per
    /// pixel.
    pub fn bits_per_item(&self) -> f64 {
        self.total_bits() as f64 / self.rows as f64
    }
}

impl Quantizer {
    /// The range of every unit (column) of `x`, with `bits` per value. Fails unless `bits` is
    /// between 1 and 16.
    pub fn fit(x: Matrix, bits: u8) -> Result<Self> {
        if !(1..=16).contains(&bits) {
            return Err(EvalError::input(format!("quantisation: {bits} bits per unit, must be 1 to 16")));
        }
        let d = x.cols();
        let (mut min, mut max) = (x.row(0).to_vec(), x.row(0).to_vec());
        for r in x.data().chunks_exact(d) {
            for (j, &v) in r.iter().enumerate() {
                min[j] = min[j].min(v);
                max[j] = max[j].max(v);
            }
        }
        Ok(Quantizer { bits, min, max })
    }

    /// Number of levels, `2^bits`.
    pub fn levels(&self) -> u32 {
        1 << self.bits
    }

    /// Quantises the rows of `x` to the nearest level of each unit's range (values outside the
    /// fitted range are clamped to it). Fails if `x` does not have the fitted number of units.
    pub fn quantize(&self, x: Matrix) -> Result<Quantized> {
        let d = self.min.len();
        if x.cols() != d {
            return Err(EvalError::input(format!("quantiser fitted on {d} units, given {}", x.cols())));
        }
        let top = (self.levels() - 1) as f64;
        let mut codes = Vec::with_capacity(x.data().len());
        let mut dequantized = Vec::with_capacity(x.data().len());
        for r in x.data().chunks_exact(d) {
            for ((&v, &lo), &hi) in r.iter().zip(&self.min).zip(&self.max) {
                let (lo, hi) = (lo as f64, hi as f64);
                if hi > lo {
                    let q = ((v as f64 - lo) / (hi - lo) * top).round().clamp(0.0, top);
                    codes.push(q as u16);
                    dequantized.push((lo + q * (hi - lo) / top) as f32);
                } else {
                    codes.push(0);
                    dequantized.push(lo as f32);
                }
            }
        }
        let varying = self.min.iter().zip(&self.max).filter(|(a, b)| b > a).count() as u64;
        Ok(Quantized {
            codes,
            dequantized,
            rows: x.rows(),
            payload_bits: x.rows() as u64 * varying * self.bits as u64,
            side_bits: d as u64 * SIDE_BITS_PER_UNIT,
        })
    }
}

/// Quantises `x` with ranges fitted on `x` itself ([`Quantizer::fit`] then
/// [`Quantizer::quantize`]).
pub fn quantize(x: Matrix, bits: u8) -> Result<Quantized> {
    Quantizer::fit(x, bits)?.quantize(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_cases() {
        // Unit 0 spans 0..3, unit 1 is constant 5. With 2 bits (levels 0, 1, 2, 3) unit 0 is
        // exact; with 1 bit, 0 and 1 round to level 0 (0 / 3, 1 / 3) and 2, 3 to level 1 (-> 3).
        let x = [0.0, 5.0, 1.0, 5.0, 2.0, 5.0, 3.0, 5.0];
        let m = Matrix::new(&x, 4, 2).unwrap();
        let q = quantize(m, 2).unwrap();
        assert_eq!(q.codes, vec![0, 0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(q.dequantized, x.to_vec());
        // 4 items x 1 varying unit x 2 bits, plus 2 ranges of 64 bits.
        assert_eq!((q.payload_bits, q.side_bits, q.total_bits()), (8, 128, 136));
        assert_eq!(q.bits_per_item(), 34.0);
        let q = quantize(m, 1).unwrap();
        assert_eq!(q.codes, vec![0, 0, 0, 0, 1, 0, 1, 0]);
        assert_eq!(q.dequantized, vec![0.0, 5.0, 0.0, 5.0, 3.0, 5.0, 3.0, 5.0]);
    }

    #[test]
    fn error_is_within_half_a_step_and_out_of_range_clamps() {
        let x: Vec<f32> = (0..1000).map(|i| ((i as f32) * 0.731).sin() * 3.0).collect();
        let m = Matrix::new(&x, 500, 2).unwrap();
        for bits in [1u8, 3, 8, 16] {
            let qz = Quantizer::fit(m, bits).unwrap();
            let q = qz.quantize(m).unwrap();
            for (i, (&a, &b)) in x.iter().zip(&q.dequantized).enumerate() {
                let step = (qz.max[i % 2] - qz.min[i % 2]) as f64 / (qz.levels() - 1) as f64;
                assert!(((a - b) as f64).abs() <= step / 2.0 + 1e-6, "bits {bits}");
            }
            assert!(q.codes.iter().all(|&c| (c as u32) < qz.levels()));
        }
        let qz = Quantizer::fit(m, 4).unwrap();
        let q = qz.quantize(Matrix::new(&[100.0, -100.0], 1, 2).unwrap()).unwrap();
        assert_eq!(q.codes, vec![15, 0]);
        assert_eq!(q.dequantized, vec![qz.max[0], qz.min[1]]);
    }

    #[test]
    fn rejects_bad_input() {
        let m = Matrix::new(&[0.0, 1.0], 1, 2).unwrap();
        assert!(quantize(m, 0).unwrap_err().to_string().contains("1 to 16"));
        assert!(quantize(m, 17).is_err());
        let qz = Quantizer::fit(m, 8).unwrap();
        assert!(qz.quantize(Matrix::new(&[0.0], 1, 1).unwrap()).is_err());
    }
}

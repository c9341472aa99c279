//! Procedurally drawn shapes: a dataset the program makes itself, so that a run needs no download.
//!
//! Each item is a 28x28 grayscale image of one of four shapes (ring, square, triangle, cross) at a
//! random position, size and stroke, anti-aliased by 4x4 supersampling. The same seed always draws
//! the same images.

use crate::dataset::{Dataset, Features};
use ae_core::SplitMix64;

/// Image side in pixels.
pub const SIDE: usize = 28;

/// Class names, in label order.
pub const CLASSES: [&str; 4] = ["ring", "square", "triangle", "cross"];

/// Draws `n` images with balanced classes (item `i` has class `i % 4`).
pub fn generate(n: usize, seed: u64) -> Dataset {
    let mut rng = SplitMix64::new(seed, 0x0005_A4E5);
    let mut pixels = Vec::with_capacity(n * SIDE * SIDE);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = i % CLASSES.len();
        let shape = Shape::random(class, &mut rng);
        for y in 0..SIDE {
            for x in 0..SIDE {
                pixels.push((shape.coverage(x, y) * 255.0).round() as u8);
            }
        }
        labels.push(class as u16);
    }
    Dataset {
        features: Features::U8(pixels),
        item_shape: vec![1, SIDE, SIDE],
        labels: Some(labels),
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
    }
}

struct Shape {
    class: usize,
    cx: f64,
    cy: f64,
    r: f64,
    stroke: f64,
    angle: f64,
}

impl Shape {
    fn random(class: usize, rng: &mut SplitMix64) -> Self {
        let r = rng.uniform(5.5, 10.0);
        let m = r + 1.5;
        Shape {
            class,
            cx: rng.uniform(m, SIDE as f64 - m),
            cy: rng.uniform(m, SIDE as f64 - m),
            r,
            stroke: rng.uniform(1.6, 3.0),
            angle: rng.uniform(-0.5, 0.5),
        }
    }

    /// Fraction of pixel (x, y) covered, from 4x4 samples.
    fn coverage(&self, x: usize, y: usize) -> f64 {
        let mut hits = 0;
        for sy in 0..4 {
            for sx in 0..4 {
                let px = x as f64 + (sx as f64 + 0.5) / 4.0;
                let py = y as f64 + (sy as f64 + 0.5) / 4.0;
                if self.contains(px, py) {
                    hits += 1;
                }
            }
        }
        hits as f64 / 16.0
    }

    fn contains(&self, px: f64, py: f64) -> bool {
        // Rotate the point into the shape's frame.
        let (s, c) = self.angle.sin_cos();
        let dx = px - self.cx;
        let dy = py - self.cy;
        let u = c * dx + s * dy;
        let v = -s * dx + c * dy;
        match self.class {
            0 => {
                let d = (u * u + v * v).sqrt();
                d <= self.r && d >= self.r - self.stroke
            }
            1 => u.abs() <= self.r * 0.8 && v.abs() <= self.r * 0.8,
            2 => {
                // Upward triangle inscribed in the circle of radius r.
                let h = self.r;
                v <= h * 0.5 && v >= -h && u.abs() <= (v + h) / (1.5 * h) * (h * 0.866)
            }
            _ => {
                (u.abs() <= self.stroke * 0.7 && v.abs() <= self.r)
                    || (v.abs() <= self.stroke * 0.7 && u.abs() <= self.r)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_balanced_and_drawn() {
        let a = generate(40, 3);
        assert_eq!(a, generate(40, 3));
        assert_ne!(a, generate(40, 4));
        assert_eq!(a.len(), 40);
        assert_eq!(a.class_counts(), vec![10; 4]);
        // Every image has ink, and none is filled.
        for i in 0..a.len() {
            let mut item = vec![0.0; SIDE * SIDE];
            a.write_raw(i, &mut item);
            let ink = item.iter().filter(|&&p| p > 127.0).count();
            assert!(ink > 15 && ink < SIDE * SIDE / 2, "item {i} has {ink} inked pixels");
        }
    }
}

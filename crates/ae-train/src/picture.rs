//! Pictures of items: inputs above their reconstructions, as PNG.

use std::path::Path;

use ae_data::Normalizer;
use image::{Rgb, RgbImage};

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;

/// How one item is drawn: an image of `channels x height x width`, or a vector laid out on a grid.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    channels: usize,
    height: usize,
    width: usize,
}

impl Layout {
    /// The layout for items of `shape` (`[c, h, w]` with 1 or 3 channels is an image).
    pub fn for_shape(shape: &[usize]) -> Self {
        match shape {
            [c, h, w] if *c == 1 || *c == 3 => Self { channels: *c, height: *h, width: *w },
            _ => {
                let d: usize = shape.iter().product();
                let w = (d as f64).sqrt().ceil().max(1.0) as usize;
                Self { channels: 1, height: d.div_ceil(w), width: w }
            }
        }
    }
}

/// Draws `rows` of items (each a row of equally many items in normalised units) and writes a PNG.
///
/// Values are mapped back through `normalizer`; images with unit normalisation show as they are,
/// other data is scaled to the range of the first row (the inputs), shared by all rows.
pub fn save_rows(path: &Path, rows: &[Vec<Vec<f32>>], shape: &[usize], normalizer: &Normalizer) -> Result<()> {
    let layout = Layout::for_shape(shape);
    let cols = rows.first().map(|r| r.len()).unwrap_or(0);
    if cols == 0 {
        return Err(AppError::runtime(format!("{}: no items to draw", path.display())));
    }
    let raw: Vec<Vec<Vec<f32>>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|item| {
                    let mut v = item.clone();
                    normalizer.invert(&mut v);
                    v
                })
                .collect()
        })
        .collect();
    let (lo, hi) = if normalizer.is_unit_range() && normalizer.offset.len() == 1 {
        (0.0, normalizer.scale[0])
    } else {
        let first = raw[0].iter().flatten();
        let lo = first.clone().fold(f32::INFINITY, |a, &b| a.min(b));
        let hi = first.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        (lo, if hi > lo { hi } else { lo + 1.0 })
    };
    let zoom = (64 / layout.height.max(layout.width)).max(1) as u32;
    let (tw, th) = (layout.width as u32 * zoom, layout.height as u32 * zoom);
    let gap = 4u32;
    let width = cols as u32 * (tw + gap) + gap;
    let height = rows.len() as u32 * (th + gap) + gap;
    let mut img = RgbImage::from_pixel(width, height, Rgb([40, 40, 48]));
    let plane = layout.height * layout.width;
    for (r, row) in raw.iter().enumerate() {
        for (c, item) in row.iter().enumerate() {
            let (x0, y0) = (gap + c as u32 * (tw + gap), gap + r as u32 * (th + gap));
            for y in 0..layout.height {
                for x in 0..layout.width {
                    let px = |ch: usize| {
                        let v = item.get(ch * plane + y * layout.width + x).copied().unwrap_or(lo);
                        (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
                    };
                    let color = if layout.channels == 3 { Rgb([px(0), px(1), px(2)]) } else { Rgb([px(0); 3]) };
                    for dy in 0..zoom {
                        for dx in 0..zoom {
                            img.put_pixel(x0 + x as u32 * zoom + dx, y0 + y as u32 * zoom + dy, color);
                        }
                    }
                }
            }
        }
    }
    let mut png = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| AppError::runtime(format!("{}: cannot encode PNG: {e}", path.display())))?;
    write_atomic(path, &png)
}

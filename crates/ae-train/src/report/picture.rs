//! Pictures of items as PNG files: rows of tiles drawn by `ae_eval::plot::grid` (inputs above
//! reconstructions, noisy / denoised / clean, samples from a prior), from the normalised values
//! the model sees.

use std::path::Path;

use ae_data::Normalizer;
use ae_eval::plot::{self, Grid};
pub use ae_eval::plot::{Png, Tile};

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;

/// Draws `rows` of items (each in normalised units) without captions and writes a PNG; see
/// [`save_tiles`].
pub fn save_rows(path: &Path, rows: &[Vec<Vec<f32>>], shape: &[usize], normalizer: &Normalizer) -> Result<()> {
    save_tiles(path, &uncaptioned(rows), shape, normalizer)
}

/// Writes rows of tiles (values in normalised units) as a PNG, each caption under its tile.
/// Values are mapped back through `normalizer`; data normalised to [0, 1] shows as it is, other
/// data is scaled to the range of all tiles.
pub fn save_tiles(path: &Path, rows: &[Vec<Tile>], shape: &[usize], normalizer: &Normalizer) -> Result<()> {
    let png = encode_tiles(rows, shape, normalizer)
        .map_err(|e| AppError::runtime(format!("{}: {}", path.display(), e.message)))?;
    write_atomic(path, &png.bytes)
}

/// Rows of items (normalised values) without captions as a PNG; see [`encode_tiles`].
pub fn encode_rows(rows: &[Vec<Vec<f32>>], shape: &[usize], normalizer: &Normalizer) -> Result<Png> {
    encode_tiles(&uncaptioned(rows), shape, normalizer)
}

fn uncaptioned(rows: &[Vec<Vec<f32>>]) -> Vec<Vec<Tile>> {
    rows.iter().map(|r| r.iter().map(|v| Tile { values: v.clone(), caption: String::new() }).collect()).collect()
}

/// Rows of tiles drawn as by [`save_tiles`], encoded as a PNG in memory.
pub fn encode_tiles(rows: &[Vec<Tile>], shape: &[usize], normalizer: &Normalizer) -> Result<Png> {
    let raw: Vec<Vec<Tile>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|t| {
                    let mut values = t.values.clone();
                    normalizer.invert(&mut values);
                    Tile { values, caption: t.caption.clone() }
                })
                .collect()
        })
        .collect();
    let range = if normalizer.is_unit_range() && normalizer.offset.len() == 1 {
        (0.0, normalizer.scale[0])
    } else {
        let all = raw.iter().flatten().flat_map(|t| t.values.iter()).filter(|v| v.is_finite());
        let lo = all.clone().fold(f32::INFINITY, |a, &b| a.min(b));
        let hi = all.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        (lo, if hi > lo { hi } else { lo + 1.0 })
    };
    plot::grid(&Grid { rows: &raw, shape, range }).map_err(|e| AppError::runtime(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_data::Normalization;

    #[test]
    fn values_are_mapped_back_to_the_data_range_and_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let norm = Normalizer { kind: Normalization::Unit, offset: vec![0.0], scale: vec![255.0] };
        let tile = |v: f32, c: &str| Tile { values: vec![v; 784], caption: c.into() };
        let rows = vec![vec![tile(0.0, "A-B+C"), tile(1.0, "0.25")], vec![tile(0.5, "7")]];
        save_tiles(&path, &rows, &[1, 28, 28], &norm).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2 * (56 + 4) + 4, plot::grid_height(2, &[1, 28, 28])));
        assert_eq!(img.get_pixel(4 + 60 + 10, 4 + 10).0, [255, 255, 255]);
        assert_eq!(img.get_pixel(4 + 10, 4 + 10).0, [0, 0, 0]);
        let e = save_tiles(&path, &[], &[1, 28, 28], &norm).unwrap_err();
        assert!(e.message.contains("grid.png") && e.message.contains("no items"), "{}", e.message);
    }
}

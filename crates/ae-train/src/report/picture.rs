//! Pictures of items as PNG: rows of tiles (images as they are, other items laid out on a square
//! grid), optionally with a short upper-case caption under each in a built-in 3x5 pixel font
//! (digits, letters, `+ - . = / : ( )`). Inputs above reconstructions, noisy / denoised / clean,
//! samples from a prior: every picture of items is drawn here.

use std::path::Path;

use ae_data::Normalizer;
use image::{Rgb, RgbImage};

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;

/// One item (normalised values) and its caption.
#[derive(Debug, Clone)]
pub struct Tile {
    /// The item's values, as the model sees them.
    pub values: Vec<f32>,
    /// Text under the item (upper-cased; characters the font lacks show as blanks).
    pub caption: String,
}

/// Glyphs of the 3x5 font: five rows of three pixels, top row first.
const GLYPHS: &[(char, &str)] = &[
    ('0', "111101101101111"),
    ('1', "010110010010111"),
    ('2', "111001111100111"),
    ('3', "111001111001111"),
    ('4', "101101111001001"),
    ('5', "111100111001111"),
    ('6', "111100111101111"),
    ('7', "111001001010010"),
    ('8', "111101111101111"),
    ('9', "111101111001111"),
    ('A', "010101111101101"),
    ('B', "110101110101110"),
    ('C', "011100100100011"),
    ('D', "110101101101110"),
    ('E', "111100110100111"),
    ('F', "111100110100100"),
    ('G', "011100101101011"),
    ('H', "101101111101101"),
    ('I', "111010010010111"),
    ('J', "001001001101010"),
    ('K', "101101110101101"),
    ('L', "100100100100111"),
    ('M', "101111111101101"),
    ('N', "110101101101101"),
    ('O', "010101101101010"),
    ('P', "110101110100100"),
    ('Q', "010101101110011"),
    ('R', "110101110101101"),
    ('S', "011100010001110"),
    ('T', "111010010010010"),
    ('U', "101101101101111"),
    ('V', "101101101101010"),
    ('W', "101101111111101"),
    ('X', "101101010101101"),
    ('Y', "101101010010010"),
    ('Z', "111001010100111"),
    ('-', "000000111000000"),
    ('+', "000010111010000"),
    ('.', "000000000000010"),
    ('=', "000111000111000"),
    ('/', "001001010100100"),
    (':', "000010000010000"),
    ('(', "010100100100010"),
    (')', "010001001001010"),
];

const BACKGROUND: Rgb<u8> = Rgb([40, 40, 48]);
const INK: Rgb<u8> = Rgb([235, 235, 160]);
const GAP: u32 = 4;

/// How one item is drawn: channels x height x width (an image of 1 or 3 channels), or a vector
/// laid out row by row on a square grid.
fn layout(shape: &[usize]) -> (usize, usize, usize) {
    match shape {
        [c, h, w] if *c == 1 || *c == 3 => (*c, *h, *w),
        _ => {
            let d: usize = shape.iter().product();
            let w = (d as f64).sqrt().ceil().max(1.0) as usize;
            (1, d.div_ceil(w), w)
        }
    }
}

/// Draws `text` with its top-left corner at (x, y), `scale` pixels per font pixel, clipped to
/// `max_width` pixels.
fn draw_text(img: &mut RgbImage, text: &str, x: u32, y: u32, scale: u32, max_width: u32) {
    let advance = 4 * scale;
    for (i, ch) in text.to_uppercase().chars().enumerate() {
        let x0 = x + i as u32 * advance;
        if x0 + 3 * scale > x + max_width {
            break;
        }
        let Some((_, bits)) = GLYPHS.iter().find(|(g, _)| *g == ch) else { continue };
        for (k, b) in bits.bytes().enumerate() {
            if b != b'1' {
                continue;
            }
            let (gx, gy) = ((k % 3) as u32, (k / 3) as u32);
            for dy in 0..scale {
                for dx in 0..scale {
                    let (px, py) = (x0 + gx * scale + dx, y + gy * scale + dy);
                    if px < img.width() && py < img.height() {
                        img.put_pixel(px, py, INK);
                    }
                }
            }
        }
    }
}

/// Draws `rows` of items (each in normalised units) without captions and writes a PNG; see
/// [`save_tiles`].
pub fn save_rows(path: &Path, rows: &[Vec<Vec<f32>>], shape: &[usize], normalizer: &Normalizer) -> Result<()> {
    save_tiles(path, &uncaptioned(rows), shape, normalizer)
}

/// Writes rows of tiles as a PNG, each caption under its tile (no caption band when every
/// caption is empty). Values are mapped back through `normalizer`; data normalised to [0, 1]
/// shows as it is, other data is scaled to the range of all tiles.
pub fn save_tiles(path: &Path, rows: &[Vec<Tile>], shape: &[usize], normalizer: &Normalizer) -> Result<()> {
    let png = encode_tiles(rows, shape, normalizer)
        .map_err(|e| AppError::runtime(format!("{}: {}", path.display(), e.message)))?;
    write_atomic(path, &png.bytes)
}

/// A picture encoded as PNG, and its size.
#[derive(Debug, Clone)]
pub struct Png {
    /// The PNG file's bytes.
    pub bytes: Vec<u8>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
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
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    if cols == 0 {
        return Err(AppError::runtime("no items to draw"));
    }
    let (channels, height, width) = layout(shape);
    let raw: Vec<Vec<Vec<f32>>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|t| {
                    let mut v = t.values.clone();
                    normalizer.invert(&mut v);
                    v
                })
                .collect()
        })
        .collect();
    let (lo, hi) = if normalizer.is_unit_range() && normalizer.offset.len() == 1 {
        (0.0, normalizer.scale[0])
    } else {
        let all = raw.iter().flatten().flatten().filter(|v| v.is_finite());
        let lo = all.clone().fold(f32::INFINITY, |a, &b| a.min(b));
        let hi = all.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        (lo, if hi > lo { hi } else { lo + 1.0 })
    };
    let zoom = (64 / height.max(width)).max(1) as u32;
    let (tw, th) = (width as u32 * zoom, height as u32 * zoom);
    let scale = if tw >= 40 { 2 } else { 1 };
    let captioned = rows.iter().flatten().any(|t| !t.caption.is_empty());
    let caption_h = if captioned { 5 * scale + 4 } else { 0 };
    let img_w = cols as u32 * (tw + GAP) + GAP;
    let img_h = rows.len() as u32 * (th + caption_h + GAP) + GAP;
    let mut img = RgbImage::from_pixel(img_w, img_h, BACKGROUND);
    let plane = height * width;
    for (r, (row, tiles)) in raw.iter().zip(rows).enumerate() {
        for (c, (item, tile)) in row.iter().zip(tiles).enumerate() {
            let (x0, y0) = (GAP + c as u32 * (tw + GAP), GAP + r as u32 * (th + caption_h + GAP));
            for y in 0..height {
                for x in 0..width {
                    let px = |ch: usize| {
                        let v = item.get(ch * plane + y * width + x).copied().unwrap_or(lo);
                        (((v - lo) / (hi - lo)).clamp(0.0, 1.0) * 255.0).round() as u8
                    };
                    let colour = if channels == 3 { Rgb([px(0), px(1), px(2)]) } else { Rgb([px(0); 3]) };
                    for dy in 0..zoom {
                        for dx in 0..zoom {
                            img.put_pixel(x0 + x as u32 * zoom + dx, y0 + y as u32 * zoom + dy, colour);
                        }
                    }
                }
            }
            draw_text(&mut img, &tile.caption, x0, y0 + th + 2, scale, tw);
        }
    }
    let mut bytes = Vec::new();
    img.write_to(&mut std::io::Cursor::new(&mut bytes), image::ImageFormat::Png)
        .map_err(|e| AppError::runtime(format!("cannot encode PNG: {e}")))?;
    Ok(Png { bytes, width: img_w, height: img_h })
}

/// Height in pixels of a picture of `rows` rows of captioned items of `shape` ([`save_tiles`]).
pub fn height(rows: usize, shape: &[usize]) -> u32 {
    let (_, h, w) = layout(shape);
    let zoom = (64 / h.max(w)).max(1) as u32;
    let scale = if w as u32 * zoom >= 40 { 2 } else { 1 };
    rows as u32 * (h as u32 * zoom + 5 * scale + 4 + GAP) + GAP
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_data::Normalization;

    #[test]
    fn glyphs_are_complete_and_distinct() {
        for (c, bits) in GLYPHS {
            assert_eq!(bits.len(), 15, "glyph {c}");
            assert!(bits.bytes().all(|b| b == b'0' || b == b'1'), "glyph {c}");
        }
        let mut all: Vec<&str> = GLYPHS.iter().map(|g| g.1).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), GLYPHS.len());
    }

    #[test]
    fn draws_tiles_and_captions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("grid.png");
        let norm = Normalizer { kind: Normalization::Unit, offset: vec![0.0], scale: vec![255.0] };
        let tile = |v: f32, c: &str| Tile { values: vec![v; 784], caption: c.into() };
        let rows = vec![vec![tile(0.0, "A-B+C"), tile(1.0, "0.25")], vec![tile(0.5, "7")]];
        save_tiles(&path, &rows, &[1, 28, 28], &norm).unwrap();
        let img = image::open(&path).unwrap().to_rgb8();
        assert_eq!(img.dimensions(), (2 * (56 + 4) + 4, height(2, &[1, 28, 28])));
        assert_eq!(img.get_pixel(4 + 60 + 10, 4 + 10).0, [255, 255, 255]);
        assert!(img.pixels().any(|p| *p == INK));
    }
}

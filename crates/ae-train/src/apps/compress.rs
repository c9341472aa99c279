//! `ae-train compress RUN`: the autoencoder as a lossy codec. Each code unit is quantised to b
//! bits (uniform levels over its range in the split), decoded, and measured: bits per pixel and
//! PSNR of the decoded items against the originals, and against the unquantised reconstructions.

use ae_eval::quantize::quantize;
use serde::Serialize;

use super::codes::{About, App, RunArgs, Want, check_flag};
use crate::apps::quality::psnr;
use crate::error::Result;
use crate::fsio::write_json;

/// `ae-train compress` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Bits per code unit (1 to 16).
    #[arg(long, default_value_t = 8)]
    pub bits: u8,
}

/// `compress.json`.
#[derive(Debug, Clone, Serialize)]
pub struct CompressReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Items compressed.
    pub items: usize,
    /// Values (pixels) per item.
    pub pixels_per_item: usize,
    /// Units per code.
    pub code_width: usize,
    /// Units that vary over the split (a constant unit costs no payload).
    pub varying_units: usize,
    /// Bits per unit.
    pub bits: u8,
    /// Payload bits per item: `bits * varying_units`.
    pub payload_bits_per_item: f64,
    /// Payload bits per pixel: payload bits per item / pixels per item.
    pub bits_per_pixel: f64,
    /// Bits per pixel with the side information (each unit's range, 64 bits) spread over the
    /// split's items.
    pub bits_per_pixel_with_ranges: f64,
    /// Bits per pixel of the stored data (8 for bytes, 32 for floats).
    pub original_bits_per_pixel: f64,
    /// original_bits_per_pixel / bits_per_pixel.
    pub compression_ratio: f64,
    /// The peak value of the PSNR (original units): 255 for bytes normalised to [0, 1], else the
    /// range of the split's values.
    pub peak: f64,
    /// Mean PSNR (dB) of the decoded quantised codes against the originals.
    pub psnr: f64,
    /// Mean PSNR of the unquantised reconstructions against the originals.
    pub psnr_unquantised: f64,
    /// Mean PSNR of the decoded quantised codes against the unquantised reconstructions (the
    /// loss the quantisation alone adds).
    pub psnr_quantised_vs_unquantised: f64,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl CompressReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        format!(
            "{}: {} units x {} bits = {:.4} bits per pixel ({:.1}x smaller than {} bits)\n\
             PSNR {:.2} dB quantised, {:.2} dB unquantised, {:.2} dB quantised vs unquantised\nwrote {}",
            self.about.header("compress", self.items),
            self.varying_units,
            self.bits,
            self.bits_per_pixel,
            self.compression_ratio,
            self.original_bits_per_pixel,
            self.psnr,
            self.psnr_unquantised,
            self.psnr_quantised_vs_unquantised,
            self.files.join(", ")
        )
    }
}

/// Mean over items (rows of `d` values) of the PSNR of `test` against `reference`; an exact item
/// (infinite PSNR) counts as 100 dB.
fn mean_psnr(reference: &[f32], test: &[f32], d: usize, peak: f64) -> f64 {
    let n = reference.len() / d;
    let total: f64 =
        reference.chunks_exact(d).zip(test.chunks_exact(d)).map(|(r, t)| psnr(r, t, peak).min(100.0)).sum();
    total / n.max(1) as f64
}

/// Runs the subcommand: writes `compress.json` and `compress.png` (rows: originals, unquantised
/// reconstructions, decoded quantised codes).
pub fn run(args: &Args) -> Result<CompressReport> {
    check_flag((1..=16).contains(&args.bits), "--bits", args.bits, "between 1 and 16")?;
    let app = App::open(&args.run)?;
    let c = app.collect(app.split, Want { inputs: true, codes: true, ..Want::default() })?;
    let (n, d, w) = (c.items, c.cols, c.width);
    let q = quantize(c.code_matrix()?, args.bits)?;
    let decoded = app.decode(&q.dequantized)?;
    let unquantised = app.decode(&c.codes)?;

    // Measure in original units.
    let normalizer = &app.t.data.normalizer;
    let original_units = |v: &[f32]| {
        let mut out = v.to_vec();
        out.chunks_exact_mut(d).for_each(|r| normalizer.invert(r));
        out
    };
    let (orig, dec, unq) = (original_units(&c.inputs), original_units(&decoded), original_units(&unquantised));
    let peak = if normalizer.is_unit_range() && normalizer.scale.len() == 1 {
        normalizer.scale[0] as f64
    } else {
        let lo = orig.iter().fold(f32::INFINITY, |a, &b| a.min(b));
        let hi = orig.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        (hi - lo).max(f32::MIN_POSITIVE) as f64
    };
    let varying_units = (q.payload_bits / (n as u64 * args.bits as u64)) as usize;
    let payload_bits_per_item = q.payload_bits as f64 / n as f64;
    let bits_per_pixel = payload_bits_per_item / d as f64;
    let original_bits_per_pixel = app.view(app.split)?.data.features.bits_per_value() as f64;
    let shown: Vec<usize> = (0..n.min(8)).collect();
    app.picture("compress.png", &[&c.inputs, &unquantised, &decoded], &shown)?;
    let report = CompressReport {
        about: app.about(),
        items: n,
        pixels_per_item: d,
        code_width: w,
        varying_units,
        bits: args.bits,
        payload_bits_per_item,
        bits_per_pixel,
        bits_per_pixel_with_ranges: q.total_bits() as f64 / n as f64 / d as f64,
        original_bits_per_pixel,
        compression_ratio: if bits_per_pixel > 0.0 { original_bits_per_pixel / bits_per_pixel } else { f64::INFINITY },
        peak,
        psnr: mean_psnr(&orig, &dec, d, peak),
        psnr_unquantised: mean_psnr(&orig, &unq, d, peak),
        psnr_quantised_vs_unquantised: mean_psnr(&unq, &dec, d, peak),
        files: vec!["compress.png".into(), "compress.json".into()],
    };
    write_json(&app.file("compress.json"), &report)?;
    Ok(report)
}

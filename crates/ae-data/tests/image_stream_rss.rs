//! A streamed image folder read whole through a `BatchStream` keeps the process's resident memory
//! bounded: the dataset holds one path per item, and only the batches in flight hold pixels. In
//! its own test binary, so that no other test's allocations move the resident set meanwhile.
//! Linux only (it reads `/proc/self/status`).

#![cfg(target_os = "linux")]

mod common;

use std::sync::Arc;

use ae_data::Dataset;
use ae_data::image_folder::{ImageFolderOptions, decoded_bytes};
use ae_data::{BatchStream, Features, Normalization, Normalizer, View};
use common::rss;

const ITEMS: usize = 2000;
const SIDE: u32 = 128;
const MIB: usize = 1 << 20;

#[test]
fn streaming_a_folder_holds_the_batches_in_flight_not_the_decoded_images() {
    let dir = tempfile::tempdir().unwrap();
    // Ten distinct PNGs, each written 200 times (encoding 2000 would only slow the test).
    let pngs: Vec<Vec<u8>> = (0..10u32)
        .map(|k| {
            let img = image::RgbImage::from_fn(SIDE, SIDE, |x, y| {
                image::Rgb([(x * 2 + k) as u8, (y * 2) as u8, ((x ^ y) + 10 * k) as u8])
            });
            let mut bytes = std::io::Cursor::new(Vec::new());
            img.write_to(&mut bytes, image::ImageFormat::Png).unwrap();
            bytes.into_inner()
        })
        .collect();
    for class in 0..4 {
        let folder = dir.path().join(format!("c{class}"));
        std::fs::create_dir_all(&folder).unwrap();
        for i in 0..ITEMS / 4 {
            std::fs::write(folder.join(format!("{i:05}.png")), &pngs[(class * 7 + i) % 10]).unwrap();
        }
    }
    let opts = ImageFolderOptions { channels: 3, size: None, stream: Some(true) };
    let decoded = decoded_bytes(ITEMS, 3, [SIDE as usize; 2]) as usize;

    let before = rss();
    let data = Arc::new(Dataset::read_image_folder(dir.path(), opts).unwrap());
    assert!(matches!(data.features, Features::Files(_)));
    assert_eq!((data.len(), data.item_shape.clone()), (ITEMS, vec![3, SIDE as usize, SIDE as usize]));
    let norm = Arc::new(Normalizer::fit(Normalization::None, &data));
    let mut peak = rss();
    let (mut rows, mut sum) = (0, 0f64);
    for batch in BatchStream::new(View::all(data.clone(), norm), (0..ITEMS).collect(), 8, 2) {
        rows += batch.rows;
        sum += batch.x.iter().map(|&v| v as f64).sum::<f64>();
        peak = peak.max(rss());
    }
    let streamed_rise = peak.saturating_sub(before);
    assert_eq!(rows, ITEMS);
    drop(data);

    // The same folder decoded up front: the measurement does see the decoded pixels.
    let before = rss();
    let memory = Dataset::read_image_folder(dir.path(), ImageFolderOptions { stream: Some(false), ..opts }).unwrap();
    let memory_rise = rss().saturating_sub(before);
    let Features::U8(pixels) = &memory.features else { panic!("decoded up front") };
    assert_eq!(pixels.iter().map(|&b| b as f64).sum::<f64>(), sum, "the streamed items are the decoded ones");

    eprintln!(
        "decoded {} MiB: streaming raised VmRSS by {} MiB, decoding up front by {} MiB",
        decoded / MIB,
        streamed_rise / MIB,
        memory_rise / MIB
    );
    assert!(streamed_rise < decoded / 4, "streaming raised VmRSS by {streamed_rise} bytes of {decoded} decoded");
    assert!(memory_rise > decoded / 2, "decoding up front raised VmRSS by only {memory_rise} bytes of {decoded}");
}

//! Times decoding a streamed image folder: items per second that one batch worker decodes (one
//! thread reading every item through `Dataset::write_raw`), then a `BatchStream` with 1 and 2
//! workers over all items. FOLDER defaults to the CIFAR-10 test JPEGs (32x32 RGB) under
//! `$AE_DATA_DIR`, else `../shared/datasets` beside the repository.
//! Run in release: `cargo run --release -p ae-data --example stream_decode [FOLDER]`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use ae_data::Dataset;
use ae_data::image_folder::ImageFolderOptions;
use ae_data::{BatchStream, Normalization, Normalizer, View};

fn main() {
    let folder = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("AE_DATA_DIR").map(|d| PathBuf::from(d).join("cifar10/test")))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets/cifar10/test"));
    let opts = ImageFolderOptions { channels: 3, size: None, stream: Some(true) };
    let t = Instant::now();
    let data = Dataset::read_image_folder(&folder, opts).expect("an image folder");
    let n = data.len();
    println!(
        "{}: {n} items {:?}, listed and headers checked in {:.3} s",
        folder.display(),
        data.item_shape,
        t.elapsed().as_secs_f64()
    );

    let mut row = vec![0f32; data.item_len()];
    for round in 0..2 {
        let t = Instant::now();
        for i in 0..n {
            data.write_raw(i, &mut row);
        }
        let s = t.elapsed().as_secs_f64();
        println!("one thread, pass {}: {:.3} s, {:.0} items/s", round + 1, s, n as f64 / s);
    }

    let t = Instant::now();
    let upfront = Dataset::read_image_folder(&folder, ImageFolderOptions { stream: Some(false), ..opts }).unwrap();
    println!("decoded up front: {:.3} s ({} items)", t.elapsed().as_secs_f64(), upfront.len());

    let data = Arc::new(data);
    let norm = Arc::new(Normalizer::fit(Normalization::Unit, &data));
    for workers in [1, 2] {
        let view = View::all(data.clone(), norm.clone());
        let t = Instant::now();
        let rows: usize = BatchStream::new(view, (0..n).collect(), 64, workers).map(|b| b.rows).sum();
        let s = t.elapsed().as_secs_f64();
        println!("BatchStream, {workers} worker(s), batches of 64: {:.3} s, {:.0} items/s", s, rows as f64 / s);
    }
}

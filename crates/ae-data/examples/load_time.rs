//! Times loading the real datasets: MNIST's training split (IDX, gzipped) and the CIFAR-10 test
//! JPEGs. Run in release: `cargo run --release -p ae-data --example load_time [ROOT]`, ROOT
//! defaulting to `$AE_DATA_DIR`, else `../shared/datasets` beside the repository.

use std::path::PathBuf;
use std::time::Instant;

use ae_data::{LoadOptions, idx, load};

/// Best and median of `runs` timings of `f`, in seconds.
fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, f64, T) {
    let mut times = Vec::new();
    let mut last = None;
    for _ in 0..runs {
        let t = Instant::now();
        last = Some(f());
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (times[0], times[times.len() / 2], last.expect("at least one run"))
}

fn main() {
    let root = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("AE_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    let opts = LoadOptions { root: root.clone(), limit: None, seed: 0 };
    println!("data root: {}", root.display());

    let mnist = root.join("mnist");
    let (best, median, (images, labels)) = time(5, || {
        idx::read_images_and_labels(
            &mnist.join("train-images-idx3-ubyte.gz"),
            &mnist.join("train-labels-idx1-ubyte.gz"),
        )
        .expect("MNIST training files")
    });
    println!(
        "MNIST train (IDX gz, {} images {:?}, {} labels): best {:.3} s, median {:.3} s",
        images.dims[0],
        &images.dims[1..],
        labels.len(),
        best,
        median
    );
    let (best, median, splits) = time(3, || load("mnist", &opts).expect("mnist"));
    println!(
        "MNIST train + test through the catalog ({} + {} items): best {:.3} s, median {:.3} s",
        splits.train.len(),
        splits.test.as_ref().map_or(0, |t| t.len()),
        best,
        median
    );
    let (best, median, splits) = time(3, || load("cifar10-test", &opts).expect("cifar10-test"));
    println!(
        "CIFAR-10 test JPEGs ({} images {:?}): best {:.3} s, median {:.3} s",
        splits.train.len(),
        splits.train.item_shape,
        best,
        median
    );
}

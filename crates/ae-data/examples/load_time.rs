//! Times loading the real datasets: MNIST's training split (IDX, gzipped), the CIFAR-10 test
//! JPEGs, and CIFAR-10 binary batches from the folder and from the `.tar.gz` (the real ones when
//! ROOT has them, else full-size batches of random bytes written to a temporary folder).
//! Run in release: `cargo run --release -p ae-data --example load_time [ROOT]`, ROOT defaulting
//! to `$AE_DATA_DIR`, else `../shared/datasets` beside the repository.

use std::path::PathBuf;
use std::time::Instant;

use std::io::Write;
use std::path::Path;

use ae_data::{LoadOptions, cifar, idx, load};

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

    let real_folder = root.join(ae_data::catalog::CIFAR10_FOLDER);
    let real_archive = root.join(ae_data::catalog::CIFAR10_ARCHIVE);
    let tmp = tempfile::tempdir().expect("temporary folder");
    let (folder, archive, what) = if real_folder.is_dir() && real_archive.is_file() {
        (real_folder, real_archive, "real")
    } else {
        let (f, a) = synthetic_cifar(tmp.path());
        (f, a, "synthetic full-size")
    };
    let (best, median, s) = time(3, || cifar::read_folder(&folder).expect("CIFAR-10 folder"));
    println!(
        "CIFAR-10 binary, {what}, from the folder ({} + {} items): best {:.3} s, median {:.3} s",
        s.train.len(),
        s.test.len(),
        best,
        median
    );
    let (best, median, s) = time(3, || cifar::read_archive(&archive).expect("CIFAR-10 archive"));
    println!(
        "CIFAR-10 binary, {what}, from the .tar.gz ({} + {} items): best {:.3} s, median {:.3} s",
        s.train.len(),
        s.test.len(),
        best,
        median
    );
}

/// Six batches of 10000 records of pseudo-random bytes (labels 0..9), as a folder and a .tar.gz.
fn synthetic_cifar(dir: &Path) -> (PathBuf, PathBuf) {
    let folder = dir.join(cifar::FOLDER);
    std::fs::create_dir_all(&folder).unwrap();
    let archive = dir.join("cifar-10-binary.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&archive).unwrap(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    for name in cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]) {
        let mut batch = Vec::with_capacity(10000 * cifar::RECORD_BYTES);
        for r in 0..10000 {
            batch.push((r % 10) as u8);
            for _ in 0..cifar::IMAGE_BYTES / 8 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                batch.extend_from_slice(&state.to_le_bytes());
            }
        }
        std::fs::write(folder.join(name), &batch).unwrap();
        let mut h = tar::Header::new_gnu();
        h.set_size(batch.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{}/{name}", cifar::FOLDER), &batch[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    (folder, archive)
}

//! Packing streams: converting an IDX file or a CSV table far larger than the bounds below keeps
//! the process's resident memory within them, where loading it would need far more. In its own
//! test binary, so that no other test's allocations move the process's resident set meanwhile,
//! and its tests run one at a time. Linux only (it reads `/proc/self/status`).

#![cfg(target_os = "linux")]

mod common;

use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ae_data::csv::{CsvOptions, LabelColumn};
use ae_data::npy::MappedArray;
use ae_data::pack::pack;
use ae_data::{LoadOptions, Source};
use common::rss;

const SIDE: usize = 64;
const ROWS: usize = 64000;
const MIB: usize = 1 << 20;

/// Held by each test: they measure the whole process's memory.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Samples the peak `VmRSS` on a thread until the returned stop is called.
fn sample_peak() -> (Arc<AtomicUsize>, impl FnOnce() -> usize) {
    let peak = Arc::new(AtomicUsize::new(rss()));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let p = peak.clone();
    (p, move || {
        stop.store(true, Ordering::Relaxed);
        sampler.join().unwrap();
        peak.fetch_max(rss(), Ordering::Relaxed);
        peak.load(Ordering::Relaxed)
    })
}

/// An uncompressed IDX file of `rows` items of `dims` bytes each (item `i`: all `i % 251`, the
/// last byte `i % 7`), written a thousand items at a time.
fn write_idx(path: &Path, rows: usize, dims: &[usize]) {
    let mut f = BufWriter::new(std::fs::File::create(path).unwrap());
    f.write_all(&[0, 0, 8, 1 + dims.len() as u8]).unwrap();
    for d in std::iter::once(rows).chain(dims.iter().copied()) {
        f.write_all(&(d as u32).to_be_bytes()).unwrap();
    }
    let len: usize = dims.iter().product();
    let mut chunk = Vec::with_capacity(1000 * len);
    for start in (0..rows).step_by(1000) {
        chunk.clear();
        for i in start..(start + 1000).min(rows) {
            chunk.extend(std::iter::repeat_n((i % 251) as u8, len - 1));
            chunk.push((i % 7) as u8);
        }
        f.write_all(&chunk).unwrap();
    }
    f.flush().unwrap();
}

#[test]
fn packing_a_large_idx_file_keeps_resident_memory_bounded() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let mnist = dir.path().join("mnist");
    std::fs::create_dir(&mnist).unwrap();
    // The catalog's file names; IDX files are recognised by their bytes, gzipped or not.
    write_idx(&mnist.join("train-images-idx3-ubyte.gz"), ROWS, &[SIDE, SIDE]);
    let labels: Vec<u8> = (0..ROWS).map(|i| (i % 10) as u8).collect();
    let mut l = vec![0, 0, 8, 1];
    l.extend((ROWS as u32).to_be_bytes());
    l.extend(&labels);
    std::fs::write(mnist.join("train-labels-idx1-ubyte.gz"), l).unwrap();
    write_idx(&mnist.join("t10k-images-idx3-ubyte.gz"), 3, &[SIDE, SIDE]);
    std::fs::write(mnist.join("t10k-labels-idx1-ubyte.gz"), [0, 0, 8, 1, 0, 0, 0, 3, 1, 2, 3]).unwrap();
    let size = ROWS * SIDE * SIDE;
    assert!(size > 240 * MIB);

    let before = rss();
    let peak = Arc::new(AtomicUsize::new(before));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (peak.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                peak.fetch_max(rss(), Ordering::Relaxed);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
        })
    };
    let opts = LoadOptions { root: dir.path().to_path_buf(), limit: None, seed: 0 };
    let out = dir.path().join("packed");
    let mut calls = 0usize;
    let summary = pack(&Source::Named { name: "mnist".into() }, &opts, &out, &mut |p| {
        calls += 1;
        if p.done % 4096 == 0 {
            peak.fetch_max(rss(), Ordering::Relaxed);
        }
    })
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let rise = peak.load(Ordering::Relaxed).saturating_sub(before);
    eprintln!("VmRSS rise while packing {} MiB: {} MiB", size / MIB, rise / MIB);
    assert!(rise < 64 * MIB, "VmRSS rose by {} MiB packing a {} MiB file", rise / MIB, size / MIB);

    assert_eq!((summary.train_items, summary.test_items, calls), (ROWS, Some(3), ROWS + 3));
    let a = MappedArray::open(&out.join("train.npy")).unwrap();
    assert_eq!((a.rows(), a.item_shape()), (ROWS, &[1, SIDE, SIDE][..]));
    let mut item = vec![0f32; SIDE * SIDE];
    for row in [0, 1, 777, ROWS - 1] {
        a.write_item(row, &mut item);
        assert_eq!((item[0], item[SIDE * SIDE - 1]), ((row % 251) as f32, (row % 7) as f32), "row {row}");
    }
    assert_eq!(ae_data::npy::read_labels(&out.join("train_labels.npy")).unwrap()[..3], [0, 1, 2]);
    drop(a);

    // Loading the same source whole holds all of it: the measure above sees such memory.
    let before = rss();
    let loaded = ae_data::load("mnist", &opts).unwrap();
    let rise = rss().saturating_sub(before);
    assert_eq!(loaded.train.len(), ROWS);
    assert!(rise > size / 2, "loading {} MiB whole rose VmRSS by only {} MiB", size / MIB, rise / MIB);
}

const CSV_ROWS: usize = 200_000;
const CSV_COLUMNS: usize = 64;

/// A CSV table of `CSV_ROWS` rows of `CSV_COLUMNS` numbers and a label `k0`..`k4` (row `i`:
/// first cell `i`, the others `i % 997 + j / 64`, to four decimals), with a header.
fn write_csv(path: &Path) {
    let mut f = BufWriter::new(std::fs::File::create(path).unwrap());
    let header: Vec<String> = (0..CSV_COLUMNS).map(|j| format!("f{j}")).chain(["label".into()]).collect();
    writeln!(f, "{}", header.join(",")).unwrap();
    // The 997 distinct row tails, formatted once.
    let tails: Vec<String> =
        (0..997).map(|r| (1..CSV_COLUMNS).map(|j| format!(",{:.4}", r as f32 + j as f32 / 64.0)).collect()).collect();
    for i in 0..CSV_ROWS {
        writeln!(f, "{i}{},k{}", tails[i % 997], i % 5).unwrap();
    }
    f.flush().unwrap();
}

#[test]
fn packing_a_large_csv_table_keeps_resident_memory_bounded() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.csv");
    write_csv(&path);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(size > 100 * MIB, "{} MiB", size / MIB);
    let options = CsvOptions { label: Some(LabelColumn::Last), ..Default::default() };
    let source = Source::Csv { path: path.clone(), test: None, options };
    let opts = LoadOptions { root: dir.path().to_path_buf(), limit: None, seed: 0 };

    let before = rss();
    let (peak, stop) = sample_peak();
    let out = dir.path().join("packed");
    let summary = pack(&source, &opts, &out, &mut |p| {
        if p.done % 4096 == 0 {
            peak.fetch_max(rss(), Ordering::Relaxed);
        }
    })
    .unwrap();
    let rise = stop().saturating_sub(before);
    eprintln!("VmRSS rise while packing a {} MiB CSV: {} MiB", size / MIB, rise / MIB);
    assert!(rise < size / 4, "VmRSS rose by {} MiB packing a {} MiB CSV", rise / MIB, size / MIB);
    assert_eq!((summary.train_items, summary.item_shape.clone()), (CSV_ROWS, vec![CSV_COLUMNS]));
    assert_eq!(summary.classes, ["k0", "k1", "k2", "k3", "k4"]);
    let a = MappedArray::open(&out.join("train.npy")).unwrap();
    let mut item = vec![0f32; CSV_COLUMNS];
    for row in [0, 1, 998, CSV_ROWS - 1] {
        a.write_item(row, &mut item);
        let cell = |j: usize| format!("{:.4}", (row % 997) as f32 + j as f32 / 64.0).parse::<f32>().unwrap();
        assert_eq!((item[0], item[1], item[63]), (row as f32, cell(1), cell(63)), "row {row}");
    }
    let labels = ae_data::npy::read_labels(&out.join("train_labels.npy")).unwrap();
    assert_eq!((labels.len(), &labels[..6]), (CSV_ROWS, &[0, 1, 2, 3, 4, 0][..]));
    drop(a);

    // Loading the same table whole holds its values (a quarter of the file size and more).
    let before = rss();
    let (_, stop) = sample_peak();
    let loaded = ae_data::load_source(&source, &opts).unwrap();
    let rise = stop().saturating_sub(before);
    eprintln!("VmRSS rise while loading it whole: {} MiB", rise / MIB);
    assert_eq!(loaded.train.len(), CSV_ROWS);
    assert!(rise > size / 4, "loading {} MiB whole rose VmRSS by only {} MiB", size / MIB, rise / MIB);
}

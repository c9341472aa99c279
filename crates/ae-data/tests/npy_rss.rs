//! Reading a large memory-mapped `.npy` file keeps the process's resident memory bounded: the
//! pages touched through the map are released as items are served. In its own test binary, so
//! that no other test's allocations move the process's resident set meanwhile. Linux only (it
//! reads `/proc/self/status`).

#![cfg(target_os = "linux")]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ae_core::SplitMix64;
use ae_data::npy::{Dtype, MappedArray, NpyWriter};
use common::rss;

const SIDE: usize = 64;
const ROWS: usize = 65536;
const MIB: usize = 1 << 20;

/// Reads every item of `path` once, in a shuffled order, from two threads, checking each item's
/// first value; returns the largest rise of VmRSS over its value before mapping, in bytes.
fn peak_rss_rise(path: &Path, release_every: Option<usize>) -> usize {
    let before = rss();
    let mut array = MappedArray::open(path).unwrap();
    if let Some(bytes) = release_every {
        array = array.with_release_every(bytes);
    }
    let array = Arc::new(array);
    assert_eq!((array.rows(), array.item_shape()), (ROWS, &[SIDE, SIDE][..]));
    let order = SplitMix64::new(7, 1).permutation(ROWS);
    let peak = AtomicUsize::new(before);
    std::thread::scope(|s| {
        for half in order.chunks(ROWS / 2) {
            let (array, peak) = (&array, &peak);
            s.spawn(move || {
                let mut out = vec![0f32; SIDE * SIDE];
                for (k, &row) in half.iter().enumerate() {
                    array.write_item(row, &mut out);
                    assert_eq!((out[0], out[SIDE * SIDE - 1]), ((row % 251) as f32, (row % 7) as f32));
                    if k % 64 == 0 {
                        peak.fetch_max(rss(), Ordering::Relaxed);
                    }
                }
            });
        }
    });
    peak.load(Ordering::Relaxed).saturating_sub(before)
}

#[test]
fn resident_memory_stays_bounded_while_reading_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let mut w = NpyWriter::create(&path, Dtype::U8, &[SIDE, SIDE]).unwrap();
    let mut item = vec![0u8; SIDE * SIDE];
    for row in 0..ROWS {
        item.fill((row % 251) as u8);
        item[SIDE * SIDE - 1] = (row % 7) as u8;
        w.push_u8(&item).unwrap();
    }
    w.finish().unwrap();
    let size = ROWS * SIDE * SIDE;
    assert_eq!(size, 256 * MIB);

    // Released every 64 MiB charged (the default): the rise stays well under the file's size.
    let rise = peak_rss_rise(&path, None);
    eprintln!("VmRSS rise with releases: {} MiB", rise / MIB);
    assert!(rise < 128 * MIB, "VmRSS rose by {} MiB reading a {} MiB file", rise / MIB, size / MIB);

    // Never released: the same reads hold the whole file resident (in random order long before
    // all of it was read: one fault maps more than the item), so the measure above does see
    // mapped pages.
    let rise = peak_rss_rise(&path, Some(usize::MAX));
    eprintln!("VmRSS rise without releases: {} MiB", rise / MIB);
    assert!(rise > 200 * MIB, "VmRSS rose by only {} MiB without releases", rise / MIB);
}

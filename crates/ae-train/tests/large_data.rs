//! Data larger than the memory a run may use: a generated 2 GiB uint8 `.npy` (524,288 images of
//! 64x64) trains one epoch through the memory map while the process's peak resident memory stays
//! under 400 MiB, and a second run with the same seed repeats the split and the shuffle (the
//! same losses, bit for bit). Also: `data pack` of real CIFAR-10 JPEGs, trained on as packed.
//!
//! Its own test binary: the peak memory is that of the `ae-train` children this file starts, read
//! with `getrusage(RUSAGE_CHILDREN)` once they are reaped.

mod common;

use std::path::Path;

use ae_core::SplitMix64;
use ae_data::npy::{Dtype, NpyWriter};
use common::*;

const SIDE: usize = 64;
const ITEMS: usize = (2usize << 30) / (SIDE * SIDE);

/// Writes `ITEMS` 64x64 images of four kinds (horizontal or vertical stripes, a bright or a dark
/// disc) with noise, and their labels.
fn write_images(dir: &Path) {
    let mut w = NpyWriter::create(&dir.join("x.npy"), Dtype::U8, &[1, SIDE, SIDE]).unwrap();
    let mut rng = SplitMix64::new(11, 0);
    let mut item = vec![0u8; SIDE * SIDE];
    let mut labels = Vec::with_capacity(ITEMS);
    for i in 0..ITEMS {
        let class = (i % 4) as u16;
        let mut noise = rng.next_u64();
        for (p, px) in item.iter_mut().enumerate() {
            let (y, x) = ((p / SIDE) as i64, (p % SIDE) as i64);
            let base = match class {
                0 => 40 + 160 * ((y / 8) % 2),
                1 => 40 + 160 * ((x / 8) % 2),
                2 => {
                    if (y - 32).pow(2) + (x - 32).pow(2) < 400 {
                        220
                    } else {
                        30
                    }
                }
                _ => {
                    if (y - 32).pow(2) + (x - 32).pow(2) < 400 {
                        30
                    } else {
                        220
                    }
                }
            };
            if p % 8 == 0 {
                noise = rng.next_u64();
            }
            let n = ((noise >> ((p % 8) * 8)) & 0x1f) as i64 - 16;
            *px = (base + n).clamp(0, 255) as u8;
        }
        w.push_u8(&item).unwrap();
        labels.push(class);
    }
    assert_eq!(w.finish().unwrap(), ITEMS);
    ae_data::npy::write_labels(&dir.join("y.npy"), &labels).unwrap();
}

const CONFIG: &str = r#"
name = "large"
[data]
source = { kind = "npy", path = "x.npy", labels = "y.npy" }
val_fraction = 0.002
test_fraction = 0.002
[model.network]
kind = "dense"
hidden = [32]
code = 4
output_activation = "sigmoid"
[train]
epochs = 1
batch_size = 256
learning_rate = 3e-3
seed = 5
"#;

/// The largest resident set of any reaped child so far, in MiB.
fn children_peak_rss_mib() -> f64 {
    // SAFETY: getrusage writes into the struct it is given, and nothing else.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) }, 0);
    usage.ru_maxrss as f64 / 1024.0
}

#[test]
fn a_dataset_several_times_the_allowed_memory_trains_an_epoch_within_it_reproducibly() {
    let tmp = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    write_images(tmp.path());
    let bytes = std::fs::metadata(tmp.path().join("x.npy")).unwrap().len();
    assert!(bytes > 2 << 30, "{bytes}");
    eprintln!("wrote {bytes} bytes in {:.1} s", started.elapsed().as_secs_f64());
    let cfg = write_config(tmp.path(), "large.toml", CONFIG);
    let cfg = cfg.to_str().unwrap();

    let mut runs = Vec::new();
    for out in ["a", "b"] {
        let t = std::time::Instant::now();
        let o = train(tmp.path(), cfg, &[], &["--out", out]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let peak = children_peak_rss_mib();
        eprintln!("run {out}: {:.1} s, children's peak RSS so far {peak:.0} MiB", t.elapsed().as_secs_f64());
        assert!(peak < 400.0, "peak resident memory {peak:.0} MiB for a {} MiB dataset", bytes >> 20);
        runs.push(metrics(&tmp.path().join(out)));
    }
    // The one epoch saw (almost) every item: train items = 99.6 % of them.
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("a/summary.json")).unwrap()).unwrap();
    eprintln!("summary: {summary}");
    let m = &runs[0][0];
    assert_eq!(m["step"].as_u64(), Some(((ITEMS as f64 * 0.998 * 0.998) / 256.0).ceil() as u64), "{m}");
    // It learned: the validation loss is well below that of predicting mid-grey everywhere.
    let val = m["val_loss"].as_f64().unwrap();
    assert!(val < 0.05, "val loss {val}");
    // The same seed repeats the split and the order: the same losses, bit for bit.
    let losses = |r: &[serde_json::Value]| -> Vec<(Option<f64>, Option<f64>)> {
        r.iter().map(|e| (e["train_loss"].as_f64(), e["val_loss"].as_f64())).collect()
    };
    assert_eq!(losses(&runs[0]), losses(&runs[1]));
}

#[test]
fn packed_real_cifar_jpegs_train_as_an_npy_source() {
    let tmp = tempfile::tempdir().unwrap();
    let root = data_dir();
    let o = ae_train(
        tmp.path(),
        &["data", "pack", "cifar10-test", "--out", "packed", "--limit", "600", "--root", root.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("train 600 items") && out.contains("[3, 32, 32]") && out.contains("uint8"), "{out}");
    let line = out.lines().find(|l| l.trim_start().starts_with("source = {")).expect("a config line").trim();
    for f in ["train.npy", "train_labels.npy", "classes.txt"] {
        assert!(tmp.path().join("packed").join(f).is_file(), "{f}");
    }
    // Packing again into the same folder is refused and leaves it as it was.
    let o = ae_train(
        tmp.path(),
        &["data", "pack", "cifar10-test", "--out", "packed", "--limit", "10", "--root", root.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("packed"), "{}", stderr(&o));
    // The printed line, put in a config, trains on the packed items.
    let cfg = format!(
        "name = \"packed\"\n[data]\n{line}\nval_fraction = 0.1\ntest_fraction = 0.1\n[model.network]\nkind = \"dense\"\nhidden = [64]\ncode = 16\noutput_activation = \"sigmoid\"\n[train]\nepochs = 2\nbatch_size = 50\nlearning_rate = 2e-3\nseed = 1\n"
    );
    let cfg = write_config(tmp.path(), "packed.toml", &cfg);
    let o = train(tmp.path(), cfg.to_str().unwrap(), &[], &["--out", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = metrics(&tmp.path().join("run"));
    assert_eq!(m.len(), 2);
    assert!(m[1]["train_loss"].as_f64() < m[0]["train_loss"].as_f64(), "{m:?}");
    // A bad source is named, exit 2.
    let o = ae_train(tmp.path(), &["data", "pack", "no-such-thing", "--out", "x"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no-such-thing"), "{}", stderr(&o));
}

#[test]
fn a_streamed_image_folder_trains_as_the_one_decoded_up_front() {
    let tmp = tempfile::tempdir().unwrap();
    let folder = data_dir().join("cifar10/test");
    let mut runs = Vec::new();
    for stream in [true, false] {
        let cfg = format!(
            "name = \"streamed\"\n[data]\nsource = {{ kind = \"image_folder\", path = {:?}, options = {{ channels = 3, stream = {stream} }} }}\nlimit = 1500\nval_fraction = 0.1\ntest_fraction = 0.1\nnormalize = \"zscore\"\n[model.network]\nkind = \"dense\"\nhidden = [64]\ncode = 16\n[train]\nepochs = 2\nbatch_size = 50\nlearning_rate = 2e-3\nseed = 4\ninit_output_bias = true\n",
            folder.to_str().unwrap()
        );
        let path = write_config(tmp.path(), &format!("{stream}.toml"), &cfg);
        let out = format!("run-{stream}");
        let o = train(tmp.path(), path.to_str().unwrap(), &[], &["--out", &out]);
        assert_eq!(o.status.code(), Some(0), "stream = {stream}: {}", stderr(&o));
        runs.push((
            metrics(&tmp.path().join(&out)),
            std::fs::read(tmp.path().join(&out).join("normalizer.json")).unwrap(),
        ));
    }
    // Decoded per batch or up front: the same pixels, normaliser and losses (1,500 items are
    // fewer than the fit sample, so both fit on every item).
    assert_eq!(runs[0].1, runs[1].1);
    let losses = |m: &[serde_json::Value]| -> Vec<Option<f64>> { m.iter().map(|e| e["train_loss"].as_f64()).collect() };
    assert_eq!(losses(&runs[0].0), losses(&runs[1].0));
    assert!(runs[0].0[1]["train_loss"].as_f64() < runs[0].0[0]["train_loss"].as_f64());
}

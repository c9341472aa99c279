//! Streamed image folders (`ImageFolderOptions::stream`): the same items as decoding up front,
//! the automatic choice by decoded size, bad files reported at load time, and a file damaged
//! past its header reported at batch time, naming the file.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ae_data::image_folder::{AUTO_STREAM_BYTES, ImageFolderOptions, decoded_bytes};
use ae_data::{BatchStream, Dataset, Features, LoadOptions, Normalization, Normalizer, Source, View, load_source};

/// A deterministic `w` x `h` RGB image with varied pixels (so that resizing and JPEG matter).
fn picture(w: u32, h: u32, seed: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = (x * 37 + y * 91 + seed * 53) ^ (x * y * 7 + seed);
        image::Rgb([(v % 256) as u8, ((v / 3 + 40) % 256) as u8, ((x + y) * 20 + seed * 9) as u8])
    })
}

/// Saves `picture` at `path` (format from the extension), as gray when `gray`.
fn save(path: &Path, w: u32, h: u32, seed: u32, gray: bool) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let img = image::DynamicImage::ImageRgb8(picture(w, h, seed));
    if gray { img.to_luma8().save(path).unwrap() } else { img.save(path).unwrap() }
}

/// Three classes of PNGs and JPEGs, gray and RGB files, all `w` x `h`: 9 images.
fn folder(root: &Path, w: u32, h: u32) {
    let files = [
        ("cat/1.png", false),
        ("cat/2.jpg", false),
        ("cat/3.png", true),
        ("dog/1.jpeg", true),
        ("dog/2.png", false),
        ("dog/3.JPG", false),
        ("owl/1.png", false),
        ("owl/2.jpg", true),
        ("owl/3.png", false),
    ];
    for (k, (name, gray)) in files.iter().enumerate() {
        save(&root.join(name), w, h, k as u32, *gray);
    }
}

fn opts(channels: usize, size: Option<[usize; 2]>, stream: Option<bool>) -> ImageFolderOptions {
    ImageFolderOptions { channels, size, stream }
}

/// Every item as `write_raw` (and `try_write_raw`) serves it.
fn items(d: &Dataset) -> Vec<Vec<f32>> {
    (0..d.len())
        .map(|i| {
            let mut a = vec![f32::NAN; d.item_len()];
            d.write_raw(i, &mut a);
            let mut b = vec![f32::NAN; d.item_len()];
            d.try_write_raw(i, &mut b).unwrap();
            assert_eq!(a, b);
            a
        })
        .collect()
}

fn assert_same_items(streamed: &Dataset, memory: &Dataset) {
    assert!(matches!(streamed.features, Features::Files(_)), "{:?}", streamed.features);
    assert!(matches!(memory.features, Features::U8(_)));
    assert_eq!(streamed.item_shape, memory.item_shape);
    assert_eq!(streamed.len(), memory.len());
    assert_eq!((&streamed.labels, &streamed.classes), (&memory.labels, &memory.classes));
    assert_eq!(streamed.features.bits_per_value(), 8);
    assert_eq!(streamed.features.len(), memory.features.len());
    assert_eq!(items(streamed), items(memory));
}

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn streamed_folders_serve_the_items_decoding_up_front_serves() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), 6, 5);
    for channels in [1, 3] {
        for size in [None, Some([4, 7]), Some([5, 6])] {
            let memory = Dataset::read_image_folder(dir.path(), opts(channels, size, Some(false))).unwrap();
            let streamed = Dataset::read_image_folder(dir.path(), opts(channels, size, Some(true))).unwrap();
            let [h, w] = size.unwrap_or([5, 6]);
            assert_eq!(streamed.item_shape, vec![channels, h, w]);
            assert_eq!(streamed.classes, ["cat", "dog", "owl"]);
            assert_eq!(streamed.labels, Some(vec![0, 0, 0, 1, 1, 1, 2, 2, 2]));
            assert_same_items(&streamed, &memory);
            // Values of the items laid end to end (decodes the item).
            let k = 4 * streamed.item_len() + 3;
            assert_eq!(streamed.features.get(k), memory.features.get(k));

            // Subsets (repeats, any order) and truncation select the same items.
            let picks = [8, 0, 3, 3, 5];
            let (s, m) = (streamed.subset(&picks), memory.subset(&picks));
            assert_same_items(&s, &m);
            let (s2, m2) = (s.subset(&[4, 1]), m.subset(&[4, 1]));
            assert_same_items(&s2, &m2);
            let (mut s, mut m) = (streamed.clone(), memory.clone());
            s.truncate(4);
            m.truncate(4);
            assert_eq!(s.len(), 4);
            assert_same_items(&s, &m);
            let (mut s, mut m) = (streamed.subset(&picks), memory.subset(&picks));
            s.truncate(2);
            m.truncate(2);
            assert_same_items(&s, &m);
            assert_eq!(s, streamed.subset(&[8, 0]));
        }
    }
}

#[test]
fn streamed_sources_with_a_test_tree_and_a_limit_match_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train"), dir.path().join("test"));
    folder(&train, 6, 5);
    // The test tree has other sizes: it is resized to the training size, streamed or not.
    save(&test.join("owl/a.png"), 9, 4, 1, false);
    save(&test.join("cat/b.jpg"), 3, 3, 2, true);
    let load = |stream, limit| {
        let source =
            Source::ImageFolder { path: train.clone(), test: Some(test.clone()), options: opts(3, None, stream) };
        load_source(&source, &LoadOptions { root: PathBuf::from("/nonexistent"), limit, seed: 0 }).unwrap()
    };
    for limit in [None, Some(1)] {
        let (s, m) = (load(Some(true), limit), load(Some(false), limit));
        assert_eq!(s.default_normalization, Normalization::Unit);
        assert_same_items(&s.train, &m.train);
        let (st, mt) = (s.test.unwrap(), m.test.unwrap());
        assert_eq!(st.labels, mt.labels);
        assert_eq!(st.classes, s.train.classes);
        assert_same_items(&st, &mt);
        if limit.is_none() {
            assert_eq!(st.labels, Some(vec![0, 2]));
        }
    }
    // By default (stream = None) this small folder is decoded up front.
    let auto = load(None, None);
    assert!(matches!(auto.train.features, Features::U8(_)) && matches!(auto.test.unwrap().features, Features::U8(_)));
    // The option is optional in configs, and not written when unset.
    let o: ImageFolderOptions = serde_json::from_str(r#"{"channels": 3}"#).unwrap();
    assert_eq!(o, opts(3, None, None));
    assert_eq!(serde_json::to_string(&o).unwrap(), r#"{"channels":3,"size":null}"#);
    let o: ImageFolderOptions = serde_json::from_str(r#"{"channels": 1, "stream": true}"#).unwrap();
    assert_eq!(o.stream, Some(true));
}

#[test]
fn stream_none_streams_only_above_the_threshold() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), 6, 5);
    let kind = |o: ImageFolderOptions, threshold: u64| match Dataset::read_image_folder_with_threshold(
        dir.path(),
        o,
        threshold,
    )
    .unwrap()
    .features
    {
        Features::U8(_) => "up front",
        Features::Files(_) => "streamed",
        f => panic!("{f:?}"),
    };
    // 9 images x 3 channels x 5 x 6 = 810 bytes decoded; resized to 2x2: 108 bytes.
    assert_eq!(decoded_bytes(9, 3, [5, 6]), 810);
    assert_eq!(decoded_bytes(usize::MAX, 3, [5, 6]), u64::MAX);
    assert_eq!(kind(opts(3, None, None), 810), "up front");
    assert_eq!(kind(opts(3, None, None), 809), "streamed");
    assert_eq!(kind(opts(1, None, None), 270), "up front");
    assert_eq!(kind(opts(1, None, None), 269), "streamed");
    assert_eq!(kind(opts(3, Some([2, 2]), None), 108), "up front");
    assert_eq!(kind(opts(3, Some([2, 2]), None), 107), "streamed");
    // An explicit choice ignores the threshold.
    assert_eq!(kind(opts(3, None, Some(false)), 0), "up front");
    assert_eq!(kind(opts(3, None, Some(true)), u64::MAX), "streamed");
    // `read` uses AUTO_STREAM_BYTES, far above this folder.
    assert!(decoded_bytes(9, 3, [5, 6]) < AUTO_STREAM_BYTES);
    assert!(matches!(Dataset::read_image_folder(dir.path(), opts(3, None, None)).unwrap().features, Features::U8(_)));
}

/// CRC-32 (PNG chunks).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A PNG whose header declares `w` x `h` RGB pixels, followed by an IDAT chunk of `idat` bytes
/// that are no compressed data (the header reads; the pixels do not decode).
fn png_header(w: u32, h: u32, idat: usize) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    if idat > 0 {
        chunk(b"IDAT", &vec![0x55; idat]);
    }
    chunk(b"IEND", &[]);
    out
}

#[test]
fn bad_files_are_reported_at_load_time_when_streamed() {
    let dir = tempfile::tempdir().unwrap();
    folder(dir.path(), 6, 5);
    let read = |o| Dataset::read_image_folder_with_threshold(dir.path(), o, 0).map(|d| d.len());
    let err = |o| read(o).unwrap_err().to_string();
    for stream in [Some(true), None] {
        assert_eq!(read(opts(3, None, stream)).unwrap(), 9);
        // Not an image at all.
        std::fs::write(dir.path().join("dog/2.png"), "just some text").unwrap();
        let e = err(opts(3, None, stream));
        assert!(e.contains("dog/2.png: unreadable or corrupt image"), "{e}");
        let e = err(opts(1, Some([4, 4]), stream));
        assert!(e.contains("dog/2.png: unreadable or corrupt image"), "{e}");
        // Another size: an error without `size`, resized with it.
        save(&dir.path().join("dog/2.png"), 7, 5, 0, false);
        let e = err(opts(3, None, stream));
        assert!(e.contains("dog/2.png: image is 7x5, the others are 6x5"), "{e}");
        assert_eq!(read(opts(3, Some([5, 6]), stream)).unwrap(), 9);
        // A header too large to decode, even to be resized.
        std::fs::write(dir.path().join("dog/2.png"), png_header(100_000, 100_000, 16)).unwrap();
        let e = err(opts(3, Some([4, 4]), stream));
        assert!(e.contains("dog/2.png: image is 100000x100000: too large to decode"), "{e}");
        // A header without pixel data.
        std::fs::write(dir.path().join("dog/2.png"), png_header(6, 5, 0)).unwrap();
        let e = err(opts(3, None, stream));
        assert!(e.contains("dog/2.png: unreadable or corrupt image"), "{e}");
        // A JPEG that is not one.
        save(&dir.path().join("dog/2.png"), 6, 5, 0, false);
        std::fs::write(dir.path().join("owl/2.jpg"), b"\xff\xd8 not really").unwrap();
        let e = err(opts(3, None, stream));
        assert!(e.contains("owl/2.jpg: unreadable or corrupt image"), "{e}");
        save(&dir.path().join("owl/2.jpg"), 6, 5, 7, true);
    }
    // A test tree's bad file too.
    let test = dir.path().join("../test_tree_of_bad_files");
    std::fs::create_dir_all(test.join("cat")).unwrap();
    std::fs::write(test.join("cat/x.png"), "text").unwrap();
    let source =
        Source::ImageFolder { path: dir.path().into(), test: Some(test.clone()), options: opts(3, None, Some(true)) };
    let e = load_source(&source, &LoadOptions { root: PathBuf::from("/nonexistent"), limit: None, seed: 0 })
        .unwrap_err()
        .to_string();
    assert!(e.contains("cat/x.png: unreadable or corrupt image"), "{e}");
    std::fs::remove_dir_all(test).unwrap();
}

#[test]
fn a_file_damaged_past_its_header_fails_at_batch_time_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    for k in 0..6 {
        save(&dir.path().join(format!("a/{k}.png")), 16, 16, k, false);
    }
    // Item 4: a valid header, the pixel data cut in half.
    let bad = dir.path().join("a/4.png");
    let bytes = std::fs::read(&bad).unwrap();
    std::fs::write(&bad, &bytes[..bytes.len() / 2]).unwrap();

    // Decoding up front reports it at load time.
    let e = Dataset::read_image_folder(dir.path(), opts(3, None, Some(false))).unwrap_err().to_string();
    assert!(e.contains("a/4.png: unreadable or corrupt image"), "{e}");
    // Streamed, the header check passes; decoding the item fails, naming the file.
    let data = Arc::new(Dataset::read_image_folder(dir.path(), opts(3, None, Some(true))).unwrap());
    let mut row = vec![0f32; data.item_len()];
    data.try_write_raw(3, &mut row).unwrap();
    let e = data.try_write_raw(4, &mut row).unwrap_err().to_string();
    assert!(e.contains("a/4.png: unreadable or corrupt image") && e.contains("replace or remove it"), "{e}");
    let panic = message(catch_unwind(AssertUnwindSafe(|| data.write_raw(4, &mut row))).unwrap_err());
    assert!(panic.contains("a/4.png: unreadable or corrupt image"), "{panic}");

    let norm = Arc::new(Normalizer::fit(Normalization::Unit, &data));
    let view = View::all(data.clone(), norm);
    assert!(view.try_batch(&[0, 1, 2]).is_ok());
    let e = view.try_batch(&[0, 4]).unwrap_err().to_string();
    assert!(e.contains("a/4.png"), "{e}");

    // The stream delivers the batches before it, then the error, then ends.
    for workers in [1, 2, 3] {
        let mut stream = BatchStream::new(view.clone(), (0..6).collect(), 2, workers);
        assert_eq!(stream.try_next().unwrap().unwrap().rows, 2);
        assert_eq!(stream.try_next().unwrap().unwrap().rows, 2);
        let e = stream.try_next().unwrap().unwrap_err().to_string();
        assert!(e.contains("a/4.png: unreadable or corrupt image"), "{e}");
        assert!(stream.try_next().is_none() && stream.next().is_none());
    }
    // Iterated (as a trainer does), the failure is a panic on the consuming thread naming the
    // file, not a silently short epoch.
    let stream = BatchStream::new(view.clone(), vec![5, 4, 3, 2, 1, 0], 2, 2);
    let panic = message(catch_unwind(AssertUnwindSafe(|| stream.map(|b| b.rows).sum::<usize>())).unwrap_err());
    assert!(panic.contains("batch stream: ") && panic.contains("a/4.png: unreadable or corrupt image"), "{panic}");
    let panic = message(catch_unwind(AssertUnwindSafe(|| view.batch(&[4]))).unwrap_err());
    assert!(panic.contains("a/4.png"), "{panic}");
    // A stream that never reaches the item is unaffected.
    let rows: usize = BatchStream::new(view, vec![0, 1, 2, 3, 5], 2, 2).map(|b| b.rows).sum();
    assert_eq!(rows, 5);
}

#[test]
fn a_zscore_fit_on_a_sample_decodes_only_the_sampled_images() {
    // Three of the six files are damaged past their header: a full fit would decode them and
    // panic; a sample that avoids them fits, and equals the full fit over the good items.
    let dir = tempfile::tempdir().unwrap();
    for k in 0..6 {
        save(&dir.path().join(format!("a/{k}.png")), 8, 8, k, false);
    }
    let data = Dataset::read_image_folder(dir.path(), opts(1, None, Some(true))).unwrap();
    let memory = Dataset::read_image_folder(dir.path(), opts(1, None, Some(false))).unwrap();
    // A seed whose 3 sampled items are {0, 2, 5}: found by trying seeds on in-memory copies
    // whose items differ, so each fit tells which items it used.
    let good = [0usize, 2, 5];
    let seed = (0..1000u64)
        .find(|&s| {
            Normalizer::fit_sample(Normalization::Zscore, &memory, 3, s)
                == Normalizer::fit(Normalization::Zscore, &memory.subset(&good))
        })
        .expect("some seed samples {0, 2, 5}");
    for k in [1, 3, 4] {
        std::fs::write(dir.path().join(format!("a/{k}.png")), png_header(8, 8, 0)).unwrap();
    }
    let sampled = Normalizer::fit_sample(Normalization::Zscore, &data, 3, seed);
    assert_eq!(sampled, Normalizer::fit(Normalization::Zscore, &memory.subset(&good)));
    let full = catch_unwind(AssertUnwindSafe(|| Normalizer::fit(Normalization::Zscore, &data)));
    assert!(message(full.unwrap_err()).contains("a/1.png"));
    // Unit on streamed bytes reads no image at all.
    assert_eq!(Normalizer::fit(Normalization::Unit, &data).scale, vec![255.0]);
}

//! Packing sources into `.npy` folders: what loads back from the folder is what the source loads,
//! item for item; the folder appears whole or not at all; progress is reported.

use std::io::Write;
use std::path::{Path, PathBuf};

use ae_core::SplitMix64;
use ae_data::csv::{ClassOrder, CsvOptions, LabelColumn};
use ae_data::icelearning::{IceOptions, Items, Resize};
use ae_data::image_folder::ImageFolderOptions;
use ae_data::npy::{Dtype, NpyWriter, write_labels};
use ae_data::pack::{PackProgress, PackSummary, Split, pack, toml_inline, toml_string};
use ae_data::{Dataset, LoadOptions, Source, Splits, load_source};

fn datasets() -> PathBuf {
    let root = std::env::var_os("AE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    assert!(root.is_dir(), "real datasets not found at {}: set AE_DATA_DIR", root.display());
    root
}

fn opts(limit: Option<usize>) -> LoadOptions {
    LoadOptions { root: datasets(), limit, seed: 3 }
}

fn items(d: &Dataset) -> Vec<Vec<f32>> {
    (0..d.len())
        .map(|i| {
            let mut v = vec![0.0; d.item_len()];
            d.write_raw(i, &mut v);
            v
        })
        .collect()
}

fn assert_same_dataset(packed: &Dataset, original: &Dataset, what: &str) {
    assert_eq!(packed.item_shape, original.item_shape, "{what}: item shape");
    assert_eq!(packed.labels, original.labels, "{what}: labels");
    assert_eq!(packed.classes, original.classes, "{what}: classes");
    assert_eq!(packed.features.bits_per_value(), original.features.bits_per_value(), "{what}: value type");
    assert!(items(packed) == items(original), "{what}: items differ");
}

fn assert_same(packed: &Splits, original: &Splits) {
    assert_same_dataset(&packed.train, &original.train, "train");
    assert_eq!(packed.test.is_some(), original.test.is_some(), "test split present");
    if let (Some(p), Some(o)) = (&packed.test, &original.test) {
        assert_same_dataset(p, o, "test");
    }
    assert_eq!(packed.default_normalization, original.default_normalization);
}

/// Progress is reported for every item, split by split, counting up to the totals.
fn check_progress(events: &[PackProgress], summary: &PackSummary) {
    for split in [Split::Train, Split::Test] {
        let done: Vec<usize> = events.iter().filter(|e| e.split == split).map(|e| e.done).collect();
        let n = if split == Split::Train { summary.train_items } else { summary.test_items.unwrap_or(0) };
        assert_eq!(done, (1..=n).collect::<Vec<_>>(), "{split:?} progress");
        for e in events.iter().filter(|e| e.split == split) {
            assert!(e.total.is_none_or(|t| t == n), "{e:?}: total, {n} items written");
        }
    }
}

/// Packs `source` into `dir/packed`, checks that the packed folder loads as the source does and
/// is what the folder's guess and the summary's source name; returns the summary.
fn round_trip(source: &Source, opts: &LoadOptions, dir: &Path) -> PackSummary {
    let out = dir.join("packed");
    let mut events = Vec::new();
    let summary = pack(source, opts, &out, &mut |p| events.push(p)).unwrap();
    let original = load_source(source, opts).unwrap();
    let packed = load_source(&summary.source(), &LoadOptions { limit: None, ..opts.clone() }).unwrap();
    assert_same(&packed, &original);
    assert_eq!(Source::guess(&out), Some(summary.source()));
    assert_eq!((summary.train_items, summary.test_items), (original.train.len(), original.test.map(|t| t.len())));
    assert_eq!((&summary.item_shape, &summary.classes), (&original.train.item_shape, &original.train.classes));
    let on_disk: u64 = summary.files.iter().map(|f| std::fs::metadata(f).unwrap().len()).sum();
    assert_eq!(summary.bytes, on_disk);
    check_progress(&events, &summary);
    // The folder holds the listed files and nothing else (no temporary files).
    let mut listed: Vec<PathBuf> = std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().path()).collect();
    listed.sort();
    let mut files = summary.files.clone();
    files.sort();
    assert_eq!(listed, files);
    assert_eq!(leftovers(dir), Vec::<String>::new());
    summary
}

/// Names of temporary entries (`.<name>.tmp-...`) in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect()
}

/// A PNG of `w x h` pixels of varied colours derived from `seed`.
fn write_png(path: &Path, w: u32, h: u32, seed: u64) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut rng = SplitMix64::new(seed, 0);
    let img = image::RgbImage::from_fn(w, h, |_, _| {
        let v = rng.next_u64();
        image::Rgb([v as u8, (v >> 8) as u8, (v >> 16) as u8])
    });
    img.save(path).unwrap();
}

/// `root/<class>/<k>.png`, 6x5 pixels, `n` per class.
fn image_tree(root: &Path, classes: &[&str], n: usize, seed: u64) {
    for (c, class) in classes.iter().enumerate() {
        for k in 0..n {
            write_png(&root.join(class).join(format!("{k}.png")), 6, 5, seed + 100 * c as u64 + k as u64);
        }
    }
}

#[test]
fn image_folders_round_trip_gray_rgb_resized_with_a_test_tree_and_a_limit() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train"), dir.path().join("test"));
    image_tree(&train, &["cat", "dog"], 3, 1);
    // The test tree lacks `cat`: its `dog` images are class 1 of the training split. One image
    // has another size: it is resized to the training images' size.
    image_tree(&test, &["dog"], 2, 50);
    write_png(&test.join("dog/9.png"), 3, 4, 77);
    for (k, (channels, size, limit)) in
        [(3, None, None), (1, None, None), (3, Some([4, 7]), None), (1, Some([2, 2]), Some(4)), (3, None, Some(0))]
            .into_iter()
            .enumerate()
    {
        let work = dir.path().join(format!("case{k}"));
        std::fs::create_dir(&work).unwrap();
        let options = ImageFolderOptions { channels, size, stream: None };
        let source = Source::ImageFolder { path: train.clone(), test: Some(test.clone()), options };
        let s = round_trip(&source, &LoadOptions { limit, ..opts(None) }, &work);
        let [h, w] = size.unwrap_or([5, 6]);
        assert_eq!((s.dtype, s.item_shape.clone()), (Dtype::U8, vec![channels, h, w]));
        assert_eq!((s.train_items, s.test_items), (limit.unwrap_or(6), Some(limit.unwrap_or(6).min(3))));
        assert_eq!(s.classes, vec!["cat", "dog"]);
        let names: Vec<String> =
            s.files.iter().map(|f| f.file_name().unwrap().to_string_lossy().into_owned()).collect();
        assert_eq!(names, ["train.npy", "train_labels.npy", "test.npy", "test_labels.npy", "classes.txt"]);
        assert_eq!(std::fs::read_to_string(work.join("packed/classes.txt")).unwrap(), "cat\ndog\n");
    }
}

#[test]
fn image_folder_errors_leave_nothing_behind_and_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    image_tree(&src, &["a", "b"], 4, 9);
    std::fs::write(src.join("b/2.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
    let source = Source::ImageFolder {
        path: src.clone(),
        test: None,
        options: ImageFolderOptions { channels: 3, size: None, stream: None },
    };
    let out = dir.path().join("out/packed");
    let mut done = 0;
    let e = pack(&source, &opts(None), &out, &mut |p| done = p.done).unwrap_err().to_string();
    assert!(e.contains("b/2.png") && e.contains("corrupt"), "{e}");
    assert_eq!(done, 6, "the good images before it were written");
    assert!(!out.exists());
    assert_eq!(leftovers(&dir.path().join("out")), Vec::<String>::new());
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);

    // An image of another size, without a size to resize to: the loader's error.
    write_png(&src.join("b/2.png"), 3, 3, 1);
    let e = pack(&source, &opts(None), &out, &mut |_| ()).unwrap_err().to_string();
    assert!(e.contains("2.png: image is 3x3, the others are 6x5"), "{e}");
    assert!(!out.exists());

    // A panic part-way (here in the progress callback) leaves nothing either.
    write_png(&src.join("b/2.png"), 6, 5, 1);
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pack(&source, &opts(None), &out, &mut |p| assert!(p.done < 5, "stop")).ok()
    }));
    assert!(r.is_err());
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
    pack(&source, &opts(None), &out, &mut |_| ()).unwrap();
    assert!(out.join("train.npy").is_file());
}

#[test]
fn an_existing_folder_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    image_tree(&src, &["a"], 2, 3);
    let source = Source::ImageFolder {
        path: src,
        test: None,
        options: ImageFolderOptions { channels: 1, size: None, stream: None },
    };
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    std::fs::write(out.join("keep.txt"), "mine").unwrap();
    let e = pack(&source, &opts(None), &out, &mut |_| ()).unwrap_err().to_string();
    assert!(e.contains(&out.display().to_string()) && e.contains("already exists and is not an empty folder"), "{e}");
    assert_eq!(std::fs::read_dir(&out).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(out.join("keep.txt")).unwrap(), "mine");
    // A file in the way is refused too; an empty folder is used.
    let e = pack(&source, &opts(None), &out.join("keep.txt"), &mut |_| ()).unwrap_err().to_string();
    assert!(e.contains("already exists"), "{e}");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let s = pack(&source, &opts(None), &empty, &mut |_| ()).unwrap();
    assert_eq!((s.train_items, s.test_items), (2, None));
    assert_eq!(leftovers(dir.path()), Vec::<String>::new());
}

#[test]
fn real_cifar10_jpeg_folder_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let test = datasets().join("cifar10/test");
    let source = Source::ImageFolder {
        path: test.clone(),
        test: Some(test),
        options: ImageFolderOptions { channels: 3, size: None, stream: None },
    };
    let s = round_trip(&source, &opts(Some(40)), dir.path());
    assert_eq!((s.train_items, s.item_shape.clone(), s.classes.len()), (40, vec![3, 32, 32], 10));
    // The catalog name of the same folder.
    let work = dir.path().join("named");
    std::fs::create_dir(&work).unwrap();
    let s = round_trip(&Source::Named { name: "cifar10-test".into() }, &opts(Some(25)), &work);
    assert_eq!((s.train_items, s.test_items), (25, None));
}

#[test]
fn real_mnist_round_trips_from_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let s = round_trip(&Source::Named { name: "mnist".into() }, &opts(Some(2000)), dir.path());
    assert_eq!((s.train_items, s.test_items, s.dtype), (2000, Some(2000), Dtype::U8));
    assert_eq!(s.classes, (0..10).map(|d| d.to_string()).collect::<Vec<_>>());
    // uint8 labels, uint8 items: header plus one byte per value.
    let train_bytes = std::fs::metadata(dir.path().join("packed/train.npy")).unwrap().len();
    assert_eq!(train_bytes, 128 + 2000 * 784);
}

#[test]
fn a_missing_catalog_dataset_is_the_loaders_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = LoadOptions { root: dir.path().join("none"), limit: None, seed: 0 };
    for name in ["mnist", "cifar10", "satellite"] {
        let e = pack(&Source::Named { name: name.into() }, &o, &dir.path().join("out"), &mut |_| ()).unwrap_err();
        assert!(e.to_string().contains("fetch it with"), "{e}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn csv_tables_round_trip_as_float32() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    std::fs::write(&train, "a,b,c,y\n1,2.5,-3,x\n4,5,6e3,z\n0.125,8,9,x\n").unwrap();
    std::fs::write(&test, "a,b,c,y\n7,8,9,z\n-1,-2,-3,z\n").unwrap();
    let options = CsvOptions { label: Some(LabelColumn::Last), ..Default::default() };
    let source = Source::Csv { path: train.clone(), test: Some(test), options };
    let s = round_trip(&source, &opts(None), dir.path());
    assert_eq!((s.dtype, s.item_shape.clone(), s.classes.clone()), (Dtype::F32, vec![3], vec!["x".into(), "z".into()]));
    // Unlabelled: no label files, no classes.txt.
    let work = dir.path().join("unlabelled");
    std::fs::create_dir(&work).unwrap();
    let source = Source::Csv {
        path: train,
        test: None,
        options: CsvOptions { columns: Some(vec!["a".into(), "c".into()]), ..Default::default() },
    };
    let s = round_trip(&source, &opts(None), &work);
    assert_eq!((s.files.len(), s.classes.len()), (1, 0));
}

#[test]
fn csv_tables_stream_with_labels_by_name_or_last_and_a_test_file_of_other_classes() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    // Label column in the middle, by name; blank lines, quoted cells, CRLF ends, a column of
    // text left out by the selection below.
    let mut text = String::from("a, kind ,b,c,note\r\n");
    for i in 0..40 {
        let kind = ["dog", "cat", "10", "bird"][i % 4];
        text.push_str(&format!("{},{kind},\"{}\",{}e-2,\"x, {i}\"\r\n", i as f32 * 0.5, -(i as i32), i * 3));
        if i % 9 == 0 {
            text.push_str("\r\n");
        }
    }
    std::fs::write(&train, &text).unwrap();
    // The test file: a subset of the classes, first seen in another order.
    std::fs::write(&test, "a,kind,b,c,note\n7,bird,1,2,x\n3,cat,4,5,y\n8,bird,9,1,z\n").unwrap();
    for order in [ClassOrder::FirstSeen, ClassOrder::Sorted] {
        let work = dir.path().join(format!("{order:?}"));
        std::fs::create_dir(&work).unwrap();
        let options = CsvOptions {
            label: Some(LabelColumn::Name("kind".into())),
            class_order: order,
            columns: Some(vec!["c".into(), "a".into(), "b".into()]),
            ..Default::default()
        };
        let source = Source::Csv { path: train.clone(), test: Some(test.clone()), options };
        let s = round_trip(&source, &opts(None), &work);
        assert_eq!((s.train_items, s.test_items, s.dtype), (40, Some(3), Dtype::F32));
        let want: Vec<String> = match order {
            ClassOrder::FirstSeen => ["dog", "cat", "10", "bird"],
            ClassOrder::Sorted => ["10", "bird", "cat", "dog"],
        }
        .iter()
        .map(|c| c.to_string())
        .collect();
        assert_eq!(s.classes, want);
        // With a limit: the first items, the classes of the whole file.
        let limited = work.join("limited");
        std::fs::create_dir(&limited).unwrap();
        let s = round_trip(&source, &opts(Some(2)), &limited);
        assert_eq!((s.train_items, s.test_items, s.classes.len()), (2, Some(2), 4));
    }
    // The label in the last column, no header.
    let work = dir.path().join("last");
    std::fs::create_dir(&work).unwrap();
    let plain = dir.path().join("plain.csv");
    std::fs::write(&plain, "1,2,b\n3,4,a\n\n5,6,b\n").unwrap();
    let options = CsvOptions { has_header: false, label: Some(LabelColumn::Last), ..Default::default() };
    let s = round_trip(&Source::Csv { path: plain, test: None, options }, &opts(None), &work);
    assert_eq!((s.item_shape.clone(), s.classes.clone()), (vec![2], vec!["b".to_string(), "a".to_string()]));
}

#[test]
fn csv_errors_are_the_loaders_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train.csv"), dir.path().join("test.csv"));
    let mut text = String::from("a,b,y\n");
    for i in 0..50 {
        text.push_str(&format!("{i},{},c{}\n", i * 2, i % 3));
    }
    std::fs::write(&test, "a,b,y\n1,2,c0\n3,4,c9\n").unwrap();
    let options = CsvOptions { label: Some(LabelColumn::Last), ..Default::default() };
    let source = Source::Csv { path: train.clone(), test: Some(test.clone()), options };
    let out = dir.path().join("out/packed");
    let check = |want: &str, limit: Option<usize>| {
        let mut done = 0;
        let e = pack(&source, &opts(limit), &out, &mut |p| done = p.done).unwrap_err().to_string();
        let loaded = load_source(&source, &opts(limit)).unwrap_err().to_string();
        assert_eq!(e, loaded);
        assert!(e.contains(want), "{e}");
        assert!(!out.exists());
        assert_eq!(std::fs::read_dir(dir.path().join("out")).unwrap().count(), 0);
        done
    };
    // A bad cell on line 31 (past the limit too: every row is checked).
    let bad = text.replacen("29,58,", "29,5x8,", 1);
    std::fs::write(&train, &bad).unwrap();
    assert_eq!(check(&format!("{}: line 31, column 2: `5x8` is not a number", train.display()), None), 29);
    check("line 31, column 2", Some(5));
    std::fs::write(&train, text.replacen("29,58,c2", "29,58", 1)).unwrap();
    check("line 31: 2 cells, expected 3 as in the header (line 1)", None);
    std::fs::write(&train, text.replacen("29,58,", "29,,", 1)).unwrap();
    check("line 31, column 2: missing value (empty cell)", None);
    // The test file: a class the training file lacks, then a bad cell.
    std::fs::write(&train, &text).unwrap();
    check("the test split has class `c9`, which the training split does not", None);
    std::fs::write(&test, "a,b,y\n1,2,c0\n3,x,c1\n").unwrap();
    check(&format!("{}: line 3, column 2: `x` is not a number", test.display()), None);
    std::fs::write(&test, "a,y\n1,c0\n").unwrap();
    check("test items have shape [1], training items [2]", None);
}

#[test]
fn real_icecore_samples_stream_one_image_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = datasets().join("icecore-samples");
    for (limit, resize) in [(Some(4), Resize::Stretch), (None, Resize::Pad)] {
        let work = dir.path().join(format!("{resize:?}"));
        std::fs::create_dir(&work).unwrap();
        let options = IceOptions { size: 32, resize, ..Default::default() };
        let source = Source::IceLearning { path: path.clone(), options };
        let s = round_trip(&source, &opts(limit), &work);
        assert_eq!((s.dtype, s.item_shape.clone()), (Dtype::U8, vec![1, 32, 32]));
        assert_eq!(s.classes, ["camp", "corylus", "dust", "grim", "qrob", "qsub", "cont"]);
        assert!(s.test_items.is_some_and(|n| n > 0));
        assert_eq!(s.files.iter().filter(|f| f.ends_with("test_labels.npy")).count(), 0, "test is unlabelled");
    }
    // Features need the CSV layout: the loader's error, nothing written.
    let source = Source::IceLearning { path, options: IceOptions { items: Items::Features, ..Default::default() } };
    let out = dir.path().join("features");
    let e = pack(&source, &opts(None), &out, &mut |_| ()).unwrap_err().to_string();
    assert!(e.contains("only items = images"), "{e}");
    assert!(!out.exists());
}

#[test]
fn npy_sources_are_copied_through_and_a_packed_folder_repacks() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let mut w = NpyWriter::create(&p("x.npy"), Dtype::F32, &[2, 3]).unwrap();
    (0..7).for_each(|i| w.push_f32(&[i as f32, 0.5, -1.0, 2.0, 1e-3, i as f32 * 3.0]).unwrap());
    w.finish().unwrap();
    write_labels(&p("y.npy"), &[0, 300, 2, 2, 0, 1, 300]).unwrap();
    let mut w = NpyWriter::create(&p("xt.npy"), Dtype::F32, &[2, 3]).unwrap();
    (0..2).for_each(|i| w.push_f32(&[9.0, i as f32, 0.0, 1.0, 2.0, 3.0]).unwrap());
    w.finish().unwrap();
    write_labels(&p("yt.npy"), &[1, 0]).unwrap();
    let source = Source::Npy {
        path: p("x.npy"),
        labels: Some(p("y.npy")),
        test: Some(p("xt.npy")),
        test_labels: Some(p("yt.npy")),
    };
    let work = p("a");
    std::fs::create_dir(&work).unwrap();
    let s = round_trip(&source, &opts(Some(5)), &work);
    assert_eq!((s.train_items, s.test_items, s.classes.len()), (5, Some(2), 301));
    // Packing the packed folder (guessed) gives the same again.
    let again = p("b");
    std::fs::create_dir(&again).unwrap();
    let s2 = round_trip(&Source::guess(&work.join("packed")).unwrap(), &opts(None), &again);
    assert_eq!((s2.classes, s2.item_shape, s2.bytes), (s.classes, s.item_shape, s.bytes));
}

#[test]
fn classes_txt_names_the_npy_classes_and_must_cover_the_labels() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let mut w = NpyWriter::create(&p("x.npy"), Dtype::U8, &[2]).unwrap();
    (0..3).for_each(|i| w.push_u8(&[i, i]).unwrap());
    w.finish().unwrap();
    write_labels(&p("y.npy"), &[0, 2, 1]).unwrap();
    let source = Source::Npy { path: p("x.npy"), labels: Some(p("y.npy")), test: None, test_labels: None };
    std::fs::write(p("classes.txt"), "zero\none\r\n\ntwo and a half\n").unwrap();
    let s = load_source(&source, &opts(None)).unwrap();
    assert_eq!(s.train.classes, vec!["zero", "one", "", "two and a half"]);
    std::fs::write(p("classes.txt"), "zero\none\n").unwrap();
    let e = load_source(&source, &opts(None)).unwrap_err().to_string();
    assert!(e.contains("classes.txt: 2 class names, but the labels go up to 2"), "{e}");
}

/// CIFAR-10 batch bytes: `labels.len()` records whose pixels derive from `seed`.
fn cifar_batch(labels: &[u8], seed: u8) -> Vec<u8> {
    let mut b = Vec::new();
    for (i, &l) in labels.iter().enumerate() {
        b.push(l);
        b.extend((0..3072).map(|j| (j as u8).wrapping_mul(seed).wrapping_add(i as u8)));
    }
    b
}

fn cifar_files() -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = ae_data::cifar::TRAIN_FILES
        .iter()
        .enumerate()
        .map(|(k, f)| (f.to_string(), cifar_batch(&[k as u8, 9 - k as u8, 3], k as u8 + 1)))
        .collect();
    files.push((ae_data::cifar::TEST_FILE.into(), cifar_batch(&[5, 6], 77)));
    files
}

#[test]
fn cifar_folder_and_archive_round_trip_whatever_the_entry_order() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("cifar-10-batches-bin");
    std::fs::create_dir(&folder).unwrap();
    for (name, bytes) in cifar_files() {
        std::fs::write(folder.join(name), bytes).unwrap();
    }
    let work = dir.path().join("folder");
    std::fs::create_dir(&work).unwrap();
    let s = round_trip(&Source::Cifar { path: folder }, &opts(None), &work);
    assert_eq!((s.train_items, s.test_items, s.classes[0].as_str()), (15, Some(2), "airplane"));

    // Archive entries out of order: batches 3 and 5 before 1, the test batch in between.
    let mut files = cifar_files();
    files.insert(0, ("batches.meta.txt".into(), b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n".to_vec()));
    let order = [4, 0, 5, 6, 1, 2, 3];
    let archive = dir.path().join("c.tar.gz");
    let gz = flate2::write::GzEncoder::new(std::fs::File::create(&archive).unwrap(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for &k in &order {
        let (name, bytes) = &files[k];
        let mut h = tar::Header::new_gnu();
        h.set_size(bytes.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("cifar-10-batches-bin/{name}"), &bytes[..]).unwrap();
    }
    tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    for limit in [None, Some(4)] {
        let work = dir.path().join(format!("archive{limit:?}"));
        std::fs::create_dir(&work).unwrap();
        let s = round_trip(&Source::Cifar { path: archive.clone() }, &opts(limit), &work);
        assert_eq!((s.train_items, s.classes[9].as_str()), (limit.unwrap_or(15), "j"));
    }
}

#[test]
fn config_line_is_toml_that_names_the_packed_source() {
    #[derive(serde::Deserialize)]
    struct Config {
        data: Data,
    }
    #[derive(serde::Deserialize)]
    struct Data {
        source: Source,
    }
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    image_tree(&src, &["a"], 1, 3);
    let source = Source::ImageFolder {
        path: src,
        test: None,
        options: ImageFolderOptions { channels: 1, size: None, stream: None },
    };
    // A folder name with the characters TOML escapes.
    let out = dir.path().join("we\"ird \\ na\tme");
    let s = pack(&source, &opts(None), &out, &mut |_| ()).unwrap();
    let line = s.config_line().unwrap();
    assert!(line.starts_with("data.source = { kind = \"npy\", path = \""), "{line}");
    let config: Config = toml::from_str(&line).unwrap();
    assert_eq!(config.data.source, s.source());
    assert_eq!(load_source(&config.data.source, &opts(None)).unwrap().train.classes, vec!["a"]);
    assert_eq!(toml_string("a\"b\\c\u{1}\u{7f}"), "\"a\\\"b\\\\c\\u0001\\u007F\"");
    assert_eq!(toml_inline(&Source::Named { name: "mnist".into() }).unwrap(), "{ kind = \"named\", name = \"mnist\" }");
    let csv = Source::Csv { path: "x.csv".into(), test: None, options: CsvOptions::default() };
    assert!(toml_inline(&csv).is_err());
}

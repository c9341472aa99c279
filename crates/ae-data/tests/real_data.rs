//! The loaders against the real files in `$AE_DATA_DIR` (default `../shared/datasets`), checked
//! against the counts its README documents.

use std::path::PathBuf;

use ae_data::{LoadOptions, load};

fn root() -> PathBuf {
    let root = std::env::var_os("AE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    assert!(root.is_dir(), "real datasets not found at {}: set AE_DATA_DIR", root.display());
    root
}

fn opts() -> LoadOptions {
    LoadOptions { root: root(), limit: None, seed: 0 }
}

#[test]
fn mnist_counts_and_class_balance() {
    let s = load("mnist", &opts()).unwrap();
    assert_eq!(s.train.len(), 60000);
    assert_eq!(s.train.item_shape, vec![1, 28, 28]);
    assert_eq!(s.train.class_counts(), vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    let test = s.test.unwrap();
    assert_eq!(test.class_counts(), vec![980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
}

#[test]
fn fashion_mnist_counts() {
    let s = load("fashion-mnist", &opts()).unwrap();
    assert_eq!(s.train.class_counts(), vec![6000; 10]);
    assert_eq!(s.test.unwrap().class_counts(), vec![1000; 10]);
}

#[test]
fn satellite_counts_and_ranges() {
    let s = load("satellite", &opts()).unwrap();
    assert_eq!(s.train.len(), 4435);
    assert_eq!(s.train.class_counts(), vec![1072, 479, 961, 415, 470, 1038]);
    let test = s.test.unwrap();
    assert_eq!(test.class_counts(), vec![461, 224, 397, 211, 237, 470]);
    let mut row = vec![0.0; 36];
    let (mut lo, mut hi) = (f32::MAX, f32::MIN);
    for i in 0..s.train.len() {
        s.train.write_raw(i, &mut row);
        row.iter().for_each(|&v| {
            lo = lo.min(v);
            hi = hi.max(v);
        });
    }
    assert_eq!((lo, hi), (27.0, 157.0));
}

#[test]
fn limit_keeps_the_first_items() {
    let s = load("mnist", &LoadOptions { limit: Some(500), ..opts() }).unwrap();
    assert_eq!(s.train.len(), 500);
    assert_eq!(s.test.unwrap().len(), 500);
}

#[test]
fn cifar10_test_jpegs_1000_per_class() {
    let s = load("cifar10-test", &opts()).unwrap();
    assert_eq!(s.train.len(), 10000);
    assert_eq!(s.train.item_shape, vec![3, 32, 32]);
    assert_eq!(s.train.class_counts(), vec![1000; 10]);
    assert_eq!(s.train.classes[0], "airplane");
    assert_eq!(s.train.classes[9], "truck");
    assert!(s.test.is_none());
}

#[test]
fn ecg5000_heartbeats() {
    let s = load("ecg5000", &opts()).unwrap();
    assert_eq!(s.train.len(), 500);
    assert_eq!(s.train.item_shape, vec![1, 140]);
    assert_eq!(s.train.classes, vec!["1", "2", "3", "4", "5"]);
    assert_eq!(s.train.class_counts(), vec![292, 177, 10, 19, 2]);
}

/// sat.trn rewritten as OpenML would serve it, ARFF and CSV export, loads to the same items.
#[test]
fn satellite_as_arff_and_openml_csv_matches_sat_trn() {
    use ae_data::{arff, csv, satellite};
    let sat = root().join("satimage/sat.trn");
    let reference = satellite::read(&sat).unwrap();
    let text = std::fs::read_to_string(&sat).unwrap();
    let rows: Vec<String> = text.lines().filter(|l| !l.trim().is_empty()).map(|l| l.trim().replace(' ', ",")).collect();
    let dir = tempfile::tempdir().unwrap();
    let mut arff_text = String::from("% Statlog (Landsat Satellite)\r\n@RELATION satimage\r\n\r\n");
    for i in 0..36 {
        arff_text += &format!("@ATTRIBUTE 'A{i}' REAL\r\n");
    }
    arff_text += "@ATTRIBUTE 'class' {1,2,3,4,5,7}\r\n@DATA\r\n";
    arff_text += &rows.join("\r\n");
    let arff_path = dir.path().join("satimage.arff");
    std::fs::write(&arff_path, &arff_text).unwrap();
    let from_arff = arff::read(&arff_path, &Default::default()).unwrap();
    assert_eq!(from_arff.len(), 4435);
    assert_eq!(from_arff.features, reference.features);
    assert_eq!(from_arff.labels, reference.labels);
    assert_eq!(from_arff.classes, vec!["1", "2", "3", "4", "5", "7"]);

    let header: Vec<String> = (0..36).map(|i| format!("\"A{i}\"")).chain(["\"class\"".into()]).collect();
    let csv_path = dir.path().join("satimage.csv");
    std::fs::write(&csv_path, format!("{}\n{}\n", header.join(","), rows.join("\n"))).unwrap();
    let opts = csv::CsvOptions {
        label: Some(csv::LabelColumn::Last),
        class_order: csv::ClassOrder::Sorted,
        ..Default::default()
    };
    let from_csv = csv::read_table(&csv_path, &opts).unwrap();
    assert_eq!(from_csv.columns[35], "A35");
    assert_eq!(from_csv.dataset.features, reference.features);
    assert_eq!(from_csv.dataset.labels, reference.labels);
    assert_eq!(from_csv.dataset.classes, from_arff.classes);
}

/// The 9 real ICELEARNING sample images: 7 training images, one per class, and 2 GRIP images.
#[test]
fn icecore_samples_one_per_class() {
    let s = load("icecore", &opts()).unwrap();
    assert_eq!(s.train.len(), 7);
    assert_eq!(s.train.item_shape, vec![1, 128, 128]);
    assert_eq!(s.train.classes, vec!["camp", "corylus", "dust", "grim", "qrob", "qsub", "cont"]);
    assert_eq!(s.train.class_counts(), vec![1; 7]);
    let test = s.test.unwrap();
    assert_eq!(test.len(), 2);
    assert_eq!(test.labels, None);
    // Real microscope images are not flat: every one has some contrast after resizing.
    for d in [&s.train, &test] {
        let mut item = vec![0.0; 128 * 128];
        for i in 0..d.len() {
            d.write_raw(i, &mut item);
            let (lo, hi) = item.iter().fold((f32::MAX, f32::MIN), |(l, h), &v| (l.min(v), h.max(v)));
            assert!(hi - lo > 20.0, "item {i}: pixel range {lo}..{hi}");
        }
    }
    // Padding keeps the aspect ratio: the same items, other pixels.
    let padded = ae_data::icelearning::read(
        &root().join("icecore-samples"),
        &ae_data::icelearning::IceOptions { resize: ae_data::icelearning::Resize::Pad, ..Default::default() },
    )
    .unwrap();
    let padded = padded.train.into_dataset();
    assert_eq!(padded.labels, s.train.labels);
    assert_ne!(padded.features, s.train.features);
}

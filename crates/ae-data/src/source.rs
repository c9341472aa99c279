//! Data sources by name or by path: a catalog dataset, or a file or folder in one of the formats
//! this crate reads, with its options. A source is plain data (serde), so that a config can name
//! one:
//!
//! ```toml
//! [data.source]
//! kind = "csv"
//! path = "measurements.csv"
//! options = { label = "last", allow_missing = true }
//! ```
//!
//! A NumPy source is memory-mapped, not read into memory ([`crate::npy`]):
//!
//! ```toml
//! [data.source]
//! kind = "npy"
//! path = "x.npy"
//! labels = "y.npy"
//! ```
//!
//! Paths are used as given (relative ones against the working directory); resolving them against
//! a config's folder is the caller's business. [`LoadOptions::root`] only matters for
//! [`Source::Named`], [`LoadOptions::limit`] applies to every source.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::arff::{self, ArffOptions};
use crate::catalog::{self, LoadOptions, Splits};
use crate::csv::{self, CsvOptions};
use crate::dataset::Dataset;
use crate::error::DataError;
use crate::icelearning::{self, IceOptions, Items};
use crate::image_folder::ImageFolderOptions;
use crate::normalize::Normalization;
use crate::{cifar, npy};

/// Where a dataset comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// A catalog dataset ([`catalog::NAMES`]) under [`LoadOptions::root`].
    Named {
        /// The dataset name.
        name: String,
    },
    /// A delimited table ([`csv`]); z-scored by default.
    Csv {
        /// The training table.
        path: PathBuf,
        /// A test table with the same columns, if any.
        #[serde(default)]
        test: Option<PathBuf>,
        /// How to read both.
        #[serde(default)]
        options: CsvOptions,
    },
    /// An ARFF file ([`arff`]); z-scored by default.
    Arff {
        /// The training file.
        path: PathBuf,
        /// A test file with the same attributes, if any.
        #[serde(default)]
        test: Option<PathBuf>,
        /// How to read both.
        #[serde(default)]
        options: ArffOptions,
    },
    /// A class-per-folder image tree ([`image_folder`]); pixels scaled to [0, 1] by default.
    ImageFolder {
        /// The training tree.
        path: PathBuf,
        /// A test tree with the same class folders, if any.
        #[serde(default)]
        test: Option<PathBuf>,
        /// Channels and size.
        options: ImageFolderOptions,
    },
    /// CIFAR-10 binary batches ([`cifar`]): the `cifar-10-batches-bin` folder or the `.tar.gz`.
    Cifar {
        /// Folder or archive.
        path: PathBuf,
    },
    /// An ICELEARNING folder ([`icelearning`]): train and (if present) the unlabelled test split.
    IceLearning {
        /// The folder.
        path: PathBuf,
        /// Size, resizing, and what an item carries.
        #[serde(default)]
        options: IceOptions,
    },
    /// NumPy `.npy` files ([`crate::npy`]), memory-mapped: uint8 items scaled to [0, 1] by
    /// default, float32 items z-scored.
    Npy {
        /// The training items (the first axis counts them).
        path: PathBuf,
        /// Their labels (1-D integers), if any. Classes are named by the lines of `classes.txt`
        /// in the labels' folder when it exists ([`Dataset::read_npy`]), else `0` to the largest
        /// label.
        #[serde(default)]
        labels: Option<PathBuf>,
        /// Test items of the same item shape, if any.
        #[serde(default)]
        test: Option<PathBuf>,
        /// The test items' labels, if any.
        #[serde(default)]
        test_labels: Option<PathBuf>,
    },
}

impl Source {
    /// The `Npy` source of a packed folder `dir` (what `pack` writes): `train.npy`, and the
    /// labels, test items and test labels whose files exist.
    pub fn packed(dir: &Path) -> Source {
        let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
        let test = file(npy::TEST);
        Source::Npy {
            path: dir.join(npy::TRAIN),
            labels: file(npy::TRAIN_LABELS),
            test_labels: test.as_ref().and_then(|_| file(npy::TEST_LABELS)),
            test,
        }
    }

    /// A source guessed from a path: `.csv`/`.tsv` (comma or tab, header row, no label), `.arff`,
    /// `.tar.gz`/`.tgz` (CIFAR-10 archive), `.npy` (no labels), a folder holding `train.npy` (a
    /// folder [`crate::pack`] wrote: [`Source::packed`]), a folder holding
    /// `data_batch_1.bin` (CIFAR-10), any other folder (RGB image tree, images of one size).
    /// `None` for anything else.
    pub fn guess(path: &Path) -> Option<Source> {
        let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
        let path = path.to_path_buf();
        if path.is_dir() {
            if path.join(npy::TRAIN).is_file() {
                return Some(Source::packed(&path));
            }
            return Some(if path.join(cifar::TRAIN_FILES[0]).is_file() {
                Source::Cifar { path }
            } else {
                Source::ImageFolder {
                    path,
                    test: None,
                    options: ImageFolderOptions { channels: 3, size: None, stream: None },
                }
            });
        }
        if name.ends_with(".csv") || name.ends_with(".tsv") {
            let delimiter = if name.ends_with(".tsv") { b'\t' } else { b',' };
            return Some(Source::Csv { path, test: None, options: CsvOptions { delimiter, ..Default::default() } });
        }
        if name.ends_with(".arff") {
            return Some(Source::Arff { path, test: None, options: ArffOptions::default() });
        }
        if name.ends_with(".tar.gz") || name.ends_with(".tgz") {
            return Some(Source::Cifar { path });
        }
        if name.ends_with(".npy") {
            return Some(Source::Npy { path, labels: None, test: None, test_labels: None });
        }
        None
    }

    /// A short name for messages and run records: the dataset name or the path.
    pub fn name(&self) -> String {
        match self {
            Source::Named { name } => name.clone(),
            Source::Csv { path, .. }
            | Source::Arff { path, .. }
            | Source::ImageFolder { path, .. }
            | Source::Cifar { path }
            | Source::IceLearning { path, .. }
            | Source::Npy { path, .. } => path.display().to_string(),
        }
    }
}

/// The shape of one item, where it is known without reading any file: catalog names, CIFAR-10,
/// ICELEARNING, image folders with a fixed size, tables with named feature columns; and for a
/// `.npy` source, from the training file's header alone (a few hundred bytes, no data; `None`
/// when it cannot be read: loading reports why).
pub fn source_item_shape(source: &Source) -> Option<Vec<usize>> {
    match source {
        Source::Named { name } => catalog::item_shape(name),
        Source::Cifar { .. } => Some(vec![3, 32, 32]),
        Source::IceLearning { options, .. } => Some(match options.items {
            Items::Images => vec![1, options.size, options.size],
            Items::Features => vec![icelearning::FEATURES.len()],
            Items::Both => vec![options.size * options.size + icelearning::FEATURES.len()],
        }),
        Source::ImageFolder { options, .. } => options.size.map(|[h, w]| vec![options.channels, h, w]),
        Source::Csv { options, .. } => options.columns.as_ref().map(|c| vec![c.len()]),
        Source::Arff { .. } => None,
        Source::Npy { path, .. } => npy::read_header(path).ok().filter(|h| !h.shape.is_empty()).map(|h| h.item_shape()),
    }
}

/// Loads a source's splits (with `opts.limit` applied to each split).
pub fn load_source(source: &Source, opts: &LoadOptions) -> Result<Splits, DataError> {
    let (mut train, mut test, norm) = match source {
        Source::Named { name } => return catalog::load(name, opts),
        Source::Csv { path, test, options } => {
            let read = |p: &PathBuf| csv::read(p, options);
            (read(path)?, test.as_ref().map(read).transpose()?, Normalization::Zscore)
        }
        Source::Arff { path, test, options } => {
            let read = |p: &PathBuf| arff::read(p, options);
            (read(path)?, test.as_ref().map(read).transpose()?, Normalization::Zscore)
        }
        Source::ImageFolder { path, test, options } => {
            let train = Dataset::read_image_folder(path, *options)?;
            // Without a fixed size, the test images must match the training ones.
            let test_opts = ImageFolderOptions { size: Some([train.item_shape[1], train.item_shape[2]]), ..*options };
            let test = test.as_ref().map(|p| Dataset::read_image_folder(p, test_opts)).transpose()?;
            (train, test, Normalization::Unit)
        }
        Source::Cifar { path } => {
            let s = if path.is_dir() { cifar::read_folder(path)? } else { cifar::read_archive(path)? };
            (s.train, Some(s.test), Normalization::Unit)
        }
        Source::IceLearning { path, options } => {
            let s = icelearning::read(path, options)?;
            let norm = if options.items == Items::Images { Normalization::Unit } else { Normalization::Zscore };
            (s.train.into_dataset(), s.test.map(icelearning::IceSplit::into_dataset), norm)
        }
        Source::Npy { path, labels, test, test_labels } => {
            if let (None, Some(l)) = (test, test_labels) {
                return Err(DataError::Invalid(format!(
                    "{}: test_labels ({}) given without a test file",
                    source.name(),
                    l.display()
                )));
            }
            let train = Dataset::read_npy(path, labels.as_deref())?;
            let test = test.as_ref().map(|t| Dataset::read_npy(t, test_labels.as_deref())).transpose()?;
            let norm = if train.features.bits_per_value() == 8 { Normalization::Unit } else { Normalization::Zscore };
            (train, test, norm)
        }
    };
    if let Some(t) = &mut test {
        align_test(&train, t, source)?;
    }
    if let Some(limit) = opts.limit {
        train.truncate(limit);
        if let Some(t) = &mut test {
            t.truncate(limit);
        }
    }
    Ok(Splits { name: source.name(), train, test, default_normalization: norm })
}

/// The test split must have the training items' shape; when both are labelled, its labels are
/// renumbered by class name into the training split's classes (a test file that lacks a class or
/// lists them in another order still lines up), and a class the training split lacks is an error.
fn align_test(train: &Dataset, test: &mut Dataset, source: &Source) -> Result<(), DataError> {
    if train.item_shape != test.item_shape {
        return Err(DataError::Invalid(format!(
            "{}: test items have shape {:?}, training items {:?}",
            source.name(),
            test.item_shape,
            train.item_shape
        )));
    }
    let (Some(_), Some(labels)) = (&train.labels, &mut test.labels) else {
        return Ok(());
    };
    let mut map = Vec::with_capacity(test.classes.len());
    for c in &test.classes {
        let i = train.classes.iter().position(|t| t == c).ok_or_else(|| {
            DataError::Invalid(format!(
                "{}: the test split has class `{c}`, which the training split does not (classes {:?})",
                source.name(),
                train.classes
            ))
        })?;
        map.push(i as u16);
    }
    labels.iter_mut().for_each(|l| *l = map[*l as usize]);
    test.classes = train.classes.clone();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv::LabelColumn;

    fn opts() -> LoadOptions {
        LoadOptions { root: PathBuf::from("/nonexistent"), limit: None, seed: 3 }
    }

    #[test]
    fn csv_source_with_test_split_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let train = dir.path().join("train.csv");
        let test = dir.path().join("test.csv");
        std::fs::write(&train, "a,b,y\n1,2,x\n3,4,z\n5,6,x\n").unwrap();
        std::fs::write(&test, "a,b,y\n7,8,z\n").unwrap();
        let options = CsvOptions { label: Some(LabelColumn::Last), ..Default::default() };
        let source = Source::Csv { path: train.clone(), test: Some(test.clone()), options };
        let s = load_source(&source, &LoadOptions { limit: Some(2), ..opts() }).unwrap();
        assert_eq!((s.train.len(), s.train.item_shape.clone()), (2, vec![2]));
        assert_eq!(s.default_normalization, Normalization::Zscore);
        // The test file's only class `z` is its own class 0, and class 1 of the training file.
        let t = s.test.unwrap();
        assert_eq!((t.labels, t.classes), (Some(vec![1]), vec!["x".to_string(), "z".to_string()]));
        std::fs::write(&test, "a,b,y\n7,8,w\n").unwrap();
        let e = load_source(&source, &opts()).unwrap_err().to_string();
        assert!(e.contains("the test split has class `w`, which the training split does not"), "{e}");
        let unlabelled = Source::Csv { path: train, test: Some(test), options: CsvOptions::default() };
        let e = load_source(&unlabelled, &opts()).unwrap_err().to_string();
        assert!(e.contains("train.csv: line 2, column 3: `x` is not a number"), "{e}");
    }

    #[test]
    fn sources_deserialize_from_config_text() {
        let s: Source =
            serde_json::from_str(r#"{"kind": "csv", "path": "m.csv", "options": {"label": "last"}}"#).unwrap();
        let Source::Csv { options, .. } = &s else { panic!("{s:?}") };
        assert_eq!((options.label.clone(), options.has_header), (Some(LabelColumn::Last), true));
        let s: Source =
            serde_json::from_str(r#"{"kind": "ice_learning", "path": "ice", "options": {"items": "both"}}"#).unwrap();
        assert_eq!(source_item_shape(&s), Some(vec![128 * 128 + 34]));
        let s: Source = serde_json::from_str(r#"{"kind": "named", "name": "mnist"}"#).unwrap();
        assert_eq!(source_item_shape(&s), Some(vec![1, 28, 28]));
        assert_eq!(load_source(&Source::Named { name: "shapes".into() }, &opts()).unwrap().train.len(), 8000);
    }

    #[test]
    fn guess_by_extension_and_folder_content() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            matches!(Source::guess(Path::new("x.TSV")), Some(Source::Csv { options, .. }) if options.delimiter == b'\t')
        );
        assert!(matches!(Source::guess(Path::new("x.arff")), Some(Source::Arff { .. })));
        assert!(matches!(Source::guess(Path::new("cifar-10-binary.tar.gz")), Some(Source::Cifar { .. })));
        assert!(matches!(Source::guess(dir.path()), Some(Source::ImageFolder { .. })));
        std::fs::write(dir.path().join("data_batch_1.bin"), b"").unwrap();
        assert!(matches!(Source::guess(dir.path()), Some(Source::Cifar { .. })));
        assert_eq!(Source::guess(Path::new("x.bin")), None);
        // A packed folder: train.npy and whichever of the other files exist.
        let p = |n: &str| dir.path().join(n);
        for f in ["train.npy", "test.npy", "test_labels.npy"] {
            std::fs::write(p(f), b"").unwrap();
        }
        let packed = Source::Npy {
            path: p("train.npy"),
            labels: None,
            test: Some(p("test.npy")),
            test_labels: Some(p("test_labels.npy")),
        };
        assert_eq!(Source::guess(dir.path()), Some(packed));
        std::fs::remove_file(p("test.npy")).unwrap();
        std::fs::write(p("train_labels.npy"), b"").unwrap();
        let packed =
            Source::Npy { path: p("train.npy"), labels: Some(p("train_labels.npy")), test: None, test_labels: None };
        assert_eq!(Source::guess(dir.path()), Some(packed));
    }

    #[test]
    fn npy_source_maps_files_with_labels_test_split_and_limit() {
        use crate::dataset::Features;
        use crate::npy::{Dtype, NpyWriter, write_labels};
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        let mut w = NpyWriter::create(&p("x.npy"), Dtype::U8, &[1, 2, 2]).unwrap();
        (0..5u8).for_each(|i| w.push_u8(&[i, 2 * i, 3 * i, 255]).unwrap());
        w.finish().unwrap();
        write_labels(&p("y.npy"), &[0, 2, 1, 2, 0]).unwrap();
        let mut w = NpyWriter::create(&p("xt.npy"), Dtype::U8, &[1, 2, 2]).unwrap();
        (0..3u8).for_each(|i| w.push_u8(&[9, i, 0, 1]).unwrap());
        w.finish().unwrap();
        write_labels(&p("yt.npy"), &[1, 1, 0]).unwrap();
        let source: Source = serde_json::from_str(&format!(
            r#"{{"kind": "npy", "path": {:?}, "labels": {:?}, "test": {:?}, "test_labels": {:?}}}"#,
            p("x.npy"),
            p("y.npy"),
            p("xt.npy"),
            p("yt.npy")
        ))
        .unwrap();
        assert_eq!(source_item_shape(&source), Some(vec![1, 2, 2]));
        let s = load_source(&source, &opts()).unwrap();
        assert_eq!((s.name.as_str(), s.default_normalization), (p("x.npy").to_str().unwrap(), Normalization::Unit));
        let (train, test) = (s.train, s.test.unwrap());
        assert!(matches!(train.features, Features::Mapped(_)) && matches!(test.features, Features::Mapped(_)));
        assert_eq!(
            (train.len(), train.item_shape.clone(), train.classes.clone()),
            (5, vec![1, 2, 2], vec!["0".into(), "1".into(), "2".into()])
        );
        assert_eq!(
            (train.labels.clone(), test.labels.clone(), test.classes.clone()),
            (Some(vec![0, 2, 1, 2, 0]), Some(vec![1, 1, 0]), train.classes.clone())
        );
        let mut item = [0.0; 4];
        train.write_raw(3, &mut item);
        assert_eq!(item, [3.0, 6.0, 9.0, 255.0]);
        test.write_raw(2, &mut item);
        assert_eq!(item, [9.0, 2.0, 0.0, 1.0]);

        let s = load_source(&source, &LoadOptions { limit: Some(2), ..opts() }).unwrap();
        assert_eq!((s.train.len(), s.train.labels.clone(), s.test.map(|t| t.len())), (2, Some(vec![0, 2]), Some(2)));

        // A test label the training split lacks; float32 items are z-scored; a guessed .npy.
        write_labels(&p("yt.npy"), &[1, 3, 0]).unwrap();
        let e = load_source(&source, &opts()).unwrap_err().to_string();
        assert!(e.contains("the test split has class `3`, which the training split does not"), "{e}");
        let mut w = NpyWriter::create(&p("f.npy"), Dtype::F32, &[]).unwrap();
        w.push_f32(&[1.5]).unwrap();
        w.finish().unwrap();
        let guessed = Source::guess(&p("f.npy")).unwrap();
        assert_eq!(guessed, Source::Npy { path: p("f.npy"), labels: None, test: None, test_labels: None });
        assert_eq!(source_item_shape(&guessed), Some(vec![1]));
        let s = load_source(&guessed, &opts()).unwrap();
        assert_eq!(
            (s.default_normalization, s.train.len(), s.train.labels, s.test),
            (Normalization::Zscore, 1, None, None)
        );
        let bad = Source::Npy { path: p("f.npy"), labels: None, test: None, test_labels: Some(p("yt.npy")) };
        assert!(load_source(&bad, &opts()).unwrap_err().to_string().contains("test_labels"));
        let missing = Source::Npy { path: p("nope.npy"), labels: None, test: None, test_labels: None };
        assert_eq!(source_item_shape(&missing), None);
        assert!(load_source(&missing, &opts()).unwrap_err().to_string().contains("nope.npy"));
    }
}

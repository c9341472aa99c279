//! Dataset names as configs use them: where their files live, how to load them, how to fetch them.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Features};
use crate::error::DataError;
use crate::normalize::Normalization;
use crate::{cifar, icelearning, idx, image_folder, satellite, shapes, ucr};

/// Every dataset name a config can use.
pub const NAMES: [&str; 8] =
    ["shapes", "mnist", "fashion-mnist", "satellite", "cifar10", "cifar10-test", "ecg5000", "icecore"];

/// Folder of the CIFAR-10 binary batches, under the root.
pub const CIFAR10_FOLDER: &str = "cifar10/cifar-10-batches-bin";

/// The downloaded CIFAR-10 archive, under the root (read without extracting it).
pub const CIFAR10_ARCHIVE: &str = "cifar10/cifar-10-binary.tar.gz";

/// Folder of the ICELEARNING ice-core data, under the root.
pub const ICECORE_FOLDER: &str = "icecore-samples";

/// How to load a dataset.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Folder holding one subfolder per dataset (`mnist/`, `satimage/`...).
    pub root: PathBuf,
    /// Keep at most this many items of each split.
    pub limit: Option<usize>,
    /// Seed for generated datasets.
    pub seed: u64,
}

/// A dataset's splits as shipped.
#[derive(Debug, Clone)]
pub struct Splits {
    /// Dataset name.
    pub name: String,
    /// The training split (validation is carved out of it by the trainer).
    pub train: Dataset,
    /// The held-out test split, if the dataset has one.
    pub test: Option<Dataset>,
    /// The normalisation this dataset is normally used with.
    pub default_normalization: Normalization,
}

/// Whether `name` is a known dataset.
pub fn is_known(name: &str) -> bool {
    NAMES.contains(&name)
}

/// The shape of one item of a dataset, known without loading it.
pub fn item_shape(name: &str) -> Option<Vec<usize>> {
    match name {
        "shapes" | "mnist" | "fashion-mnist" => Some(vec![1, 28, 28]),
        "satellite" => Some(vec![satellite::FEATURES]),
        "cifar10" | "cifar10-test" => Some(vec![3, 32, 32]),
        "ecg5000" => Some(vec![1, 140]),
        "icecore" => Some(vec![1, icelearning::SIZE, icelearning::SIZE]),
        _ => None,
    }
}

/// The folder and files a dataset is read from (empty for generated data). For `cifar10` these
/// are two alternatives: the extracted folder, else the archive.
pub fn expected_files(name: &str, root: &Path) -> Vec<PathBuf> {
    let idx_files = |dir: &str| {
        [
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz",
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
        ]
        .iter()
        .map(|f| root.join(dir).join(f))
        .collect()
    };
    match name {
        "mnist" => idx_files("mnist"),
        "fashion-mnist" => idx_files("fashion-mnist"),
        "satellite" => vec![root.join("satimage/sat.trn"), root.join("satimage/sat.tst")],
        "cifar10" => vec![root.join(CIFAR10_FOLDER), root.join(CIFAR10_ARCHIVE)],
        "cifar10-test" => vec![root.join("cifar10/test")],
        "ecg5000" => vec![root.join("ecg5000/ECG5000_TRAIN.txt")],
        "icecore" => vec![root.join(ICECORE_FOLDER)],
        _ => Vec::new(),
    }
}

/// The expected files of a dataset that are not there (for `cifar10`: both alternatives when
/// neither is there, else none).
pub fn missing_files(name: &str, root: &Path) -> Vec<PathBuf> {
    let files = expected_files(name, root);
    if name == "cifar10" {
        return if files.iter().any(|p| p.exists()) { Vec::new() } else { files };
    }
    files.into_iter().filter(|p| !p.exists()).collect()
}

/// The command that downloads a dataset into the default root.
pub fn fetch_command(name: &str) -> String {
    match name {
        "cifar10-test" => {
            "none yet: copy the CIFAR-10 test images as cifar10/test/<class>/*.jpg (see datasets/README.md)".into()
        }
        "icecore" => "none: the ICELEARNING data (doi:10.5281/zenodo.7591282) is not downloadable by script; \
                      put <class>.csv files and images, or the sample images, in icecore-samples/ \
                      (see datasets/README.md)"
            .into(),
        _ => format!("scripts/fetch-datasets.sh {name}"),
    }
}

/// Loads a dataset by name.
pub fn load(name: &str, opts: &LoadOptions) -> Result<Splits, DataError> {
    if !is_known(name) {
        return Err(DataError::Unknown { name: name.to_string(), known: &NAMES });
    }
    let files = expected_files(name, &opts.root);
    let missing = missing_files(name, &opts.root);
    if !missing.is_empty() {
        return Err(DataError::Missing { name: name.to_string(), paths: missing, fetch: fetch_command(name) });
    }
    let (mut train, mut test, norm) = match name {
        "shapes" => {
            let n = opts.limit.unwrap_or(8000);
            (
                shapes::generate(n, opts.seed),
                Some(shapes::generate((n / 4).max(4), opts.seed ^ 0x7E57)),
                Normalization::Unit,
            )
        }
        "mnist" | "fashion-mnist" => {
            let classes: Vec<String> = if name == "mnist" {
                (0..10).map(|d| d.to_string()).collect()
            } else {
                FASHION.iter().map(|s| s.to_string()).collect()
            };
            let train = idx_dataset(&files[0], &files[1], &classes)?;
            let test = idx_dataset(&files[2], &files[3], &classes)?;
            (train, Some(test), Normalization::Unit)
        }
        "satellite" => (satellite::read(&files[0])?, Some(satellite::read(&files[1])?), Normalization::Zscore),
        // The CIFAR-10 test set as one image per file (test/<class>/NNNN.jpg): one split only;
        // configs carve a held-out part with data.test_fraction.
        // UCR ECG5000, training file only (500 heartbeats of 140 samples): one split.
        "ecg5000" => (ucr::read(&files[0])?, None, Normalization::Zscore),
        "cifar10-test" => {
            let opts = image_folder::ImageFolderOptions { channels: 3, size: None, stream: None };
            (Dataset::read_image_folder(&files[0], opts)?, None, Normalization::Unit)
        }
        // The canonical binary batches: the extracted folder if there, else the archive itself.
        "cifar10" => {
            let s = if files[0].is_dir() { cifar::read_folder(&files[0])? } else { cifar::read_archive(&files[1])? };
            (s.train, Some(s.test), Normalization::Unit)
        }
        // Ice-core particle images, 1x128x128 stretched; test: the unlabelled GRIP images.
        "icecore" => {
            let s = icelearning::read(&files[0], &icelearning::IceOptions::default())?;
            (s.train.into_dataset(), s.test.map(icelearning::IceSplit::into_dataset), Normalization::Unit)
        }
        _ => unreachable!("checked by is_known"),
    };
    if let Some(limit) = opts.limit {
        train.truncate(limit);
        if let Some(t) = &mut test {
            t.truncate(limit);
        }
    }
    Ok(Splits { name: name.to_string(), train, test, default_normalization: norm })
}

/// Fashion-MNIST class names in label order.
pub const FASHION: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

fn idx_dataset(images: &Path, labels_file: &Path, classes: &[String]) -> Result<Dataset, DataError> {
    let (img, labels) = idx::read_images_and_labels(images, labels_file)?;
    if let Some(&bad) = labels.iter().find(|&&l| l as usize >= classes.len()) {
        return Err(DataError::format(labels_file, format!("label {bad} is not a class (0..{})", classes.len() - 1)));
    }
    Ok(Dataset {
        item_shape: vec![1, img.dims[1], img.dims[2]],
        features: Features::U8(img.data),
        labels: Some(labels),
        classes: classes.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_files_name_paths_and_fetch_command() {
        let opts = LoadOptions { root: PathBuf::from("/nonexistent/data"), limit: None, seed: 0 };
        let e = load("mnist", &opts).unwrap_err().to_string();
        assert!(e.contains("/nonexistent/data/mnist/train-images-idx3-ubyte.gz"), "{e}");
        assert!(e.contains("scripts/fetch-datasets.sh mnist"), "{e}");
        let e = load("mnits", &opts).unwrap_err().to_string();
        assert!(e.contains("unknown dataset `mnits`"), "{e}");
    }

    #[test]
    fn cifar10_is_missing_only_when_folder_and_archive_both_are() {
        let dir = tempfile::tempdir().unwrap();
        let opts = LoadOptions { root: dir.path().to_path_buf(), limit: None, seed: 0 };
        let e = load("cifar10", &opts).unwrap_err().to_string();
        assert!(e.contains("cifar10/cifar-10-batches-bin") && e.contains("cifar10/cifar-10-binary.tar.gz"), "{e}");
        std::fs::create_dir_all(dir.path().join("cifar10")).unwrap();
        std::fs::write(dir.path().join(CIFAR10_ARCHIVE), b"not gzip").unwrap();
        assert!(missing_files("cifar10", dir.path()).is_empty());
        let e = load("cifar10", &opts).unwrap_err().to_string();
        assert!(e.contains("cifar-10-binary.tar.gz: corrupt or truncated archive"), "{e}");
    }

    #[test]
    fn cifar10_loads_from_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(CIFAR10_FOLDER);
        std::fs::create_dir_all(&folder).unwrap();
        for (k, f) in cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]).enumerate() {
            let mut record = vec![k as u8];
            record.extend(std::iter::repeat_n(k as u8 * 10, cifar::IMAGE_BYTES));
            std::fs::write(folder.join(f), [record.clone(), record].concat()).unwrap();
        }
        let s = load("cifar10", &LoadOptions { root: dir.path().to_path_buf(), limit: Some(7), seed: 0 }).unwrap();
        assert_eq!(s.train.len(), 7);
        assert_eq!(s.train.labels, Some(vec![0, 0, 1, 1, 2, 2, 3]));
        let test = s.test.unwrap();
        assert_eq!((test.len(), test.features.get(5)), (2, 50.0));
        assert_eq!(Some(s.train.item_shape), item_shape("cifar10"));
    }

    #[test]
    fn shapes_need_no_files() {
        let opts = LoadOptions { root: PathBuf::from("/nonexistent"), limit: Some(100), seed: 1 };
        let s = load("shapes", &opts).unwrap();
        assert_eq!(s.train.len(), 100);
        assert_eq!(s.test.unwrap().len(), 25);
    }
}

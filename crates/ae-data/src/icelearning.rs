//! ICELEARNING ice-core particle data (Maffezzoli et al. 2023, FlowCam microscope images of
//! insoluble particles with 34 FlowCam features).
//!
//! Two layouts of a folder `root` are read:
//!
//! - **CSV layout** (the published dataset): `root/<class>.csv`, one CSV per class, with a column
//!   `imgpaths` naming each particle's image and the 34 [`FEATURES`] columns (other columns are
//!   ignored). The class is the file stem; known classes come in [`CLASSES`] order, other stems
//!   after them, sorted. A relative `imgpaths` entry is resolved against
//!   [`IceOptions::image_root`] when given, else against the CSV's folder, else its parent (the
//!   original code ran from the folder above `datasets/`); absolute paths are used as they are.
//! - **Samples layout** (`shared/datasets/icecore-samples`): `root/train/*.png` with the class
//!   in the file-name prefix ([`SAMPLE_PREFIXES`]: `focustest_` is dust, `GRIP_` contamination)
//!   and no features.
//!
//! In both, `root/test/` (if present) is the unlabelled ice-core (GRIP) split: the CSVs under it
//! (with `imgpaths` and the features, like `test/GRIP_raw/*.csv`) if there are any, else every
//! image under it. Files are taken in sorted path order.
//!
//! **Items.** Images are decoded to grayscale and resized to `size x size` (128 by default),
//! stretched or, with [`Resize::Pad`], scaled to fit and padded (aspect ratio kept). A split
//! holds the images as a `Dataset` of `Features::U8` `[1, size, size]` and the features as a
//! separate `Dataset` of `Features::F32` `[34]` in the same order with the same labels
//! ([`IceSplit`]); [`IceOptions::items`] says which of the two are loaded, and
//! [`IceSplit::into_dataset`] gives the one dataset a trainer uses: the images, the features, or
//! both concatenated per item as `F32` `[size * size + 34]` (pixels 0..255 first, then the raw
//! features).
//!
//! **Listing.** [`list_train`] and [`list_test`] list a split's items (files, labels, classes,
//! and the features when asked for) without decoding an image; [`read`] decodes the listed
//! images, and packing ([`crate::pack`]) decodes them one at a time with [`load_image`] when the
//! items are images. Items that hold the features (`features`, `both`) are packed from [`read`],
//! loaded whole: the features are 34 floats a particle.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use crate::csv::{self, CsvOptions};
use crate::dataset::{Dataset, Features};
use crate::error::DataError;
use crate::par;

/// The seven classes, in label order (the original `CFG.target_cols`).
pub const CLASSES: [&str; 7] = ["camp", "corylus", "dust", "grim", "qrob", "qsub", "cont"];

/// The 34 FlowCam feature columns, in item order (the original `CFG.cols_mva`).
pub const FEATURES: [&str; 34] = [
    "Area (ABD)",
    "Area (Filled)",
    "Aspect Ratio",
    "Biovolume (Cylinder)",
    "Biovolume (P. Spheroid)",
    "Circle Fit",
    "Circularity",
    "Circularity (Hu)",
    "Compactness",
    "Convex Perimeter",
    "Convexity",
    "Diameter (ABD)",
    "Diameter (ESD)",
    "Edge Gradient",
    "Elongation",
    "Feret Angle Max",
    "Feret Angle Min",
    "Fiber Curl",
    "Fiber Straightness",
    "Geodesic Aspect Ratio",
    "Geodesic Length",
    "Geodesic Thickness",
    "Intensity",
    "Length",
    "Particles Per Chain",
    "Perimeter",
    "Roughness",
    "Sigma Intensity",
    "Sum Intensity",
    "Symmetry",
    "Transparency",
    "Volume (ABD)",
    "Volume (ESD)",
    "Width",
];

/// The CSV column naming each item's image.
pub const IMAGE_COLUMN: &str = "imgpaths";

/// The image side the original work resizes to.
pub const SIZE: usize = 128;

/// File-name prefixes of the samples layout and the class each stands for.
pub const SAMPLE_PREFIXES: [(&str, &str); 7] = [
    ("camp_", "camp"),
    ("corylus_", "corylus"),
    ("focustest_", "dust"),
    ("grim_", "grim"),
    ("qrob_", "qrob"),
    ("qsub_", "qsub"),
    ("GRIP_", "cont"),
];

/// Image file extensions read from folders.
const EXTENSIONS: [&str; 6] = ["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// Largest accepted image side (decoding allocates width x height).
const MAX_SIDE: u32 = 16384;

/// How images reach `size x size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resize {
    /// Resize both sides to `size` (triangle filter); the aspect ratio is lost.
    #[default]
    Stretch,
    /// Scale the longer side to `size`, keep the aspect ratio, centre the image and fill the rest
    /// with the mean of the image's border pixels (the background).
    Pad,
}

/// What an item carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Items {
    /// The image alone.
    #[default]
    Images,
    /// The 34 features alone (images are not opened).
    Features,
    /// Both (see [`IceSplit::into_dataset`]).
    Both,
}

/// How to read an ICELEARNING folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct IceOptions {
    /// Image side after resizing.
    pub size: usize,
    /// Stretch or pad to the square.
    pub resize: Resize,
    /// Images, features or both.
    pub items: Items,
    /// Load missing feature cells (empty, `NaN`, `nan`, `NA`) as `f32::NAN` instead of failing.
    pub allow_missing: bool,
    /// Folder that relative `imgpaths` are resolved against (default: the CSV's folder, then its
    /// parent).
    pub image_root: Option<PathBuf>,
}

impl Default for IceOptions {
    fn default() -> Self {
        Self { size: SIZE, resize: Resize::Stretch, items: Items::Images, allow_missing: false, image_root: None }
    }
}

/// One split: images and/or features of the same items, in the same order.
#[derive(Debug, Clone, PartialEq)]
pub struct IceSplit {
    /// `Features::U8` `[1, size, size]`, when images were loaded.
    pub images: Option<Dataset>,
    /// `Features::F32` `[34]`, when features were loaded.
    pub features: Option<Dataset>,
    /// Each item's image file.
    pub paths: Vec<PathBuf>,
}

impl IceSplit {
    /// Number of items.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// The one dataset a trainer uses: the images, the features, or (both loaded) each item's
    /// pixels as floats 0..255 followed by its 34 raw features, shape `[size * size + 34]`.
    pub fn into_dataset(self) -> Dataset {
        match (self.images, self.features) {
            (Some(images), None) => images,
            (None, Some(features)) => features,
            (Some(images), Some(features)) => {
                let (Features::U8(px), Features::F32(fx)) = (&images.features, &features.features) else {
                    unreachable!("images are bytes and features floats by construction")
                };
                let (d, k) = (images.item_len(), features.item_len());
                let mut values = Vec::with_capacity(self.paths.len() * (d + k));
                for (p, f) in px.chunks_exact(d).zip(fx.chunks_exact(k)) {
                    values.extend(p.iter().map(|&b| b as f32));
                    values.extend_from_slice(f);
                }
                Dataset {
                    features: Features::F32(values),
                    item_shape: vec![d + k],
                    labels: images.labels,
                    classes: images.classes,
                }
            }
            (None, None) => {
                Dataset { features: Features::F32(Vec::new()), item_shape: vec![0], labels: None, classes: vec![] }
            }
        }
    }
}

/// The labelled training split and the unlabelled test split (if `root/test` exists).
#[derive(Debug, Clone, PartialEq)]
pub struct IceSplits {
    /// Labelled items.
    pub train: IceSplit,
    /// Unlabelled ice-core items.
    pub test: Option<IceSplit>,
}

/// A split's items as listed, before any image is decoded: what [`read`] lists, so that a
/// reader that decodes the images one at a time (packing, [`crate::pack`]) gets the same items,
/// labels, classes, order and listing errors.
#[derive(Debug, Clone, PartialEq)]
pub struct IceListing {
    /// Each item's image file, in item order.
    pub paths: Vec<PathBuf>,
    /// The items' labels; `None` for the unlabelled test split.
    pub labels: Option<Vec<u16>>,
    /// The class names in label order (empty when unlabelled).
    pub classes: Vec<String>,
    /// The 34 [`FEATURES`] of each item, item after item, when [`IceOptions::items`] asks for
    /// them (read whole: they are a few hundred bytes an item).
    pub features: Option<Vec<f32>>,
}

/// Reads an ICELEARNING folder in either layout.
pub fn read(root: &Path, opts: &IceOptions) -> Result<IceSplits, DataError> {
    let train = decode(list_train(root, opts)?, opts)?;
    let test = list_test(root, opts)?.map(|l| decode(l, opts)).transpose()?;
    Ok(IceSplits { train, test })
}

/// An error unless the image size is in `1..=16384`.
fn check_size(opts: &IceOptions) -> Result<(), DataError> {
    if opts.size == 0 || opts.size > MAX_SIDE as usize {
        return Err(DataError::Invalid(format!("image size {} is not in 1..={MAX_SIDE}", opts.size)));
    }
    Ok(())
}

/// Lists the labelled training split of `root` (either layout), reading the features when asked
/// for and checking that the images exist, without decoding them.
pub fn list_train(root: &Path, opts: &IceOptions) -> Result<IceListing, DataError> {
    check_size(opts)?;
    let csvs = files(root, false, &["csv"])?;
    if !csvs.is_empty() {
        let mut named: Vec<(String, PathBuf)> = csvs
            .into_iter()
            .map(|p| (p.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(), p))
            .collect();
        named.sort_by_key(|(n, _)| (CLASSES.iter().position(|c| c == n).unwrap_or(CLASSES.len()), n.clone()));
        list_csvs(&named, true, opts)
    } else if root.join("train").is_dir() {
        list_samples(&root.join("train"), opts)
    } else {
        Err(DataError::format(
            root,
            "not an ICELEARNING folder: no <class>.csv files and no train/ folder of sample images",
        ))
    }
}

/// Lists the unlabelled test split, `root/test`, when it exists (as [`list_train`] lists).
pub fn list_test(root: &Path, opts: &IceOptions) -> Result<Option<IceListing>, DataError> {
    check_size(opts)?;
    let test_dir = root.join("test");
    if !test_dir.is_dir() {
        return Ok(None);
    }
    let csvs = files(&test_dir, true, &["csv"])?;
    Ok(Some(if !csvs.is_empty() {
        let named: Vec<(String, PathBuf)> = csvs.into_iter().map(|p| (String::new(), p)).collect();
        list_csvs(&named, false, opts)?
    } else {
        let images = files(&test_dir, true, &EXTENSIONS)?;
        if images.is_empty() {
            return Err(DataError::format(&test_dir, "no images and no CSVs in the test folder"));
        }
        images_only(images, None, Vec::new(), &test_dir, opts)?
    }))
}

/// A listed split loaded: its images decoded when [`IceOptions::items`] asks for them.
fn decode(l: IceListing, opts: &IceOptions) -> Result<IceSplit, DataError> {
    let images = if opts.items != Items::Features {
        Some(images_dataset(&l.paths, l.labels.clone(), l.classes.clone(), opts)?)
    } else {
        None
    };
    let features = l.features.map(|f| Dataset {
        features: Features::F32(f),
        item_shape: vec![FEATURES.len()],
        labels: l.labels,
        classes: l.classes,
    });
    Ok(IceSplit { images, features, paths: l.paths })
}

/// Lists class CSVs (`(class, csv)`; `labelled`: the classes are labels, else items are
/// unlabelled).
fn list_csvs(csvs: &[(String, PathBuf)], labelled: bool, opts: &IceOptions) -> Result<IceListing, DataError> {
    let classes: Vec<String> = if labelled { csvs.iter().map(|(c, _)| c.clone()).collect() } else { Vec::new() };
    let mut paths = Vec::new();
    let mut labels = Vec::new();
    let mut features = Vec::new();
    let want_features = opts.items != Items::Images;
    let want_images = opts.items != Items::Features;
    for (label, (_, csv_path)) in csvs.iter().enumerate() {
        let cells = csv::text_column(csv_path, b',', IMAGE_COLUMN)?;
        if cells.is_empty() {
            return Err(DataError::format(csv_path, "no data rows"));
        }
        if want_features {
            let t = csv::read_table(
                csv_path,
                &CsvOptions {
                    columns: Some(FEATURES.iter().map(|s| s.to_string()).collect()),
                    allow_missing: opts.allow_missing,
                    ..Default::default()
                },
            )?;
            let Features::F32(v) = t.dataset.features else { unreachable!("csv features are floats") };
            features.extend(v);
        }
        for (line, cell) in cells {
            if cell.is_empty() {
                return Err(DataError::format(csv_path, format!("line {line}: empty `{IMAGE_COLUMN}` cell")));
            }
            let p = resolve(Path::new(&cell), csv_path, opts.image_root.as_deref());
            if want_images && !p.is_file() {
                return Err(DataError::format(
                    csv_path,
                    format!("line {line}: image `{cell}` not found (looked for {})", p.display()),
                ));
            }
            paths.push(p);
            labels.push(label as u16);
        }
    }
    Ok(IceListing { paths, labels: labelled.then_some(labels), classes, features: want_features.then_some(features) })
}

/// The samples layout: images whose file-name prefix tells the class.
fn list_samples(dir: &Path, opts: &IceOptions) -> Result<IceListing, DataError> {
    let images = files(dir, false, &EXTENSIONS)?;
    if images.is_empty() {
        return Err(DataError::format(dir, "no images"));
    }
    let mut labels = Vec::with_capacity(images.len());
    for p in &images {
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let class = SAMPLE_PREFIXES.iter().find(|(prefix, _)| name.starts_with(prefix)).map(|(_, c)| *c);
        let Some(class) = class else {
            let known: Vec<String> = SAMPLE_PREFIXES.iter().map(|(p, c)| format!("{p} ({c})")).collect();
            return Err(DataError::format(
                p,
                format!("cannot tell the class from the file name: expected a prefix {}", known.join(", ")),
            ));
        };
        labels.push(CLASSES.iter().position(|c| *c == class).unwrap_or(0) as u16);
    }
    images_only(images, Some(labels), CLASSES.iter().map(|s| s.to_string()).collect(), dir, opts)
}

/// A split of images without features (refused when features are asked for).
fn images_only(
    paths: Vec<PathBuf>,
    labels: Option<Vec<u16>>,
    classes: Vec<String>,
    dir: &Path,
    opts: &IceOptions,
) -> Result<IceListing, DataError> {
    if opts.items != Items::Images {
        return Err(DataError::format(
            dir,
            "images without feature CSVs: only items = images can be read from this folder",
        ));
    }
    Ok(IceListing { paths, labels, classes, features: None })
}

fn images_dataset(
    paths: &[PathBuf],
    labels: Option<Vec<u16>>,
    classes: Vec<String>,
    opts: &IceOptions,
) -> Result<Dataset, DataError> {
    let decoded = par::try_map(paths, |p| load_image(p, opts.size, opts.resize))?;
    Ok(Dataset { features: Features::U8(decoded.concat()), item_shape: vec![1, opts.size, opts.size], labels, classes })
}

/// Decodes an image file to `size x size` grayscale bytes, row-major.
pub fn load_image(path: &Path, size: usize, resize: Resize) -> Result<Vec<u8>, DataError> {
    let corrupt = |e: image::ImageError| DataError::format(path, format!("unreadable or corrupt image: {e}"));
    let mut reader =
        image::ImageReader::open(path).and_then(|r| r.with_guessed_format()).map_err(|e| DataError::io(path, e))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    reader.limits(limits);
    let img = reader.decode().map_err(corrupt)?.to_luma8();
    Ok(fit(&img, size as u32, resize).into_raw())
}

/// Resizes a grayscale image to `size x size`.
fn fit(img: &image::GrayImage, size: u32, resize: Resize) -> image::GrayImage {
    let (w, h) = img.dimensions();
    if (w, h) == (size, size) {
        return img.clone();
    }
    match resize {
        Resize::Stretch => image::imageops::resize(img, size, size, FilterType::Triangle),
        Resize::Pad => {
            let scale = size as f64 / w.max(h) as f64;
            let (nw, nh) = (
                ((w as f64 * scale).round() as u32).clamp(1, size),
                ((h as f64 * scale).round() as u32).clamp(1, size),
            );
            let scaled = if (nw, nh) == (w, h) {
                img.clone()
            } else {
                image::imageops::resize(img, nw, nh, FilterType::Triangle)
            };
            let mut out = image::GrayImage::from_pixel(size, size, image::Luma([border_mean(img)]));
            image::imageops::replace(&mut out, &scaled, ((size - nw) / 2) as i64, ((size - nh) / 2) as i64);
            out
        }
    }
}

/// The rounded mean of the outermost pixels.
fn border_mean(img: &image::GrayImage) -> u8 {
    let (w, h) = img.dimensions();
    let (mut sum, mut n) = (0u64, 0u64);
    for (x, y, p) in img.enumerate_pixels() {
        if x == 0 || y == 0 || x == w - 1 || y == h - 1 {
            sum += p.0[0] as u64;
            n += 1;
        }
    }
    ((sum as f64 / n.max(1) as f64).round()) as u8
}

/// Where a CSV's image path points.
fn resolve(p: &Path, csv: &Path, image_root: Option<&Path>) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    if let Some(r) = image_root {
        return r.join(p);
    }
    let dir = csv.parent().unwrap_or(Path::new("."));
    let first = dir.join(p);
    match dir.parent() {
        Some(up) if !first.exists() && up.join(p).exists() => up.join(p),
        _ => first,
    }
}

/// Files of `dir` (recursively when `deep`) with one of the extensions (any case), sorted.
fn files(dir: &Path, deep: bool, extensions: &[&str]) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| DataError::io(&d, e))? {
            let path = entry.map_err(|e| DataError::io(&d, e))?.path();
            if path.is_dir() {
                if deep {
                    stack.push(path);
                }
            } else if path
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| extensions.contains(&x.to_ascii_lowercase().as_str()))
            {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> u8) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::GrayImage::from_fn(w, h, |x, y| image::Luma([f(x, y)])).save(path).unwrap();
    }

    fn header() -> String {
        let mut cols = vec!["Name".to_string(), IMAGE_COLUMN.to_string()];
        cols.extend(FEATURES.iter().map(|f| f.to_string()));
        cols.push("Date".into());
        cols.join(",")
    }

    /// A row whose feature j is `base + j`.
    fn row(name: &str, img: &str, base: f32) -> String {
        let mut cells = vec![name.to_string(), img.to_string()];
        cells.extend((0..34).map(|j| (base + j as f32).to_string()));
        cells.push("2021-11-04 10:00".into());
        cells.join(",")
    }

    /// `root/dust.csv` (2 rows) and `root/camp.csv` (1 row), images under `root/images/`, and a
    /// test CSV under `root/test/GRIP_raw/`.
    fn fixture(root: &Path) {
        gray_png(&root.join("images/d1.png"), 4, 2, |x, _| (x * 10) as u8);
        gray_png(&root.join("images/d2.png"), 2, 2, |_, _| 200);
        gray_png(&root.join("images/c1.png"), 2, 2, |_, _| 50);
        gray_png(&root.join("grip/g1.png"), 2, 2, |_, _| 77);
        std::fs::write(
            root.join("dust.csv"),
            format!("{}\n{}\n{}\n", header(), row("p1", "images/d1.png", 1.0), row("p2", "images/d2.png", 100.0)),
        )
        .unwrap();
        std::fs::write(root.join("camp.csv"), format!("{}\n{}\n", header(), row("p3", "images/c1.png", -5.0))).unwrap();
        std::fs::create_dir_all(root.join("test/GRIP_raw")).unwrap();
        let abs = root.join("grip/g1.png");
        std::fs::write(
            root.join("test/GRIP_raw/GRIP_3046_raw.csv"),
            format!("{}\n{}\n", header(), row("g", abs.to_str().unwrap(), 0.5)),
        )
        .unwrap();
    }

    #[test]
    fn csv_layout_images_features_and_both() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path());
        let opts = IceOptions { size: 2, items: Items::Both, ..Default::default() };
        let s = read(dir.path(), &opts).unwrap();
        let images = s.train.images.clone().unwrap();
        let features = s.train.features.clone().unwrap();
        // camp before dust (CFG order), rows in file order.
        assert_eq!(images.classes, vec!["camp", "dust"]);
        assert_eq!(images.labels, Some(vec![0, 1, 1]));
        assert_eq!(features.labels, images.labels);
        assert_eq!(images.item_shape, vec![1, 2, 2]);
        assert_eq!(features.item_shape, vec![34]);
        assert_eq!(features.features.get(0), -5.0);
        assert_eq!(features.features.get(34 + 33), 34.0);
        assert_eq!(features.features.get(2 * 34 + 2), 102.0);
        assert_eq!(images.features.get(0), 50.0);
        assert_eq!(images.features.get(8), 200.0);
        assert!(s.train.paths[1].ends_with("images/d1.png"));
        let both = s.train.clone().into_dataset();
        assert_eq!(both.item_shape, vec![4 + 34]);
        assert_eq!((both.features.get(0), both.features.get(4), both.features.get(38 + 4)), (50.0, -5.0, 1.0));
        let test = s.test.unwrap();
        assert_eq!(test.len(), 1);
        let t = test.into_dataset();
        assert_eq!(t.labels, None);
        assert_eq!((t.features.get(0), t.features.get(4)), (77.0, 0.5));
        // Features only: images are not opened, so a missing image does not matter.
        std::fs::remove_file(dir.path().join("images/d2.png")).unwrap();
        let f = read(dir.path(), &IceOptions { items: Items::Features, ..Default::default() }).unwrap();
        assert_eq!(f.train.into_dataset().item_shape, vec![34]);
        let e = read(dir.path(), &IceOptions::default()).unwrap_err().to_string();
        assert!(e.contains("dust.csv: line 3: image `images/d2.png` not found"), "{e}");
    }

    #[test]
    fn csv_errors_name_file_line_and_column() {
        let dir = tempfile::tempdir().unwrap();
        fixture(dir.path());
        let camp = dir.path().join("camp.csv");
        let both = IceOptions { items: Items::Both, size: 2, ..Default::default() };
        std::fs::write(
            &camp,
            format!("{}\n{}\n", header(), row("p3", "images/c1.png", -5.0).replacen(",-4,", ",NaN,", 1)),
        )
        .unwrap();
        let e = read(dir.path(), &both).unwrap_err().to_string();
        assert!(e.contains("camp.csv: line 2, column 4: missing value (`NaN`)"), "{e}");
        let s = read(dir.path(), &IceOptions { allow_missing: true, ..both.clone() }).unwrap();
        assert!(s.train.features.unwrap().features.get(1).is_nan());
        std::fs::write(
            &camp,
            format!("{}\n{}\n", header(), row("p3", "images/c1.png", -5.0).replacen(",-4,", ",abc,", 1)),
        )
        .unwrap();
        let e = read(dir.path(), &both).unwrap_err().to_string();
        assert!(e.contains("camp.csv: line 2, column 4: `abc` is not a number"), "{e}");
        std::fs::write(&camp, header().replace(IMAGE_COLUMN, "paths") + "\n").unwrap();
        let e = read(dir.path(), &both).unwrap_err().to_string();
        assert!(e.contains("camp.csv: line 1: no column named `imgpaths` in the header"), "{e}");
        std::fs::write(&camp, format!("{}\n{}\n", header(), row("p3", "images/c1.png", 0.0))).unwrap();
        std::fs::write(dir.path().join("images/c1.png"), b"\x89PNG\r\n\x1a\nnot really").unwrap();
        let e = read(dir.path(), &both).unwrap_err().to_string();
        assert!(e.contains("c1.png: unreadable or corrupt image"), "{e}");
    }

    #[test]
    fn resize_stretches_or_pads_with_the_background() {
        // 4x2: columns 0, 10, 20, 30. Padded to 4x4: rows 1-2 hold the image, rows 0 and 3 the
        // border mean (all 8 pixels are on the border: mean 15).
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.png");
        gray_png(&p, 4, 2, |x, _| (x * 10) as u8);
        let padded = load_image(&p, 4, Resize::Pad).unwrap();
        assert_eq!(&padded[..4], &[15; 4]);
        assert_eq!(&padded[4..8], &[0, 10, 20, 30]);
        assert_eq!(&padded[12..], &[15; 4]);
        let stretched = load_image(&p, 4, Resize::Stretch).unwrap();
        assert_eq!(stretched.len(), 16);
        assert_eq!(&stretched[..4], &stretched[12..]);
        let same = load_image(&p, 2, Resize::Pad).unwrap();
        assert_eq!(same.len(), 4);
    }

    #[test]
    fn samples_layout_needs_known_prefixes() {
        let dir = tempfile::tempdir().unwrap();
        gray_png(&dir.path().join("train/qsub_1.png"), 3, 5, |_, _| 1);
        gray_png(&dir.path().join("train/camp_1.png"), 3, 5, |_, _| 2);
        let s = read(dir.path(), &IceOptions { size: 8, ..Default::default() }).unwrap();
        let d = s.train.into_dataset();
        assert_eq!(d.labels, Some(vec![0, 5]));
        assert_eq!(d.item_shape, vec![1, 8, 8]);
        assert!(s.test.is_none());
        let e = read(dir.path(), &IceOptions { items: Items::Features, ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("only items = images"), "{e}");
        gray_png(&dir.path().join("train/other_1.png"), 3, 5, |_, _| 2);
        let e = read(dir.path(), &IceOptions::default()).unwrap_err().to_string();
        assert!(e.contains("other_1.png: cannot tell the class from the file name"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = read(empty.path(), &IceOptions::default()).unwrap_err().to_string();
        assert!(e.contains("not an ICELEARNING folder"), "{e}");
    }
}

//! Packing: any source this crate reads ([`Source`]) converted into `.npy` files, which a
//! [`Source::Npy`] then memory-maps ([`crate::npy`]), so that a dataset larger than memory can be
//! trained on, and a slow-to-decode one (thousands of JPEGs) is decoded once.
//!
//! **Layout** of the folder `DIR` written by [`pack`]:
//!
//! - `DIR/train.npy`: the training items, shape `(n, *item_shape)`; `uint8` when the source's
//!   items are bytes (image folders, IDX, CIFAR-10, ICELEARNING images, the generated shapes,
//!   a uint8 `.npy`), `float32` otherwise (tables, features).
//! - `DIR/train_labels.npy`: their labels (`uint8`, or `uint16` when a label exceeds 255), when
//!   the source is labelled.
//! - `DIR/test.npy` and `DIR/test_labels.npy`: the same for the test split, when the source has
//!   one (test labels numbered by the training split's classes, as [`load_source`] numbers them).
//! - `DIR/classes.txt`: the class names in label order, one a line, when labelled. Loading a
//!   `.npy` source names its classes from this file ([`crate::Dataset::read_npy`]).
//!
//! [`Source::guess`] of such a folder is its `Npy` source ([`Source::packed`]), and
//! [`PackSummary::config_line`] renders the config line that names it.
//!
//! **Atomic.** Everything is written into a temporary folder beside `DIR`
//! (`.DIR.tmp-<pid>-<n>`), renamed to `DIR` only when every file is complete and synced. An error
//! or a panic part-way removes the temporary folder and leaves no `DIR`. An existing `DIR` that
//! is not an empty folder is refused, so nothing is ever overwritten.
//!
//! **Memory.** Items are written one at a time as they are read, per source kind:
//!
//! - streamed, one item in memory at a time: image folders (one image decoded at a time, with
//!   the pixels, size rule and errors of [`image_folder::read`]; their `stream` option does not
//!   matter here), ICELEARNING folders whose items are images (listed as
//!   [`icelearning::read`] lists them, [`icelearning::list_train`], then one image decoded at a
//!   time with [`icelearning::load_image`]; the unlabelled `test/` split too), the `mnist` and
//!   `fashion-mnist` catalog datasets (IDX, gzipped or not, read item by item through
//!   [`IdxStream`]), the `cifar10-test` catalog dataset (an image folder), and `.npy` sources
//!   (read through the map, whose pages are released as it goes: a copy that re-lays the files
//!   out);
//! - one row at a time: CSV tables and their test table ([`csv::TableReader`], the rules and
//!   errors of [`csv::parse_table`]). Every row is read and checked, even past the limit, so that
//!   the classes (numbered once the whole file is read, in the options' class order) and the
//!   errors are those of [`load_source`]; the test table's labels are renumbered into the training
//!   classes by name, as [`load_source`] does;
//! - one batch file at a time: CIFAR-10 (the folder, the archive, and the `cifar10` catalog
//!   dataset). Entries of the archive are read in archive order; a training batch that comes
//!   before the ones it follows is parked in a file in the temporary folder until its turn;
//! - loaded whole, then written: ARFF tables (OpenML tables, which fit in memory), ICELEARNING
//!   folders whose items hold the features (`features` or `both`: the features come from CSVs of
//!   34 columns a particle, small; with `both` the images of a split are decoded together as
//!   [`icelearning::read`] does), and the other catalog datasets (`shapes`, `satellite`,
//!   `ecg5000`, `icecore`), all of which fit in memory as they load today (the catalog tables are
//!   a few megabytes).
//!
//! Labels are collected in memory (two bytes per item) and written at the end.
//!
//! **Limit.** [`LoadOptions::limit`] keeps the first items of each split, as [`load_source`]
//! does. A streamed split stops reading once it has that many: what lies beyond (a corrupt image,
//! a truncated file) is then not read and not reported; CSV tables are the exception (read to the
//! end, as said above).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::catalog::{self, LoadOptions, Splits};
use crate::cifar;
use crate::csv::{self, CsvOptions};
use crate::dataset::{Dataset, Features};
use crate::error::DataError;
use crate::fetch::Cleanup;
use crate::icelearning::{self, IceListing, IceOptions, Items};
use crate::idx::{self, IdxStream};
use crate::image_folder::{self, ImageFolderOptions};
use crate::npy::{self, CLASSES_FILE, Dtype, NpyWriter, TEST, TEST_LABELS, TRAIN, TRAIN_LABELS};
use crate::source::{Source, load_source};

/// A split of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    /// The training split.
    Train,
    /// The test split.
    Test,
}

impl Split {
    /// `train` or `test`.
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
        }
    }

    fn files(self) -> (&'static str, &'static str) {
        match self {
            Split::Train => (TRAIN, TRAIN_LABELS),
            Split::Test => (TEST, TEST_LABELS),
        }
    }
}

/// Where packing stands, reported after each item written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackProgress {
    /// The split being written.
    pub split: Split,
    /// Items of that split written so far.
    pub done: usize,
    /// Items that split will have, when known before reading them (image folders, ICELEARNING,
    /// IDX, CIFAR-10 folders, `.npy` and loaded-whole sources; not the CIFAR-10 archive nor CSV
    /// tables, whose rows are counted as they are read). The limit applied.
    pub total: Option<usize>,
}

/// What [`pack`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PackSummary {
    /// The folder (as given to [`pack`]).
    pub dir: PathBuf,
    /// The files written, under `dir`: `train.npy`, then those of `train_labels.npy`,
    /// `test.npy`, `test_labels.npy` and `classes.txt` that were written.
    pub files: Vec<PathBuf>,
    /// The shape of one item.
    pub item_shape: Vec<usize>,
    /// The element type of `train.npy` and `test.npy`.
    pub dtype: Dtype,
    /// Items in `train.npy`.
    pub train_items: usize,
    /// Items in `test.npy`, when the source has a test split.
    pub test_items: Option<usize>,
    /// The class names in label order (empty when unlabelled).
    pub classes: Vec<String>,
    /// Bytes of all the files written.
    pub bytes: u64,
}

impl PackSummary {
    /// The `Npy` source that reads the packed folder.
    pub fn source(&self) -> Source {
        let file = |name: &str| Some(self.dir.join(name)).filter(|p| self.files.contains(p));
        Source::Npy {
            path: self.dir.join(TRAIN),
            labels: file(TRAIN_LABELS),
            test: file(TEST),
            test_labels: file(TEST_LABELS),
        }
    }

    /// The config line that selects the packed data:
    /// `data.source = { kind = "npy", path = "DIR/train.npy", labels = ... }`. An error when a
    /// path is not valid UTF-8 (TOML cannot hold it).
    pub fn config_line(&self) -> Result<String, DataError> {
        Ok(format!("data.source = {}", toml_inline(&self.source())?))
    }
}

/// A source as one TOML inline table, e.g. `{ kind = "npy", path = "x.npy", labels = "y.npy" }`
/// (absent options left out). Catalog names, CIFAR-10 and `.npy` sources only (those a path or a
/// name describes); an error for the others, and for a path that is not valid UTF-8.
pub fn toml_inline(source: &Source) -> Result<String, DataError> {
    let path = |p: &Path| {
        p.to_str().map(toml_string).ok_or_else(|| {
            DataError::Invalid(format!("{}: not valid UTF-8, which a TOML config cannot hold", p.display()))
        })
    };
    let mut fields = Vec::new();
    match source {
        Source::Named { name } => {
            fields.push(("kind", toml_string("named")));
            fields.push(("name", toml_string(name)));
        }
        Source::Cifar { path: p } => {
            fields.push(("kind", toml_string("cifar")));
            fields.push(("path", path(p)?));
        }
        Source::Npy { path: p, labels, test, test_labels } => {
            fields.push(("kind", toml_string("npy")));
            fields.push(("path", path(p)?));
            for (key, value) in [("labels", labels), ("test", test), ("test_labels", test_labels)] {
                if let Some(v) = value {
                    fields.push((key, path(v)?));
                }
            }
        }
        other => {
            return Err(DataError::Invalid(format!(
                "{}: only catalog names, CIFAR-10 and .npy sources are rendered as one TOML line",
                other.name()
            )));
        }
    }
    let inner: Vec<String> = fields.into_iter().map(|(k, v)| format!("{k} = {v}")).collect();
    Ok(format!("{{ {} }}", inner.join(", ")))
}

/// `s` as a TOML basic string: quoted, with `"`, `\` and control characters escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Converts `source` (read with `opts`, as [`load_source`] reads it) into `.npy` files in the new
/// folder `out` (see the module documentation for the layout), calling `progress` after each item.
/// `out` must not exist, or be an empty folder; its parent folders are created.
pub fn pack(
    source: &Source,
    opts: &LoadOptions,
    out: &Path,
    progress: &mut dyn FnMut(PackProgress),
) -> Result<PackSummary, DataError> {
    let name = out.file_name().ok_or_else(|| {
        DataError::Invalid(format!("{}: name a new folder to pack into (e.g. data/packed)", out.display()))
    })?;
    check_free(out)?;
    let parent = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| DataError::io(&parent, e))?;
    static PACKS: AtomicUsize = AtomicUsize::new(0);
    let tmp = parent.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        PACKS.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let mut guard = Cleanup(Some(tmp.clone()));

    let mut w = Packer { dir: tmp.clone(), limit: opts.limit.unwrap_or(usize::MAX), progress };
    let packed = w.source(source, opts)?;

    let mut names = vec![TRAIN];
    if packed.train.labelled {
        names.push(TRAIN_LABELS);
    }
    if let Some(t) = &packed.test {
        names.push(TEST);
        if t.labelled {
            names.push(TEST_LABELS);
        }
    }
    if packed.train.labelled || packed.test.as_ref().is_some_and(|t| t.labelled) {
        write_classes(&tmp.join(CLASSES_FILE), &packed.classes)?;
        names.push(CLASSES_FILE);
    }
    let mut bytes = 0;
    for n in &names {
        let p = tmp.join(n);
        bytes += std::fs::metadata(&p).map_err(|e| DataError::io(&p, e))?.len();
    }
    // An empty folder in the way is replaced (a non-empty one makes the rename fail: nothing is
    // overwritten even if one appeared meanwhile).
    if out.is_dir() {
        let _ = std::fs::remove_dir(out);
    }
    std::fs::rename(&tmp, out).map_err(|e| {
        DataError::io(out, std::io::Error::new(e.kind(), format!("cannot move the packed files into place: {e}")))
    })?;
    guard.0 = None;
    if let Ok(d) = File::open(&parent) {
        let _ = d.sync_all();
    }
    Ok(PackSummary {
        dir: out.to_path_buf(),
        files: names.iter().map(|n| out.join(n)).collect(),
        item_shape: packed.item_shape,
        dtype: packed.dtype,
        train_items: packed.train.items,
        test_items: packed.test.map(|t| t.items),
        classes: packed.classes,
        bytes,
    })
}

/// An error unless `out` is absent or an empty folder.
fn check_free(out: &Path) -> Result<(), DataError> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let empty = meta.is_dir() && std::fs::read_dir(out).map_err(|e| DataError::io(out, e))?.next().is_none();
    if !empty {
        return Err(DataError::Invalid(format!(
            "{}: already exists and is not an empty folder; pack into a new folder (nothing was written)",
            out.display()
        )));
    }
    Ok(())
}

/// Writes the class names, one a line (a name holding a line break is refused).
fn write_classes(path: &Path, classes: &[String]) -> Result<(), DataError> {
    let mut text = String::new();
    for c in classes {
        if c.contains(['\n', '\r']) {
            return Err(DataError::Invalid(format!(
                "class name {c:?} holds a line break, which {CLASSES_FILE} (one name a line) cannot hold"
            )));
        }
        text.push_str(c);
        text.push('\n');
    }
    let mut f = File::create(path).map_err(|e| DataError::io(path, e))?;
    f.write_all(text.as_bytes()).and_then(|_| f.sync_all()).map_err(|e| DataError::io(path, e))
}

/// A split written: its item count and whether it has labels.
#[derive(Debug, Clone, Copy)]
struct Written {
    items: usize,
    labelled: bool,
}

/// What a source's packing produced in the temporary folder.
struct Packed {
    train: Written,
    test: Option<Written>,
    classes: Vec<String>,
    item_shape: Vec<usize>,
    dtype: Dtype,
}

/// One split's `.npy` writer and labels.
struct SplitOut {
    split: Split,
    writer: NpyWriter,
    labels: Option<Vec<u16>>,
    labels_path: PathBuf,
    dtype: Dtype,
    limit: usize,
    total: Option<usize>,
    bytes: Vec<u8>,
    /// The length of one item.
    writer_item_len: usize,
}

impl SplitOut {
    /// Whether the split has as many items as the limit allows.
    fn full(&self) -> bool {
        self.writer.rows() >= self.limit
    }

    fn report(&self, progress: &mut dyn FnMut(PackProgress)) {
        progress(PackProgress { split: self.split, done: self.writer.rows(), total: self.total });
    }

    fn label(&mut self, label: Option<u16>) {
        if let (Some(v), Some(l)) = (&mut self.labels, label) {
            v.push(l);
        }
    }

    /// Appends a uint8 item (of a uint8 split) and its label.
    fn push_u8(
        &mut self,
        item: &[u8],
        label: Option<u16>,
        progress: &mut dyn FnMut(PackProgress),
    ) -> Result<(), DataError> {
        self.writer.push_u8(item)?;
        self.label(label);
        self.report(progress);
        Ok(())
    }

    /// Appends an item given as floats (exact bytes 0..=255 for a uint8 split) and its label.
    fn push_values(
        &mut self,
        item: &[f32],
        label: Option<u16>,
        progress: &mut dyn FnMut(PackProgress),
    ) -> Result<(), DataError> {
        match self.dtype {
            Dtype::U8 => {
                let mut bytes = std::mem::take(&mut self.bytes);
                bytes.clear();
                bytes.extend(item.iter().map(|&v| v as u8));
                let r = self.writer.push_u8(&bytes);
                self.bytes = bytes;
                r?;
            }
            Dtype::F32 => self.writer.push_f32(item)?,
        }
        self.label(label);
        self.report(progress);
        Ok(())
    }

    /// Finishes the items file and writes the labels.
    fn finish(self) -> Result<Written, DataError> {
        let items = self.writer.finish()?;
        let labelled = self.labels.is_some();
        if let Some(l) = &self.labels {
            npy::write_labels(&self.labels_path, l)?;
        }
        Ok(Written { items, labelled })
    }
}

/// A table's split written (its labels not yet attached), its labels and its class names.
type TableOut = (SplitOut, Option<Vec<u16>>, Vec<String>);

/// Writes splits into the temporary folder.
struct Packer<'p> {
    dir: PathBuf,
    limit: usize,
    progress: &'p mut dyn FnMut(PackProgress),
}

impl Packer<'_> {
    /// Starts a split's files.
    fn open(
        &self,
        split: Split,
        dtype: Dtype,
        item_shape: &[usize],
        labelled: bool,
        total: Option<usize>,
    ) -> Result<SplitOut, DataError> {
        let (items, labels) = split.files();
        Ok(SplitOut {
            split,
            writer: NpyWriter::create(&self.dir.join(items), dtype, item_shape)?,
            labels: labelled.then(Vec::new),
            labels_path: self.dir.join(labels),
            dtype,
            limit: self.limit,
            total: total.map(|t| t.min(self.limit)),
            bytes: Vec::new(),
            writer_item_len: item_shape.iter().product(),
        })
    }

    /// Packs any source, by kind.
    fn source(&mut self, source: &Source, opts: &LoadOptions) -> Result<Packed, DataError> {
        match source {
            Source::ImageFolder { path, test, options } => self.image_folder(path, test.as_deref(), *options, source),
            Source::Cifar { path } => self.cifar(path),
            Source::Named { name } => self.named(name, opts),
            Source::Csv { path, test, options } => self.csv(path, test.as_deref(), options, source),
            Source::IceLearning { path, options } if options.items == Items::Images => self.ice_images(path, options),
            _ => self.splits(load_source(source, opts)?),
        }
    }

    /// A catalog dataset: IDX and image folders streamed, CIFAR-10 a batch at a time, the others
    /// loaded whole.
    fn named(&mut self, name: &str, opts: &LoadOptions) -> Result<Packed, DataError> {
        if !matches!(name, "mnist" | "fashion-mnist" | "cifar10" | "cifar10-test") {
            return self.splits(catalog::load(name, opts)?);
        }
        let missing = catalog::missing_files(name, &opts.root);
        if !missing.is_empty() {
            let fetch = catalog::fetch_command(name);
            return Err(DataError::Missing { name: name.to_string(), paths: missing, fetch });
        }
        let files = catalog::expected_files(name, &opts.root);
        match name {
            "cifar10" => self.cifar(if files[0].is_dir() { &files[0] } else { &files[1] }),
            "cifar10-test" => {
                let options = ImageFolderOptions { channels: 3, size: None, stream: None };
                self.image_folder(&files[0], None, options, &Source::Named { name: name.into() })
            }
            _ => {
                let classes: Vec<String> = if name == "mnist" {
                    (0..10).map(|d| d.to_string()).collect()
                } else {
                    catalog::FASHION.iter().map(|s| s.to_string()).collect()
                };
                let (train, shape) = self.idx(Split::Train, &files[0], &files[1], &classes)?;
                let (test, test_shape) = self.idx(Split::Test, &files[2], &files[3], &classes)?;
                if test_shape != shape {
                    return Err(DataError::format(
                        &files[2],
                        format!("test items have shape {test_shape:?}, training items {shape:?}"),
                    ));
                }
                Ok(Packed { train, test: Some(test), classes, item_shape: shape, dtype: Dtype::U8 })
            }
        }
    }

    /// An IDX image file and its label file, item by item: the checks of the catalog's loader.
    fn idx(
        &mut self,
        split: Split,
        images: &Path,
        labels_file: &Path,
        classes: &[String],
    ) -> Result<(Written, Vec<usize>), DataError> {
        let mut stream = IdxStream::open(images)?;
        if stream.dims().len() != 3 {
            return Err(DataError::format(
                images,
                format!("expected 3 dimensions (count, rows, columns), header has {:?}", stream.dims()),
            ));
        }
        let lab = idx::read_idx(labels_file)?;
        if lab.dims.len() != 1 {
            return Err(DataError::format(
                labels_file,
                format!("expected 1 dimension (count), header has {:?}", lab.dims),
            ));
        }
        if lab.dims[0] != stream.items() {
            return Err(DataError::format(
                labels_file,
                format!("{} labels for {} images in {}", lab.dims[0], stream.items(), images.display()),
            ));
        }
        if let Some(&bad) = lab.data.iter().find(|&&l| l as usize >= classes.len()) {
            return Err(DataError::format(
                labels_file,
                format!("label {bad} is not a class (0..{})", classes.len() - 1),
            ));
        }
        let shape = vec![1, stream.dims()[1], stream.dims()[2]];
        let mut out = self.open(split, Dtype::U8, &shape, true, Some(stream.items()))?;
        let mut item = vec![0u8; stream.item_len()];
        for &label in &lab.data {
            if out.full() {
                break;
            }
            stream.next_item(&mut item)?;
            out.push_u8(&item, Some(label as u16), self.progress)?;
        }
        if out.writer.rows() == stream.items() {
            stream.finish()?;
        }
        Ok((out.finish()?, shape))
    }

    /// A class-per-folder image tree and its test tree, one image at a time.
    fn image_folder(
        &mut self,
        root: &Path,
        test: Option<&Path>,
        opts: ImageFolderOptions,
        source: &Source,
    ) -> Result<Packed, DataError> {
        image_folder::check_options(opts)?;
        let classes = image_folder::list(root)?;
        let names: Vec<String> = classes.iter().map(|(n, _)| n.clone()).collect();
        let identity: Vec<u16> = (0..classes.len() as u16).collect();
        let (train, [h, w]) = self.images(Split::Train, &classes, &identity, opts)?;
        let test = match test {
            None => None,
            Some(t) => {
                let test_classes = image_folder::list(t)?;
                let mut map = Vec::with_capacity(test_classes.len());
                for (c, _) in &test_classes {
                    let i = names.iter().position(|n| n == c).ok_or_else(|| {
                        DataError::Invalid(format!(
                            "{}: the test split has class `{c}`, which the training split does not (classes {names:?})",
                            source.name()
                        ))
                    })?;
                    map.push(i as u16);
                }
                // The test images are resized to the training images' size, as load_source does.
                let test_opts = ImageFolderOptions { size: Some([h, w]), ..opts };
                Some(self.images(Split::Test, &test_classes, &map, test_opts)?.0)
            }
        };
        let item_shape = vec![opts.channels, h, w];
        Ok(Packed { train, test, classes: names, item_shape, dtype: Dtype::U8 })
    }

    /// The images of listed class folders (`labels[k]`: the label of folder `k`).
    fn images(
        &mut self,
        split: Split,
        classes: &[(String, Vec<PathBuf>)],
        labels: &[u16],
        opts: ImageFolderOptions,
    ) -> Result<(Written, [usize; 2]), DataError> {
        let total = classes.iter().map(|(_, f)| f.len()).sum();
        let files = classes.iter().zip(labels).flat_map(|((_, files), &l)| files.iter().map(move |f| (f, l)));
        let mut size = opts.size;
        let mut out: Option<SplitOut> = None;
        let mut pixels = Vec::new();
        for (file, label) in files {
            if out.as_ref().is_some_and(SplitOut::full) {
                break;
            }
            pixels.clear();
            let [h, w] = image_folder::decode_into(file, opts, &mut size, &mut pixels)?;
            if out.is_none() {
                out = Some(self.open(split, Dtype::U8, &[opts.channels, h, w], true, Some(total))?);
            }
            let o = out.as_mut().expect("opened above");
            if !o.full() {
                o.push_u8(&pixels, Some(label), self.progress)?;
            }
        }
        // `image_folder::list` found at least one image, so `out` was opened.
        let (Some(out), Some(size)) = (out, size) else {
            return Err(DataError::Invalid(format!("no images in the {} split", split.name())));
        };
        Ok((out.finish()?, size))
    }

    /// A CSV table and its test table, one row at a time. Every row is read (and checked) even
    /// past the limit, so that the classes and errors are those of [`load_source`].
    fn csv(
        &mut self,
        path: &Path,
        test: Option<&Path>,
        options: &CsvOptions,
        source: &Source,
    ) -> Result<Packed, DataError> {
        let (mut train, train_labels, classes) = self.table(Split::Train, path, options)?;
        let item_shape = vec![train.writer_item_len];
        let labelled = train_labels.is_some();
        train.labels = train_labels;
        let train = train.finish()?;
        let test = match test {
            None => None,
            Some(t) => {
                let (mut out, mut labels, test_classes) = self.table(Split::Test, t, options)?;
                // As load_source's align_test: the shape first, then the classes by name.
                if out.writer_item_len != item_shape[0] {
                    return Err(DataError::Invalid(format!(
                        "{}: test items have shape {:?}, training items {item_shape:?}",
                        source.name(),
                        [out.writer_item_len]
                    )));
                }
                if let (true, Some(l)) = (labelled, &mut labels) {
                    let mut map = Vec::with_capacity(test_classes.len());
                    for c in &test_classes {
                        let i = classes.iter().position(|t| t == c).ok_or_else(|| {
                            DataError::Invalid(format!(
                                "{}: the test split has class `{c}`, which the training split does not (classes {classes:?})",
                                source.name(),
                            ))
                        })?;
                        map.push(i as u16);
                    }
                    l.iter_mut().for_each(|v| *v = map[*v as usize]);
                }
                out.labels = labels;
                Some(out.finish()?)
            }
        };
        Ok(Packed { train, test, classes, item_shape, dtype: Dtype::F32 })
    }

    /// One table, row by row, into a float32 split (the first `limit` rows written, every row
    /// read); its labels (cut to the limit) and class names, left for the caller to attach.
    fn table(&mut self, split: Split, path: &Path, options: &CsvOptions) -> Result<TableOut, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        let mut reader = csv::TableReader::new(file, path, options)?;
        let n = reader.item_len();
        let mut out = self.open(split, Dtype::F32, &[n], false, None)?;
        let mut values = Vec::with_capacity(n);
        loop {
            values.clear();
            if !reader.next_row(&mut values)? {
                break;
            }
            if !out.full() {
                out.push_values(&values, None, self.progress)?;
            }
        }
        let (mut labels, classes) = reader.finish();
        if let Some(l) = &mut labels {
            l.truncate(self.limit);
        }
        Ok((out, labels, classes))
    }

    /// ICELEARNING images, listed as [`icelearning::read`] lists them, decoded one at a time.
    fn ice_images(&mut self, root: &Path, opts: &IceOptions) -> Result<Packed, DataError> {
        let listing = icelearning::list_train(root, opts)?;
        let train = self.ice_split(Split::Train, &listing, opts)?;
        let test = match icelearning::list_test(root, opts)? {
            Some(l) => Some(self.ice_split(Split::Test, &l, opts)?),
            None => None,
        };
        let item_shape = vec![1, opts.size, opts.size];
        Ok(Packed { train, test, classes: listing.classes, item_shape, dtype: Dtype::U8 })
    }

    /// One listed ICELEARNING split, one image at a time.
    fn ice_split(&mut self, split: Split, l: &IceListing, opts: &IceOptions) -> Result<Written, DataError> {
        let shape = [1, opts.size, opts.size];
        let mut out = self.open(split, Dtype::U8, &shape, l.labels.is_some(), Some(l.paths.len()))?;
        for (i, p) in l.paths.iter().enumerate() {
            if out.full() {
                break;
            }
            let pixels = icelearning::load_image(p, opts.size, opts.resize)?;
            out.push_u8(&pixels, l.labels.as_ref().map(|v| v[i]), self.progress)?;
        }
        out.finish()
    }

    /// CIFAR-10 from the batch folder or the archive, one batch file at a time.
    fn cifar(&mut self, path: &Path) -> Result<Packed, DataError> {
        let shape = [3, 32, 32];
        let classes;
        let (mut train, mut test);
        if path.is_dir() {
            classes = cifar::folder_classes(path)?;
            let records =
                |f: &str| std::fs::metadata(path.join(f)).map(|m| m.len() as usize / cifar::RECORD_BYTES).unwrap_or(0);
            let train_total = cifar::TRAIN_FILES.iter().map(|f| records(f)).sum();
            train = self.open(Split::Train, Dtype::U8, &shape, true, Some(train_total))?;
            test = self.open(Split::Test, Dtype::U8, &shape, true, Some(records(cifar::TEST_FILE)))?;
            for file in cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]) {
                let out = if *file == cifar::TEST_FILE { &mut test } else { &mut train };
                if out.full() {
                    continue;
                }
                let p = path.join(file);
                let bytes = cifar::read_capped(&p, cifar::MAX_BATCH_BYTES)?;
                push_batch(out, &bytes, &p, self.progress)?;
            }
        } else {
            let file = File::open(path).map_err(|e| DataError::io(path, e))?;
            train = self.open(Split::Train, Dtype::U8, &shape, true, None)?;
            test = self.open(Split::Test, Dtype::U8, &shape, true, None)?;
            // Training batches are written in file-name order; one that comes early waits in a
            // file of the temporary folder.
            let mut seen: Vec<String> = Vec::new();
            let mut next = 0;
            let dir = self.dir.clone();
            let progress = &mut *self.progress;
            let parked = |name: &str| dir.join(format!(".parked-{name}"));
            let found = cifar::visit_archive(std::io::BufReader::new(file), path, |name, bytes, shown| {
                if seen.iter().any(|s| s == name) {
                    return Err(DataError::format(shown, "a second copy of this batch file"));
                }
                seen.push(name.to_string());
                if name == cifar::TEST_FILE {
                    return push_batch(&mut test, &bytes, &shown, progress);
                }
                if name != cifar::TRAIN_FILES[next] {
                    // Checked now, as the loader checks every batch as it comes.
                    cifar::parse_batch(&bytes, &shown)?;
                    let p = parked(name);
                    return std::fs::write(&p, &bytes).map_err(|e| DataError::io(&p, e));
                }
                push_batch(&mut train, &bytes, &shown, progress)?;
                next += 1;
                while let Some(&f) = cifar::TRAIN_FILES.get(next).filter(|f| seen.iter().any(|s| s == *f)) {
                    let p = parked(f);
                    let bytes = std::fs::read(&p).map_err(|e| DataError::io(&p, e))?;
                    std::fs::remove_file(&p).map_err(|e| DataError::io(&p, e))?;
                    push_batch(&mut train, &bytes, &path.join(cifar::FOLDER).join(f), progress)?;
                    next += 1;
                }
                Ok(())
            })?;
            cifar::archive_complete(path, |f| seen.iter().any(|s| s == f))?;
            classes = found.unwrap_or_else(|| cifar::CLASSES.iter().map(|s| s.to_string()).collect());
        }
        let (train, test) = (train.finish()?, test.finish()?);
        Ok(Packed { train, test: Some(test), classes, item_shape: shape.to_vec(), dtype: Dtype::U8 })
    }

    /// Splits loaded whole ([`load_source`] or the catalog), written item by item.
    fn splits(&mut self, s: Splits) -> Result<Packed, DataError> {
        let dtype = if s.train.features.bits_per_value() == 8 { Dtype::U8 } else { Dtype::F32 };
        let train = self.dataset(Split::Train, &s.train, dtype)?;
        let test = match &s.test {
            Some(t) => {
                if t.item_shape != s.train.item_shape {
                    return Err(DataError::Invalid(format!(
                        "{}: test items have shape {:?}, training items {:?}",
                        s.name, t.item_shape, s.train.item_shape
                    )));
                }
                let bits = |d: &Dataset| d.features.bits_per_value();
                if bits(t) != bits(&s.train) {
                    return Err(DataError::Invalid(format!(
                        "{}: test items have {}-bit values, training items {}-bit: one .npy type holds both",
                        s.name,
                        bits(t),
                        bits(&s.train)
                    )));
                }
                Some(self.dataset(Split::Test, t, dtype)?)
            }
            None => None,
        };
        let classes =
            if s.train.labels.is_some() { s.train.classes } else { s.test.map(|t| t.classes).unwrap_or_default() };
        Ok(Packed { train, test, classes, item_shape: s.train.item_shape, dtype })
    }

    /// One loaded split, item by item (`dtype`: the training split's).
    fn dataset(&mut self, split: Split, d: &Dataset, dtype: Dtype) -> Result<Written, DataError> {
        let mut out = self.open(split, dtype, &d.item_shape, d.labels.is_some(), Some(d.len()))?;
        let n = d.item_len();
        let mut values = vec![0f32; n];
        for i in 0..d.len().min(self.limit) {
            let label = d.labels.as_ref().map(|l| l[i]);
            match &d.features {
                Features::U8(v) if dtype == Dtype::U8 => out.push_u8(&v[i * n..(i + 1) * n], label, self.progress)?,
                _ => {
                    d.try_write_raw(i, &mut values)?;
                    out.push_values(&values, label, self.progress)?;
                }
            }
        }
        out.finish()
    }
}

/// Writes a CIFAR-10 batch file's records (checked as [`cifar::parse_batch`] checks them) into a
/// split, up to its limit.
fn push_batch(
    out: &mut SplitOut,
    bytes: &[u8],
    shown: &Path,
    progress: &mut dyn FnMut(PackProgress),
) -> Result<(), DataError> {
    let (pixels, labels) = cifar::parse_batch(bytes, shown)?;
    for (item, &label) in pixels.chunks_exact(cifar::IMAGE_BYTES).zip(&labels) {
        if out.full() {
            break;
        }
        out.push_u8(item, Some(label), progress)?;
    }
    Ok(())
}

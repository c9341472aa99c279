//! A dataset: items of one shape, optional labels, held in memory, mapped from a file, or
//! decoded from image files per item.

use std::path::Path;

use crate::error::DataError;
use crate::image_folder::{self, ImageFiles, ImageFolder, ImageFolderOptions, Pixels};
use crate::npy::{self, Mapped, MappedFile};

/// The raw feature storage, kept in the source's own type (uint8 images stay uint8 in memory and
/// are converted per batch), a file mapped into memory and read per item, or image files decoded
/// per item.
#[derive(Debug, Clone, PartialEq)]
pub enum Features {
    /// Bytes, e.g. 8-bit pixels.
    U8(Vec<u8>),
    /// Floats, e.g. measured features.
    F32(Vec<f32>),
    /// Rows of a memory-mapped `.npy` file (uint8 or float32), read when asked for.
    Mapped(Mapped),
    /// Image files decoded when an item is asked for, bytes served as f32 0..=255 like
    /// [`Features::U8`] (a streamed image folder: [`crate::image_folder`]).
    Files(ImageFiles),
}

impl Features {
    /// Number of stored values.
    pub fn len(&self) -> usize {
        match self {
            Features::U8(v) => v.len(),
            Features::F32(v) => v.len(),
            Features::Mapped(m) => m.len() * m.array().item_len(),
            Features::Files(f) => f.len() * f.item_len(),
        }
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as f32 (of the items laid end to end). Of [`Features::Files`] slow: decodes the
    /// whole item, and panics (naming the file) if it cannot be decoded.
    pub fn get(&self, i: usize) -> f32 {
        match self {
            Features::U8(v) => v[i] as f32,
            Features::F32(v) => v[i],
            Features::Mapped(m) => m.value(i),
            Features::Files(f) => f.value(i),
        }
    }

    /// Bits per stored value: 8 for bytes (in memory, mapped or image files), 32 for floats.
    pub fn bits_per_value(&self) -> u32 {
        match self {
            Features::U8(_) | Features::Files(_) => 8,
            Features::F32(_) => 32,
            Features::Mapped(m) => 8 * m.array().dtype().size() as u32,
        }
    }

    /// Whether reading an item decodes a file ([`Features::Files`]): a full pass over such data
    /// decodes every image, so statistics should be fitted on a sample
    /// ([`crate::Normalizer::fit_sample`]).
    pub fn is_streamed(&self) -> bool {
        matches!(self, Features::Files(_))
    }
}

/// Items of one shape with optional class labels.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// All items, row-major, one after the other.
    pub features: Features,
    /// Shape of one item, e.g. `[1, 28, 28]` for MNIST or `[36]` for the satellite data.
    pub item_shape: Vec<usize>,
    /// Class index of each item, if known.
    pub labels: Option<Vec<u16>>,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
}

impl From<ImageFolder> for Dataset {
    /// Decoded pixels as [`Features::U8`], streamed files as [`Features::Files`].
    fn from(folder: ImageFolder) -> Self {
        let features = match folder.pixels {
            Pixels::Decoded(bytes) => Features::U8(bytes),
            Pixels::Streamed(files) => Features::Files(files),
        };
        Dataset { features, item_shape: folder.item_shape, labels: Some(folder.labels), classes: folder.classes }
    }
}

impl From<MappedFile> for Dataset {
    /// The mapped rows as [`Features::Mapped`].
    fn from(file: MappedFile) -> Self {
        Dataset {
            features: Features::Mapped(file.mapped),
            item_shape: file.item_shape,
            labels: file.labels,
            classes: file.classes,
        }
    }
}

impl Dataset {
    /// A class-per-folder image tree ([`image_folder::read`]), decoded up front or streamed.
    pub fn read_image_folder(root: &Path, opts: ImageFolderOptions) -> Result<Dataset, DataError> {
        image_folder::read(root, opts).map(Dataset::from)
    }

    /// [`Dataset::read_image_folder`] with another size above which the folder is streamed
    /// ([`image_folder::read_with_threshold`]).
    pub fn read_image_folder_with_threshold(
        root: &Path,
        opts: ImageFolderOptions,
        auto_stream_bytes: u64,
    ) -> Result<Dataset, DataError> {
        image_folder::read_with_threshold(root, opts, auto_stream_bytes).map(Dataset::from)
    }

    /// A memory-mapped `.npy` feature file and, if given, its label file ([`npy::read_mapped`]).
    pub fn read_npy(path: &Path, labels: Option<&Path>) -> Result<Dataset, DataError> {
        npy::read_mapped(path, labels).map(Dataset::from)
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        let n = self.item_len();
        self.features.len().checked_div(n).unwrap_or(0)
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of values in one item.
    pub fn item_len(&self) -> usize {
        self.item_shape.iter().product()
    }

    /// Raw values of item `i` as f32, written into `out` (`item_len` long). Panics if a streamed
    /// image cannot be decoded, with the error naming the file: use [`Dataset::try_write_raw`]
    /// to handle that.
    pub fn write_raw(&self, i: usize, out: &mut [f32]) {
        if let Err(e) = self.try_write_raw(i, out) {
            panic!("item {i}: {e}");
        }
    }

    /// Raw values of item `i` as f32, written into `out` (`item_len` long); an error only for
    /// [`Features::Files`], whose image is decoded here (naming the file).
    pub fn try_write_raw(&self, i: usize, out: &mut [f32]) -> Result<(), DataError> {
        let d = self.item_len();
        match &self.features {
            Features::U8(v) => out.iter_mut().zip(&v[i * d..(i + 1) * d]).for_each(|(o, &b)| *o = b as f32),
            Features::F32(v) => out.copy_from_slice(&v[i * d..(i + 1) * d]),
            Features::Mapped(m) => m.write_item(i, out),
            Features::Files(f) => f.write_item(i, out)?,
        }
        Ok(())
    }

    /// A new dataset of the items at `indices`, in that order (of mapped features or image files:
    /// the same map or file list with a new row list, no item data copied).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let d = self.item_len();
        let features = match &self.features {
            Features::U8(v) => {
                Features::U8(indices.iter().flat_map(|&i| v[i * d..(i + 1) * d].iter().copied()).collect())
            }
            Features::F32(v) => {
                Features::F32(indices.iter().flat_map(|&i| v[i * d..(i + 1) * d].iter().copied()).collect())
            }
            Features::Mapped(m) => Features::Mapped(m.subset(indices)),
            Features::Files(f) => Features::Files(f.subset(indices)),
        };
        Dataset {
            features,
            item_shape: self.item_shape.clone(),
            labels: self.labels.as_ref().map(|l| indices.iter().map(|&i| l[i]).collect()),
            classes: self.classes.clone(),
        }
    }

    /// Keeps only the first `n` items.
    pub fn truncate(&mut self, n: usize) {
        if n >= self.len() {
            return;
        }
        let d = self.item_len();
        match &mut self.features {
            Features::U8(v) => v.truncate(n * d),
            Features::F32(v) => v.truncate(n * d),
            Features::Mapped(m) => m.truncate(n),
            Features::Files(f) => f.truncate(n),
        }
        if let Some(l) = &mut self.labels {
            l.truncate(n);
        }
    }

    /// Number of items of each class (empty without labels).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes.len()];
        if let Some(labels) = &self.labels {
            for &l in labels {
                if let Some(c) = counts.get_mut(l as usize) {
                    *c += 1;
                }
            }
        }
        counts
    }
}

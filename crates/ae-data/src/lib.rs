//! Datasets for autoencoders: real file formats decoded once into memory (or memory-mapped),
//! normalised per batch, and served in seeded, reproducible order by worker threads.
//!
//! - [`idx`]: MNIST / Fashion-MNIST IDX files, gzipped or not.
//! - [`cifar`]: CIFAR-10 binary batches, from the folder or straight from the `.tar.gz`.
//! - [`image_folder`]: class-per-folder images (the CIFAR-10 JPEG layout), decoded up front, or
//!   streamed from disk and decoded per batch when too large to hold decoded.
//! - [`satellite`]: UCI Statlog (Landsat Satellite) `sat.trn` / `sat.tst`.
//! - [`ucr`]: UCR time-series text files (ECG5000).
//! - [`csv`]: generic delimited tables (numeric features, optional header and label column).
//! - [`arff`]: Weka ARFF files (OpenML), numeric features and a nominal class.
//! - [`icelearning`]: ICELEARNING ice-core particle images (128x128 gray) and FlowCam features.
//! - [`npy`]: NumPy `.npy` arrays, memory-mapped (datasets larger than RAM), and a streaming
//!   writer.
//! - [`pack`]: any source converted into `.npy` files (streaming, atomic), for the `npy` source.
//! - [`shapes`]: procedurally drawn shapes, for runs with no dataset on disk.
//! - [`catalog`]: dataset names as configs use them, their files and how to fetch them.
//! - [`source`]: a catalog name or a file/folder by path ([`Source`]), loaded by [`load_source`].
//! - [`fetch`]: downloads from the canonical URLs, checked against known digests, archives
//!   extracted safely.
//! - [`normalize`]: per-feature affine normalisation fitted on training data.
//! - [`batch`]: index views, seeded splits and prefetching batch streams.
//!
//! Nothing here depends on a tensor library: batches are `Vec<f32>` that the trainer hands to
//! its device.

#![warn(missing_docs)]

pub mod arff;
pub mod batch;
pub mod catalog;
pub mod cifar;
pub mod csv;
pub mod dataset;
pub mod error;
pub mod fetch;
pub mod icelearning;
pub mod idx;
pub mod image_folder;
pub mod normalize;
pub mod npy;
pub mod pack;
mod par;
pub mod satellite;
pub mod shapes;
pub mod source;
pub mod ucr;

pub use batch::{Batch, BatchStream, View};
pub use catalog::{LoadOptions, Splits, load};
pub use dataset::{Dataset, Features};
pub use error::DataError;
pub use normalize::{Normalization, Normalizer};
pub use source::{Source, load_source, source_item_shape};

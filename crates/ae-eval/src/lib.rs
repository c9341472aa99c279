//! Evaluation of trained autoencoders' codes and outputs, in plain Rust on `f32` slices.
//!
//! - [`ranking`]: AUROC, average precision, ROC curve, percentiles (anomaly detection).
//! - [`clustering`]: seeded k-means, NMI and ARI.
//! - [`neighbors`]: k-NN classification accuracy; Hamming ranking and radius retrieval for binary
//!   codes.
//! - [`pca`]: principal components, projections and explained variance.
//! - [`linear`]: a multinomial logistic-regression probe on codes.
//! - [`quantize`]: uniform per-unit quantisation of codes, and the bits it takes.
//! - [`plot`]: every picture as PNG bytes: scatter plots, score histograms, loss curves and
//!   grids of items with captions, with an embedded font (this crate writes no files).
//!
//! Conventions: a matrix is a row-major `&[f32]` wrapped in a checked [`Matrix`] view (one item
//! per row); class labels are `u16` (as in `ae_data::Dataset::labels`), except that NMI and ARI
//! compare labelings of any hashable type (e.g. `u16` classes against `usize` k-means clusters);
//! binary labels for ranking are `bool` (`true` = positive, e.g. anomalous). Bad input is an
//! [`EvalError`], never a panic. Results are deterministic for given inputs and seeds, whatever
//! the number of threads (rayon splits work into fixed blocks, summed in a fixed order).

#![warn(missing_docs)]

pub mod clustering;
pub mod error;
pub mod linear;
pub mod matrix;
pub mod neighbors;
pub mod pca;
pub mod plot;
pub mod quantize;
pub mod ranking;

pub use error::{EvalError, Result};
pub use matrix::Matrix;

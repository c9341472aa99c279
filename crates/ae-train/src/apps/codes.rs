//! Shared plumbing of the application subcommands: opening a run, passing a split through the
//! model in batches (inputs, codes, bits, per-item scores, labels), running the model on rows
//! held in memory, class names, flag checks, and 2-D views of codes for scatter plots.

use std::path::{Path, PathBuf};

use ae_data::{BatchStream, View};
use ae_eval::Matrix;
use ae_eval::pca::{Pca, symmetric_eigen};
use ae_eval::plot::{self, Frame, Scatter};
use ae_models::Autoencoder;
use ae_models::bottleneck::binary::to_bits;
use burn::tensor::{Device, Tensor, TensorData};
use serde::Serialize;

use crate::backend::BackendChoice;
use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::report::picture;
use crate::run_folder::trained::{self, Trained};
use crate::training::data::Split;
use crate::training::fit::to_tensor;

/// Items per batch when applying a model (at least the run's own batch size).
pub const INFERENCE_BATCH: usize = 500;

/// The arguments every application subcommand takes.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The run folder of a trained model.
    pub run: PathBuf,
    /// Backend to run on (default: the run's train.backend).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// The split to apply the model to.
    #[arg(long, value_enum, default_value = "test")]
    pub split: Split,
}

/// The name of a split in file names and reports.
pub fn split_name(split: Split) -> &'static str {
    match split {
        Split::Test => "test",
        Split::Val => "val",
        Split::Train => "train",
    }
}

/// What to gather from each item of a split.
#[derive(Debug, Clone, Copy, Default)]
pub struct Want {
    /// The normalised inputs.
    pub inputs: bool,
    /// The codes (`Autoencoder::encode`).
    pub codes: bool,
    /// The codes as bits (`to_bits` of the codes) instead of the codes.
    pub bits: bool,
    /// The reconstruction loss of each item (`Autoencoder::per_sample_loss`).
    pub scores: bool,
}

/// Items of a split as the model sees them: row-major matrices, one row per item.
#[derive(Debug, Clone, Default)]
pub struct Collected {
    /// Number of items.
    pub items: usize,
    /// Values per input item.
    pub cols: usize,
    /// Normalised inputs, `items x cols` (empty unless asked for).
    pub inputs: Vec<f32>,
    /// Code width.
    pub width: usize,
    /// Codes or bits, `items x width` (empty unless asked for).
    pub codes: Vec<f32>,
    /// Reconstruction loss per item (empty unless asked for).
    pub scores: Vec<f32>,
    /// Labels, if the dataset has them.
    pub labels: Option<Vec<u16>>,
}

impl Collected {
    /// The codes as a checked matrix (fails on a non-finite code, naming it).
    pub fn code_matrix(&self) -> Result<Matrix<'_>> {
        Ok(Matrix::new(&self.codes, self.items, self.width)?)
    }

    /// The inputs as a checked matrix.
    pub fn input_matrix(&self) -> Result<Matrix<'_>> {
        Ok(Matrix::new(&self.inputs, self.items, self.cols)?)
    }

    /// The labels, or a usage error saying that `what` needs them.
    pub fn labels(&self, run: &Path, what: &str) -> Result<&[u16]> {
        self.labels.as_deref().ok_or_else(|| {
            AppError::usage(format!("{}: {what} needs labels, and the run's dataset has none", run.display()))
        })
    }
}

/// What every report starts with (flattened into its JSON): the run, the split, the backend.
#[derive(Debug, Clone, Serialize)]
pub struct About {
    /// The run folder.
    pub run: PathBuf,
    /// The split measured.
    pub split: Split,
    /// Backend used.
    pub backend: String,
}

impl About {
    /// The start of a summary: `<what> RUN (<split> split, <items> items, <backend> backend)`.
    pub fn header(&self, what: &str, items: usize) -> String {
        format!(
            "{what} {} ({} split, {items} items, {} backend)",
            self.run.display(),
            split_name(self.split),
            self.backend
        )
    }
}

/// A trained run opened for an application, with the split asked for.
pub struct App {
    /// The run's model, data and backend.
    pub t: Trained,
    /// The split the application measures.
    pub split: Split,
}

impl App {
    /// Loads the run and checks that it has the split.
    pub fn open(args: &RunArgs) -> Result<App> {
        let app = App { t: trained::load(&args.run, args.backend)?, split: args.split };
        app.view(args.split)?;
        Ok(app)
    }

    /// The run folder.
    pub fn run_dir(&self) -> &Path {
        &self.t.run
    }

    /// A file in the run folder.
    pub fn file(&self, name: &str) -> PathBuf {
        self.t.run.join(name)
    }

    /// The model.
    pub fn model(&self) -> &Autoencoder {
        &self.t.model
    }

    /// The device the model runs on.
    pub fn device(&self) -> &Device {
        &self.t.backend.device
    }

    /// The run, split and backend, for reports.
    pub fn about(&self) -> About {
        About { run: self.t.run.clone(), split: self.split, backend: self.t.backend.name.to_string() }
    }

    /// Writes `name` into the run folder: one row of pictures per matrix of `sources` (items of
    /// the data's shape, normalised), showing the items at `items`.
    pub fn picture(&self, name: &str, sources: &[&[f32]], items: &[usize]) -> Result<()> {
        let d = self.t.data.item_len();
        let rows: Vec<Vec<Vec<f32>>> =
            sources.iter().map(|v| items.iter().map(|&i| v[i * d..(i + 1) * d].to_vec()).collect()).collect();
        picture::save_rows(&self.file(name), &rows, &self.t.data.shape, &self.t.data.normalizer)
    }

    /// The view of a split, or a usage error naming the run.
    pub fn view(&self, split: Split) -> Result<&View> {
        self.t.data.split(split).ok_or_else(|| {
            AppError::usage(format!("{}: the run's data has no {} split", self.t.run.display(), split_name(split)))
        })
    }

    /// The class names of the dataset (indexed by label).
    pub fn class_names(&self) -> Vec<String> {
        self.t.data.train.data.classes.clone()
    }

    /// The name of class `label` (its number past the end of the names).
    pub fn class_name(&self, label: u16) -> String {
        self.t.data.train.data.classes.get(label as usize).cloned().unwrap_or_else(|| label.to_string())
    }

    /// Width of the model's code.
    pub fn code_width(&self) -> usize {
        self.t.model.bottleneck.code_width()
    }

    fn batch_size(&self) -> usize {
        self.t.config.train.batch_size.max(INFERENCE_BATCH)
    }

    /// Gathers `want` from every item of `split`, in the split's order.
    pub fn collect(&self, split: Split, want: Want) -> Result<Collected> {
        let n = self.view(split)?.len();
        self.collect_items(split, (0..n).collect(), want)
    }

    /// Gathers `want` from the items at `positions` of `split`, in that order.
    pub fn collect_items(&self, split: Split, positions: Vec<usize>, want: Want) -> Result<Collected> {
        let view = self.view(split)?;
        let (model, device) = (self.model(), self.device());
        let mut c = Collected {
            items: positions.len(),
            cols: view.item_len(),
            width: self.code_width(),
            labels: view.data.labels.as_ref().map(|_| Vec::with_capacity(positions.len())),
            ..Collected::default()
        };
        let stream = BatchStream::new(view.clone(), positions, self.batch_size(), self.t.config.train.workers);
        for batch in stream {
            if let (Some(all), Some(l)) = (&mut c.labels, &batch.labels) {
                all.extend_from_slice(l);
            }
            if want.inputs {
                c.inputs.extend_from_slice(&batch.x);
            }
            if !(want.codes || want.bits || want.scores) {
                continue;
            }
            let x = to_tensor(batch, device);
            if want.scores {
                c.scores.extend(read(model.per_sample_loss(x.clone()))?);
            }
            if want.codes || want.bits {
                let code = model.encode(x);
                c.codes.extend(read(if want.bits { to_bits(code) } else { code })?);
            }
        }
        let expect = |what: &str, len: usize, per: usize| {
            if len != c.items * per {
                return Err(AppError::runtime(format!("{what}: got {len} values for {} items", c.items)));
            }
            Ok(())
        };
        if want.inputs {
            expect("inputs", c.inputs.len(), c.cols)?;
        }
        if want.codes || want.bits {
            expect("codes", c.codes.len(), c.width)?;
        }
        if want.scores {
            expect("scores", c.scores.len(), 1)?;
        }
        Ok(c)
    }

    /// Runs `f` on the rows of `rows` (`cols` values each) in batches on the device and returns
    /// its output rows, concatenated.
    pub fn apply(
        &self,
        rows: &[f32],
        cols: usize,
        f: impl Fn(&Autoencoder, Tensor<2>) -> Tensor<2>,
    ) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        for chunk in rows.chunks(self.batch_size() * cols) {
            let x = Tensor::from_data(TensorData::new(chunk.to_vec(), [chunk.len() / cols, cols]), self.device());
            out.extend(read(f(self.model(), x))?);
        }
        Ok(out)
    }

    /// The reconstructions of `rows` of inputs.
    pub fn reconstruct(&self, rows: &[f32], cols: usize) -> Result<Vec<f32>> {
        self.apply(rows, cols, |m, x| m.decode(m.encode(x)))
    }

    /// The decoded items of `codes` rows.
    pub fn decode(&self, codes: &[f32]) -> Result<Vec<f32>> {
        self.apply(codes, self.code_width(), |m, z| m.decode(z))
    }

    /// Usage error about this run's model for `what`.
    pub fn wrong_model(&self, what: &str) -> AppError {
        let m = &self.t.config.model;
        AppError::usage(format!(
            "{}: {what}; this run's model has a `{}` bottleneck (config.toml, key `model.bottleneck.kind`)",
            self.t.run.display(),
            serde_json::to_value(&m.bottleneck)
                .ok()
                .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_string))
                .unwrap_or_else(|| "other".into())
        ))
    }
}

/// The values of a tensor, read back from the device.
pub fn read<const D: usize>(t: Tensor<D>) -> Result<Vec<f32>> {
    t.into_data()
        .try_into_vec::<f32>()
        .map_err(|e| AppError::runtime(format!("cannot read results from the device: {e:?}")))
}

/// Checks a flag's value: a usage error `--flag value: must ...` otherwise.
pub fn check_flag(ok: bool, flag: &str, value: impl std::fmt::Display, must: &str) -> Result<()> {
    if ok { Ok(()) } else { Err(AppError::usage(format!("{flag} {value}: must be {must}"))) }
}

/// The share of the most common label: the accuracy of always guessing it.
pub fn majority_rate(labels: &[u16]) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for &l in labels {
        *counts.entry(l).or_insert(0usize) += 1;
    }
    counts.values().copied().max().unwrap_or(0) as f64 / labels.len().max(1) as f64
}

/// Rows of code width above which the 2-D projection is fitted through the Gram matrix of a
/// sample of rows instead of the covariance (whose eigen decomposition costs `width^3`).
const GRAM_ABOVE: usize = 512;
/// Rows sampled for the Gram projection.
const GRAM_ROWS: usize = 600;

/// How codes were brought to two dimensions for a picture.
#[derive(Debug, Clone, Serialize)]
pub struct Projection {
    /// `codes` (2-D codes as they are), `pca` (the first two principal components), or
    /// `code_and_item` (a 1-D code against the item's position).
    pub method: &'static str,
    /// Share of the codes' variance along each plotted axis (PCA only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub explained_variance_ratio: Option<[f64; 2]>,
}

/// Two coordinates per row of `codes` (`width` wide): the codes themselves when 2-D, else their
/// first two principal components.
pub fn project_2d(codes: &[f32], width: usize) -> Result<(Vec<[f32; 2]>, Projection)> {
    let m = Matrix::with_cols(codes, width)?;
    let n = m.rows();
    match width {
        1 => Ok((
            codes.iter().enumerate().map(|(i, &c)| [c, i as f32]).collect(),
            Projection { method: "code_and_item", explained_variance_ratio: None },
        )),
        2 => Ok((
            codes.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
            Projection { method: "codes", explained_variance_ratio: None },
        )),
        w if w <= GRAM_ABOVE || n < 3 => {
            let pca = Pca::fit(m, 2)?;
            let r = pca.explained_variance_ratio();
            let xy = pca.transform(m)?;
            Ok((
                xy.chunks_exact(2).map(|c| [c[0], c[1]]).collect(),
                Projection { method: "pca", explained_variance_ratio: Some([r[0], r[1]]) },
            ))
        }
        w => {
            // Principal axes from the Gram matrix of a spread sample of centred rows: its leading
            // eigenvectors u give the axes S^T u (the same axes as the sample's covariance).
            let mean = m.column_means();
            let rows: Vec<usize> = (0..GRAM_ROWS.min(n)).map(|i| i * n / GRAM_ROWS.min(n)).collect();
            let s: Vec<f64> =
                rows.iter().flat_map(|&i| m.row(i).iter().zip(&mean).map(|(&v, &c)| v as f64 - c)).collect();
            let k = rows.len();
            let mut gram = vec![0.0f64; k * k];
            for a in 0..k {
                for b in a..k {
                    let d: f64 = s[a * w..(a + 1) * w].iter().zip(&s[b * w..(b + 1) * w]).map(|(x, y)| x * y).sum();
                    gram[a * k + b] = d;
                    gram[b * k + a] = d;
                }
            }
            let trace: f64 = (0..k).map(|i| gram[i * k + i]).sum();
            let (values, vectors) = symmetric_eigen(&gram, k)?;
            let mut axes = vec![vec![0.0f64; w]; 2];
            for (axis, u) in axes.iter_mut().zip(vectors.chunks_exact(k)) {
                for (r, &ur) in u.iter().enumerate() {
                    axis.iter_mut().zip(&s[r * w..(r + 1) * w]).for_each(|(a, &v)| *a += ur * v);
                }
                let norm = axis.iter().map(|v| v * v).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
                axis.iter_mut().for_each(|v| *v /= norm);
            }
            let points = (0..n)
                .map(|i| {
                    let p = |axis: &[f64]| {
                        m.row(i).iter().zip(&mean).zip(axis).map(|((&v, &c), &a)| (v as f64 - c) * a).sum::<f64>()
                            as f32
                    };
                    [p(&axes[0]), p(&axes[1])]
                })
                .collect();
            let ratio = |i: usize| if trace > 0.0 { values[i].max(0.0) / trace } else { 0.0 };
            Ok((points, Projection { method: "pca", explained_variance_ratio: Some([ratio(0), ratio(1)]) }))
        }
    }
}

/// Draws `codes` (`width` wide) in two dimensions ([`project_2d`]), coloured by `groups` (class
/// labels, or clusters) named by `names`; points without a group are drawn in black. `beside`
/// (a legend name and codes) adds a second set of items as one unlabelled group, in the same
/// projection (principal axes of both sets).
pub fn scatter_codes(
    path: &Path,
    title: &str,
    codes: &[f32],
    width: usize,
    groups: Option<&[u16]>,
    names: &[String],
    beside: Option<(&str, &[f32])>,
) -> Result<Projection> {
    let all: Vec<f32> = match beside {
        Some((_, other)) => codes.iter().chain(other).copied().collect(),
        None => codes.to_vec(),
    };
    let (points, projection) = project_2d(&all, width)?;
    let (own, other) = points.split_at(codes.len() / width.max(1));
    let (x, y) = match projection.method {
        "codes" => ("code 1", "code 2"),
        "pca" => ("principal component 1", "principal component 2"),
        _ => ("code", "item"),
    };
    let frame = Frame::new(title, x, y);
    let plot = match (groups, beside) {
        (Some(labels), Some((name, _))) => {
            Scatter { points: own, labels, class_names: names, unlabelled: Some((name, other)) }
        }
        (Some(labels), None) => Scatter { points: own, labels, class_names: names, unlabelled: None },
        (None, _) => {
            Scatter { points: &[], labels: &[], class_names: names, unlabelled: Some(("unlabelled items", &points)) }
        }
    };
    write_atomic(path, &plot::scatter(&frame, &plot)?.bytes)?;
    Ok(projection)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows spread along two known directions of `width` units (the second 3 times narrower),
    /// with a little noise.
    fn two_axes(n: usize, width: usize) -> (Vec<f32>, Vec<f32>) {
        let mut data = Vec::with_capacity(n * width);
        let mut along = Vec::with_capacity(n);
        for i in 0..n {
            let a = ((i * 37 % 101) as f32 - 50.0) / 10.0;
            let b = ((i * 53 % 97) as f32 - 48.0) / 30.0;
            along.push(a);
            data.extend((0..width).map(|j| {
                let noise = ((i * 31 + j * 17) % 13) as f32 / 1000.0;
                if j == 3 {
                    a
                } else if j == width - 1 {
                    b
                } else {
                    noise
                }
            }));
        }
        (data, along)
    }

    fn correlation(x: &[f32], y: &[f32]) -> f64 {
        let n = x.len() as f64;
        let (mx, my) = (x.iter().sum::<f32>() as f64 / n, y.iter().sum::<f32>() as f64 / n);
        let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
        for (&a, &b) in x.iter().zip(y) {
            let (a, b) = (a as f64 - mx, b as f64 - my);
            sxy += a * b;
            sxx += a * a;
            syy += b * b;
        }
        sxy / (sxx * syy).sqrt()
    }

    #[test]
    fn projections_find_the_leading_axes() {
        for width in [40, GRAM_ABOVE + 88] {
            let (data, along) = two_axes(700, width);
            let (points, p) = project_2d(&data, width).unwrap();
            assert_eq!((points.len(), p.method), (700, "pca"));
            let first: Vec<f32> = points.iter().map(|p| p[0]).collect();
            assert!(correlation(&first, &along).abs() > 0.999, "width {width}");
            let [r0, r1] = p.explained_variance_ratio.unwrap();
            assert!(r0 > 0.85 && r1 > 0.05 && r0 + r1 <= 1.0 + 1e-9, "width {width}: {r0} {r1}");
        }
        let (points, p) = project_2d(&[1.0, 2.0, 3.0, 4.0], 2).unwrap();
        assert_eq!((points, p.method), (vec![[1.0, 2.0], [3.0, 4.0]], "codes"));
        let (points, p) = project_2d(&[5.0, 6.0], 1).unwrap();
        assert_eq!((points, p.method), (vec![[5.0, 0.0], [6.0, 1.0]], "code_and_item"));
    }

    #[test]
    fn majority_rate_counts_the_commonest_label() {
        assert_eq!(majority_rate(&[1, 2, 2, 3]), 0.5);
        assert_eq!(majority_rate(&[]), 0.0);
    }
}

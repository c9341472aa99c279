//! `ae-train encode RUN`: the codes of a split as CSV and NPY, a scatter plot of them coloured by
//! class, and how well the codes predict the labels (k-NN of the split's codes among the training
//! codes).

use ae_eval::neighbors::{knn_accuracy, knn_accuracy_leave_one_out};
use serde::Serialize;

use super::codes::{About, App, Projection, RunArgs, Want, check_flag, majority_rate, scatter_codes, split_name};
use crate::error::Result;
use crate::fsio::{write_atomic, write_json};
use crate::training::data::Split;

/// `ae-train encode` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Neighbours voting in the k-NN accuracy.
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// A code unit counts as active for an item when its absolute value exceeds this.
    #[arg(long, default_value_t = 0.1)]
    pub active: f32,
    /// Also encode this split and draw it beside the first in the same picture (one group, in
    /// the same projection), e.g. `--split train --beside test` for the ice-core study's
    /// unlabelled core samples among the labelled training particles.
    #[arg(long, value_enum)]
    pub beside: Option<Split>,
}

/// k-NN accuracy of labels from codes.
#[derive(Debug, Clone, Serialize)]
pub struct Knn {
    /// Neighbours voting.
    pub k: usize,
    /// Fraction of the split's items whose label is the majority of their k nearest training
    /// codes (leave-one-out within the training split when that is the split).
    pub accuracy: f64,
    /// Training items searched.
    pub reference_items: usize,
    /// Accuracy of always guessing the split's most common class.
    pub majority_class_rate: f64,
}

/// `encode.json`.
#[derive(Debug, Clone, Serialize)]
pub struct EncodeReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Items encoded.
    pub items: usize,
    /// Units per code.
    pub code_width: usize,
    /// Files written into the run folder.
    pub files: Vec<String>,
    /// How the scatter plot shows the codes.
    pub projection: Projection,
    /// Mean and standard deviation of each code unit over the split.
    pub unit_mean: Vec<f64>,
    /// Standard deviation of each unit.
    pub unit_std: Vec<f64>,
    /// Mean number of units per item whose absolute value exceeds `active_threshold` (the
    /// sparsity of sparse, k-sparse and contractive codes).
    pub mean_active_units: f64,
    /// The `--active` threshold.
    pub active_threshold: f32,
    /// k-NN accuracy, when the data has labels.
    pub knn: Option<Knn>,
}

impl EncodeReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let knn = match &self.knn {
            Some(k) => format!(
                "{}-NN accuracy of labels from codes {:.4} (majority class {:.4}, {} training codes searched)",
                k.k, k.accuracy, k.majority_class_rate, k.reference_items
            ),
            None => "no labels: no k-NN accuracy".into(),
        };
        format!(
            "{}: {}-unit codes, {:.2} active per item (|value| > {}); {knn}\nwrote {}",
            self.about.header("encode", self.items),
            self.code_width,
            self.mean_active_units,
            self.active_threshold,
            self.files.join(", ")
        )
    }
}

/// The NPY (format 1.0) bytes of a little-endian `f32` matrix of `rows x cols`, as NumPy's
/// `np.save` writes it: magic, version, header length, a header dict padded with spaces and
/// ending in a newline so that the data starts at a multiple of 64 bytes, then the values.
pub fn npy_f32(data: &[f32], rows: usize, cols: usize) -> Vec<u8> {
    assert_eq!(data.len(), rows * cols, "NPY matrix shape");
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let unpadded = 10 + header.len() + 1;
    header.extend(std::iter::repeat_n(' ', unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Mean number of values per row of `codes` (rows of `width`) whose absolute value exceeds
/// `threshold`.
pub fn mean_active(codes: &[f32], width: usize, threshold: f32) -> f64 {
    let rows = codes.len() / width.max(1);
    codes.iter().filter(|v| v.abs() > threshold).count() as f64 / rows.max(1) as f64
}

/// A CSV of one row per item: the label (empty if unknown), then the columns of `values`.
pub fn labelled_csv(labels: Option<&[u16]>, values: &[f32], cols: usize, prefix: &str) -> String {
    let mut csv = String::from("label");
    for j in 0..cols {
        csv.push_str(&format!(",{prefix}{j}"));
    }
    csv.push('\n');
    for (i, row) in values.chunks_exact(cols).enumerate() {
        if let Some(l) = labels.and_then(|l| l.get(i)) {
            csv.push_str(&l.to_string());
        }
        for v in row {
            csv.push_str(&format!(",{v}"));
        }
        csv.push('\n');
    }
    csv
}

/// Runs the subcommand: writes `codes_<split>.csv`, `codes_<split>.npy`, `codes_<split>.png` and
/// `encode.json`.
pub fn run(args: &Args) -> Result<EncodeReport> {
    check_flag(args.k >= 1, "--k", args.k, "at least 1")?;
    check_flag(args.active.is_finite() && args.active >= 0.0, "--active", args.active, "a number >= 0")?;
    let app = App::open(&args.run)?;
    let split = app.split;
    let c = app.collect(split, Want { codes: true, ..Want::default() })?;
    let (n, w) = (c.items, c.width);
    let name = split_name(split);
    let file = |ext: &str| format!("codes_{name}.{ext}");
    write_atomic(&app.file(&file("csv")), labelled_csv(c.labels.as_deref(), &c.codes, w, "code_").as_bytes())?;
    write_atomic(&app.file(&file("npy")), &npy_f32(&c.codes, n, w))?;

    let beside = match args.beside {
        Some(other) if other == split => {
            return Err(crate::error::AppError::usage(format!("--beside {}: that is the --split itself", name)));
        }
        Some(other) => Some((other, app.collect(other, Want { codes: true, ..Want::default() })?)),
        None => None,
    };
    let (title, picture) = match &beside {
        Some((other, _)) => (
            format!(
                "{} codes: {name} and {} splits ({})",
                app.t.config.name,
                split_name(*other),
                app.t.config.data.dataset
            ),
            format!("codes_{name}_{}.png", split_name(*other)),
        ),
        None => {
            (format!("{} codes of the {name} split ({})", app.t.config.name, app.t.config.data.dataset), file("png"))
        }
    };
    let legend = beside.as_ref().map(|(other, o)| {
        format!("{} split{}", split_name(*other), if o.labels.is_none() { " (unlabelled)" } else { "" })
    });
    let projection = scatter_codes(
        &app.file(&picture),
        &title,
        &c.codes,
        w,
        c.labels.as_deref(),
        &app.class_names(),
        beside.as_ref().zip(legend.as_deref()).map(|((_, o), l)| (l, &o.codes[..])),
    )?;

    let mut mean = vec![0.0f64; w];
    let mut sq = vec![0.0f64; w];
    for row in c.codes.chunks_exact(w) {
        for (j, &v) in row.iter().enumerate() {
            mean[j] += v as f64;
            sq[j] += v as f64 * v as f64;
        }
    }
    let nf = n.max(1) as f64;
    let unit_mean: Vec<f64> = mean.iter().map(|m| m / nf).collect();
    let unit_std = sq.iter().zip(&unit_mean).map(|(q, m)| (q / nf - m * m).max(0.0).sqrt()).collect();

    let knn = match &c.labels {
        None => None,
        Some(labels) => {
            let codes = c.code_matrix()?;
            let (accuracy, reference_items) = if split == Split::Train {
                check_flag(args.k < n, "--k", args.k, &format!("below the {n} training items"))?;
                (knn_accuracy_leave_one_out(codes, labels, args.k)?, n - 1)
            } else {
                let train = app.collect(Split::Train, Want { codes: true, ..Want::default() })?;
                let train_labels = train.labels(app.run_dir(), "k-NN")?;
                check_flag(
                    args.k <= train.items,
                    "--k",
                    args.k,
                    &format!("at most the {} training items", train.items),
                )?;
                (knn_accuracy(train.code_matrix()?, train_labels, codes, labels, args.k)?, train.items)
            };
            Some(Knn { k: args.k, accuracy, reference_items, majority_class_rate: majority_rate(labels) })
        }
    };
    let report = EncodeReport {
        about: app.about(),
        items: n,
        code_width: w,
        files: vec![file("csv"), file("npy"), picture, "encode.json".into()],
        projection,
        unit_mean,
        unit_std,
        mean_active_units: mean_active(&c.codes, w, args.active),
        active_threshold: args.active,
        knn,
    };
    write_json(&app.file("encode.json"), &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_padded_to_64_bytes() {
        let b = npy_f32(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3, 2);
        assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
        let len = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + len) % 64, 0);
        let header = std::str::from_utf8(&b[10..10 + len]).unwrap();
        assert!(header.starts_with("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }"));
        assert!(header.ends_with('\n'));
        assert_eq!(b.len(), 10 + len + 24);
        assert_eq!(f32::from_le_bytes(b[10 + len + 20..].try_into().unwrap()), 6.0);
    }

    #[test]
    fn active_units_are_counted_per_row() {
        // Rows: [0.5, 0, -0.2] -> 2 active, [0.05, 0.1, 1] -> 1 active (0.1 is not above 0.1).
        assert_eq!(mean_active(&[0.5, 0.0, -0.2, 0.05, 0.1, 1.0], 3, 0.1), 1.5);
        assert_eq!(mean_active(&[0.5, 0.0, -0.2, 0.05, 0.1, 1.0], 3, 0.0), 2.5);
    }

    #[test]
    fn csv_has_a_label_column() {
        let csv = labelled_csv(Some(&[3, 7]), &[0.5, 1.0, -2.0, 0.25], 2, "code_");
        assert_eq!(csv, "label,code_0,code_1\n3,0.5,1\n7,-2,0.25\n");
        assert_eq!(labelled_csv(None, &[1.5], 1, "c"), "label,c0\n,1.5\n");
    }
}

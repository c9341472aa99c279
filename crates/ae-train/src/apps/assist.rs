//! `ae-train assist RUN`: semi-supervised use of the codes. A softmax classifier is trained on the
//! codes of a few labelled training items (chosen seeded, as balanced over the classes as the data
//! allows) and scored on a split, against the same classifier trained on the inputs themselves.

use ae_core::SplitMix64;
use ae_eval::Matrix;
use ae_eval::linear::{LogisticOptions, LogisticRegression};
use ae_eval::plot::{self, Frame, LineChart, Series};
use serde::Serialize;

use super::codes::{About, App, Collected, RunArgs, Want, check_flag, majority_rate, split_name};
use crate::error::{AppError, Result};
use crate::fsio::{write_atomic, write_json};
use crate::training::data::Split;

/// `ae-train assist` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Labelled training items the classifier learns from.
    #[arg(long, default_value_t = 100)]
    pub labels: usize,
    /// Seed of the choice of labelled items.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// L2 penalty of the classifier (on standardised features).
    #[arg(long, default_value_t = 1e-2)]
    pub l2: f64,
}

/// Accuracy with a number of labels.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Labelled training items.
    pub labels: usize,
    /// Accuracy of the classifier on the codes.
    pub codes: f64,
    /// Accuracy of the classifier on the inputs.
    pub inputs: f64,
}

/// `assist.json`.
#[derive(Debug, Clone, Serialize)]
pub struct AssistReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Items scored.
    pub items: usize,
    /// Labelled training items used.
    pub labels: usize,
    /// Labelled items per class (label index order).
    pub labels_per_class: Vec<usize>,
    /// Seed of the choice.
    pub seed: u64,
    /// L2 penalty of the classifier.
    pub l2: f64,
    /// Units per code.
    pub code_width: usize,
    /// Values per input.
    pub input_width: usize,
    /// Accuracy on the split of the classifier trained on codes.
    pub accuracy_codes: f64,
    /// Accuracy of the classifier trained on inputs.
    pub accuracy_inputs: f64,
    /// Accuracy of always guessing the split's most common class.
    pub majority_class_rate: f64,
    /// Accuracy with fewer labels (nested subsets of the same choice).
    pub curve: Vec<Point>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl AssistReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        format!(
            "{}: softmax classifier from {} labelled training items\n\
             accuracy on {}-unit codes {:.4}, on {}-value inputs {:.4} (majority class {:.4})\nwrote {}",
            self.about.header("assist", self.items),
            self.labels,
            self.code_width,
            self.accuracy_codes,
            self.input_width,
            self.accuracy_inputs,
            self.majority_class_rate,
            self.files.join(", ")
        )
    }
}

/// Positions of training items in the order they are labelled: the classes take turns, each
/// class's items in a seeded random order, so that every prefix is as balanced as it can be.
pub fn balanced_order(labels: &[u16], seed: u64) -> Vec<usize> {
    let classes = labels.iter().copied().max().map_or(0, |m| m as usize + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (p, &l) in labels.iter().enumerate() {
        by_class[l as usize].push(p);
    }
    let mut g = SplitMix64::new(seed, 0xA5515);
    for c in &mut by_class {
        g.shuffle(c);
    }
    let longest = by_class.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest).flat_map(|r| by_class.iter().filter_map(move |c| c.get(r).copied())).collect()
}

/// Accuracy on `test` of classifiers fitted on the first `n` rows of `train`, codes and inputs.
fn accuracies(
    train: &Collected,
    labels: &[u16],
    test: &Collected,
    test_labels: &[u16],
    n: usize,
    opts: &LogisticOptions,
) -> Result<Point> {
    let fit = |x: &[f32], cols: usize, tx: Matrix| -> Result<f64> {
        let model = LogisticRegression::fit(Matrix::new(&x[..n * cols], n, cols)?, &labels[..n], opts)?;
        Ok(model.accuracy(tx, test_labels)?)
    };
    Ok(Point {
        labels: n,
        codes: fit(&train.codes, train.width, test.code_matrix()?)?,
        inputs: fit(&train.inputs, train.cols, test.input_matrix()?)?,
    })
}

/// Runs the subcommand: writes `assist.json` and `assist.png` (accuracy against labels used).
pub fn run(args: &Args) -> Result<AssistReport> {
    check_flag(args.labels >= 2, "--labels", args.labels, "at least 2")?;
    check_flag(args.l2 >= 0.0 && args.l2.is_finite(), "--l2", args.l2, "a finite number >= 0")?;
    let app = App::open(&args.run)?;
    let run = app.run_dir();
    let view = app.view(Split::Train)?;
    let Some(all) = &view.data.labels else {
        return Err(AppError::usage(format!("{}: assist needs labels, and the run's dataset has none", run.display())));
    };
    let train_labels: Vec<u16> = view.indices.iter().map(|&i| all[i]).collect();
    check_flag(
        args.labels <= train_labels.len(),
        "--labels",
        args.labels,
        &format!("at most the {} training items", train_labels.len()),
    )?;
    let mut order = balanced_order(&train_labels, args.seed);
    order.truncate(args.labels);
    let want = Want { inputs: true, codes: true, ..Want::default() };
    let train = app.collect_items(Split::Train, order, want)?;
    let labels = train.labels(run, "assist")?.to_vec();
    if labels.iter().all(|&l| l == labels[0]) {
        return Err(AppError::usage(format!(
            "{}: the training split has a single class; nothing to classify",
            run.display()
        )));
    }
    let test = app.collect(app.split, want)?;
    let test_labels = test.labels(run, "assist")?;
    let opts = LogisticOptions { l2: args.l2, ..LogisticOptions::default() };

    // Nested subsets: 10, 20, 50, 100, ... below the number asked for (with at least two
    // classes), then all of it.
    let classes = app.class_names().len();
    let mut sizes: Vec<usize> = [1, 2, 5].iter().flat_map(|&m| [10, 100, 1000, 10_000].map(|p| m * p)).collect();
    sizes.retain(|&s| s < args.labels && s >= classes.min(args.labels));
    sizes.sort_unstable();
    sizes.push(args.labels);
    let curve =
        sizes.iter().map(|&n| accuracies(&train, &labels, &test, test_labels, n, &opts)).collect::<Result<Vec<_>>>()?;
    let last = curve.last().expect("the number of labels asked for").clone();

    let points = |f: fn(&Point) -> f64| curve.iter().map(|p| (p.labels as f64, f(p))).collect::<Vec<_>>();
    let (pc, pi) = (points(|p| p.codes), points(|p| p.inputs));
    let series = [Series { name: "codes", points: &pc }, Series { name: "inputs", points: &pi }];
    let title = format!("{}: softmax classifier from few labels, {} split", app.t.config.name, split_name(app.split));
    let png = plot::line_chart(
        &Frame::new(&title, "labelled training items", "accuracy"),
        &LineChart { series: &series, log_y: false },
    )?;
    write_atomic(&app.file("assist.png"), &png.bytes)?;
    let mut per_class = vec![0usize; classes.max(1)];
    for &l in &labels {
        if let Some(c) = per_class.get_mut(l as usize) {
            *c += 1;
        }
    }
    let report = AssistReport {
        about: app.about(),
        items: test.items,
        labels: args.labels,
        labels_per_class: per_class,
        seed: args.seed,
        l2: args.l2,
        code_width: train.width,
        input_width: train.cols,
        accuracy_codes: last.codes,
        accuracy_inputs: last.inputs,
        majority_class_rate: majority_rate(test_labels),
        curve,
        files: vec!["assist.png".into(), "assist.json".into()],
    };
    write_json(&app.file("assist.json"), &report)?;
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_balanced_and_seeded() {
        let labels: Vec<u16> = (0..100).map(|i| if i < 80 { 0 } else { 1 + (i % 2) as u16 }).collect();
        let order = balanced_order(&labels, 3);
        assert_eq!(order.len(), 100);
        let first: Vec<u16> = order[..6].iter().map(|&p| labels[p]).collect();
        assert_eq!(first, vec![0, 1, 2, 0, 1, 2]);
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
        assert_eq!(balanced_order(&labels, 3), order);
        assert_ne!(balanced_order(&labels, 4), order);
    }
}

//! `ae-train anomaly RUN`: reconstruction error as an anomaly score. Items scoring above a
//! percentile of the training items' scores are flagged; where the normal classes are known
//! (`--normal`, else the run's `data.classes`) the scores are ranked against the labels (AUROC,
//! average precision) and drawn as histograms of normal and anomalous items.

use ae_eval::plot::{self, Frame, Histogram};
use ae_eval::ranking::{auroc, average_precision, percentile, threshold_metrics};
use serde::Serialize;

use super::codes::{About, App, RunArgs, Want, check_flag, split_name};
use crate::error::{AppError, Result};
use crate::fsio::{write_atomic, write_json};
use crate::training::data::Split;

/// `ae-train anomaly` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Percentile of the training items' scores above which an item is flagged.
    #[arg(long, default_value_t = 95.0)]
    pub percentile: f64,
    /// The normal classes, by label index (e.g. `--normal 0,1`); every other class is anomalous.
    /// Default: the run's `data.classes`.
    #[arg(long, value_delimiter = ',', num_args = 1..)]
    pub normal: Option<Vec<u16>>,
}

/// Scores of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ClassScores {
    /// Label index.
    pub label: u16,
    /// Class name.
    pub name: String,
    /// Whether the class counts as normal.
    pub normal: bool,
    /// Items of the class.
    pub items: usize,
    /// Mean score.
    pub mean_score: f64,
    /// Fraction flagged.
    pub flagged_fraction: f64,
}

/// How well the scores separate anomalous from normal items.
#[derive(Debug, Clone, Serialize)]
pub struct Separation {
    /// Anomalous items in the split.
    pub anomalous_items: usize,
    /// Normal items in the split.
    pub normal_items: usize,
    /// Area under the ROC curve (anomalous = positive); `None` if the split lacks one kind.
    pub auroc: Option<f64>,
    /// Average precision; `None` without anomalous items.
    pub average_precision: Option<f64>,
    /// Calling the items above the threshold anomalous: true and false positives and negatives,
    /// precision, recall, F1, accuracy.
    pub at_threshold: serde_json::Value,
}

/// `anomaly.json`.
#[derive(Debug, Clone, Serialize)]
pub struct AnomalyReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Items scored.
    pub items: usize,
    /// The score: the run's reconstruction loss of each item.
    pub score: String,
    /// The percentile of the training scores used as threshold.
    pub percentile: f64,
    /// Training items whose scores set the threshold (those of the normal classes when known).
    pub threshold_items: usize,
    /// The threshold: items scoring above it are flagged.
    pub threshold: f64,
    /// Items flagged.
    pub flagged: usize,
    /// Fraction flagged.
    pub flagged_fraction: f64,
    /// Mean score of the split.
    pub mean_score: f64,
    /// The normal classes (label indices), if known.
    pub normal_classes: Option<Vec<u16>>,
    /// Where the normal classes came from: `--normal`, `data.classes`, or none.
    pub normal_from: &'static str,
    /// Ranking metrics against the labels, where normal classes are known.
    pub separation: Option<Separation>,
    /// Per-class scores, where there are labels.
    pub classes: Vec<ClassScores>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl AnomalyReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let sep = match &self.separation {
            Some(s) => format!(
                "\n{} anomalous and {} normal items: AUROC {}, average precision {}, at the threshold precision {:.4}, recall {:.4}, F1 {:.4}",
                s.anomalous_items,
                s.normal_items,
                s.auroc.map_or("n/a".into(), |v| format!("{v:.4}")),
                s.average_precision.map_or("n/a".into(), |v| format!("{v:.4}")),
                s.at_threshold["precision"].as_f64().unwrap_or(f64::NAN),
                s.at_threshold["recall"].as_f64().unwrap_or(f64::NAN),
                s.at_threshold["f1"].as_f64().unwrap_or(f64::NAN)
            ),
            None => "\nno normal classes known (pass --normal): no AUROC".into(),
        };
        format!(
            "{}: threshold {:.6} ({}th percentile of {} training scores); flagged {} ({:.2}%){sep}\nwrote {}",
            self.about.header("anomaly", self.items),
            self.threshold,
            self.percentile,
            self.threshold_items,
            self.flagged,
            100.0 * self.flagged_fraction,
            self.files.join(", ")
        )
    }
}

/// Runs the subcommand: writes `anomaly.csv` (item, label, score, flagged, anomalous),
/// `anomaly.json` and `anomaly.png` (score histograms with the threshold).
pub fn run(args: &Args) -> Result<AnomalyReport> {
    let p = args.percentile;
    check_flag((0.0..=100.0).contains(&p), "--percentile", p, "between 0 and 100")?;
    let app = App::open(&args.run)?;
    let run = app.run_dir();
    let names = app.class_names();
    let (normal, normal_from) = match (&args.normal, &app.t.config.data.classes) {
        (Some(n), _) => (Some(n.clone()), "--normal"),
        (None, Some(c)) => (Some(c.clone()), "data.classes"),
        (None, None) => (None, "none"),
    };
    if let Some(n) = &normal {
        if let Some(bad) = n.iter().find(|&&c| c as usize >= names.len()) {
            return Err(AppError::usage(format!(
                "{normal_from} {bad}: no such class; dataset `{}` has classes 0..{} ({})",
                app.t.config.data.dataset,
                names.len().saturating_sub(1),
                names.join(", ")
            )));
        }
        if n.is_empty() {
            return Err(AppError::usage("--normal: name at least one class"));
        }
    }
    let want = Want { scores: true, ..Want::default() };
    let c = app.collect(app.split, want)?;
    if normal.is_some() && c.labels.is_none() {
        return Err(AppError::usage(format!(
            "{}: {normal_from} needs labels, and the run's dataset has none",
            run.display()
        )));
    }
    let is_normal = |l: u16| normal.as_ref().is_none_or(|n| n.contains(&l));

    // The threshold: a percentile of the training scores (of the normal classes' items).
    let train = if app.split == Split::Train { c.clone() } else { app.collect(Split::Train, want)? };
    let train_scores: Vec<f32> = match &train.labels {
        Some(l) if normal.is_some() => {
            train.scores.iter().zip(l).filter(|&(_, &l)| is_normal(l)).map(|(&s, _)| s).collect()
        }
        _ => train.scores.clone(),
    };
    if train_scores.is_empty() {
        return Err(AppError::usage(format!(
            "{}: no training item of the normal classes {:?} to set the threshold",
            run.display(),
            normal.unwrap_or_default()
        )));
    }
    let threshold = percentile(&train_scores, p)?;
    let flags: Vec<bool> = c.scores.iter().map(|&s| s > threshold).collect();
    let flagged = flags.iter().filter(|&&f| f).count();

    let anomalous: Option<Vec<bool>> =
        normal.as_ref().and(c.labels.as_ref()).map(|l| l.iter().map(|&l| !is_normal(l)).collect());
    let mut csv = String::from("item,label,score,flagged,anomalous\n");
    for (i, (&s, &f)) in c.scores.iter().zip(&flags).enumerate() {
        let label = c.labels.as_ref().map(|l| l[i].to_string()).unwrap_or_default();
        let a = anomalous.as_ref().map(|a| u8::from(a[i]).to_string()).unwrap_or_default();
        csv.push_str(&format!("{i},{label},{s},{},{a}\n", u8::from(f)));
    }
    write_atomic(&app.file("anomaly.csv"), csv.as_bytes())?;

    let separation = match &anomalous {
        Some(a) => {
            let n_anom = a.iter().filter(|&&x| x).count();
            let both = n_anom > 0 && n_anom < a.len();
            Some(Separation {
                anomalous_items: n_anom,
                normal_items: a.len() - n_anom,
                auroc: if both { Some(auroc(&c.scores, a)?) } else { None },
                average_precision: if n_anom > 0 { Some(average_precision(&c.scores, a)?) } else { None },
                at_threshold: {
                    let m = threshold_metrics(&c.scores, a, threshold)?;
                    serde_json::json!({
                        "true_positives": m.true_positives, "false_positives": m.false_positives,
                        "true_negatives": m.true_negatives, "false_negatives": m.false_negatives,
                        "precision": m.precision, "recall": m.recall, "f1": m.f1, "accuracy": m.accuracy,
                    })
                },
            })
        }
        None => None,
    };
    let mut classes = Vec::new();
    if let Some(labels) = &c.labels {
        for label in 0..names.len() as u16 {
            let idx: Vec<usize> = (0..c.items).filter(|&i| labels[i] == label).collect();
            if idx.is_empty() {
                continue;
            }
            let k = idx.len() as f64;
            classes.push(ClassScores {
                label,
                name: app.class_name(label),
                normal: is_normal(label),
                items: idx.len(),
                mean_score: idx.iter().map(|&i| c.scores[i] as f64).sum::<f64>() / k,
                flagged_fraction: idx.iter().filter(|&&i| flags[i]).count() as f64 / k,
            });
        }
    }

    let line = format!("threshold ({p}th percentile of training scores)");
    let (normal_scores, anomalous_scores): (Vec<f32>, Vec<f32>) = match &anomalous {
        Some(a) => {
            let pick = |want: bool| c.scores.iter().zip(a).filter(|&(_, &x)| x == want).map(|(&s, _)| s).collect();
            (pick(false), pick(true))
        }
        None => (c.scores.clone(), Vec::new()),
    };
    let mut groups: Vec<(&str, &[f32])> = Vec::new();
    if !normal_scores.is_empty() {
        groups.push((if anomalous.is_some() { "normal" } else { "all items" }, &normal_scores));
    }
    if !anomalous_scores.is_empty() {
        groups.push(("anomalous", &anomalous_scores));
    }
    let title = format!("{}: {} per item, {} split", app.t.config.name, app.model().loss.name(), split_name(app.split));
    let png = plot::histogram(
        &Frame::new(&title, "reconstruction error", "density"),
        &Histogram { groups: &groups, bins: 60, threshold: Some((&line, threshold)), density: true },
    )?;
    write_atomic(&app.file("anomaly.png"), &png.bytes)?;

    let n = c.items.max(1) as f64;
    let report = AnomalyReport {
        about: app.about(),
        items: c.items,
        score: app.model().loss.name().to_string(),
        percentile: p,
        threshold_items: train_scores.len(),
        threshold: threshold as f64,
        flagged,
        flagged_fraction: flagged as f64 / n,
        mean_score: c.scores.iter().map(|&s| s as f64).sum::<f64>() / n,
        normal_classes: normal,
        normal_from,
        separation,
        classes,
        files: vec!["anomaly.csv".into(), "anomaly.png".into(), "anomaly.json".into()],
    };
    write_json(&app.file("anomaly.json"), &report)?;
    Ok(report)
}

//! `ae-train impute RUN`: missing values filled in by the model. A seeded fraction of the split's
//! values is hidden (or the data's own NaN cells are taken as missing), started at the training
//! mean, and replaced by the model's reconstruction of them, again and again, with the observed
//! values held fixed, until the filled values stop changing. The error on the hidden values is
//! compared with filling in the training mean.

use ae_core::SplitMix64;
use serde::Serialize;

use super::codes::{About, App, RunArgs, Want, check_flag, split_name};
use crate::error::{AppError, Result};
use crate::fsio::write_json;
use crate::training::data::Split;

/// `ae-train impute` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Fraction of the split's values to hide (each value independently, seeded), when the data
    /// has no missing (NaN) values of its own.
    #[arg(long, default_value_t = 0.2)]
    pub missing: f64,
    /// Seed of the hidden values.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Most reconstruction passes.
    #[arg(long, default_value_t = 50)]
    pub max_iter: usize,
    /// Stop when the root-mean-square change of the filled values (normalised units) in one pass
    /// is at most this.
    #[arg(long, default_value_t = 1e-4)]
    pub tol: f64,
}

/// One reconstruction pass.
#[derive(Debug, Clone, Serialize)]
pub struct Pass {
    /// Pass number, from 1.
    pub iteration: usize,
    /// Root-mean-square change of the filled values (normalised units).
    pub change: f64,
    /// RMSE of the filled values against the hidden ones (original units), when known.
    pub rmse: Option<f64>,
}

/// `impute.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ImputeReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Items of the split.
    pub items: usize,
    /// Values per item.
    pub values_per_item: usize,
    /// `hidden` (a seeded fraction hidden; errors measurable) or `nan` (the data's NaN cells).
    pub missing_from: &'static str,
    /// The fraction asked for (`hidden` only).
    pub missing_fraction: Option<f64>,
    /// Seed of the hidden values.
    pub seed: u64,
    /// Missing values.
    pub missing_values: usize,
    /// Items with at least one missing value.
    pub items_with_missing: usize,
    /// Reconstruction passes taken.
    pub iterations: usize,
    /// Whether the change fell to `tol` within `max_iter` passes.
    pub converged: bool,
    /// The tolerance.
    pub tol: f64,
    /// RMSE of the model's filled values against the hidden values, in the data's own units
    /// (the normaliser undone).
    pub rmse: Option<f64>,
    /// RMSE of filling in the training mean.
    pub rmse_mean_imputation: Option<f64>,
    /// RMSE after the first pass (a single reconstruction).
    pub rmse_first_pass: Option<f64>,
    /// The same errors in normalised units.
    pub rmse_normalised: Option<f64>,
    /// Mean imputation in normalised units.
    pub rmse_mean_imputation_normalised: Option<f64>,
    /// Every pass.
    pub passes: Vec<Pass>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl ImputeReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let err = match (self.rmse, self.rmse_mean_imputation) {
            (Some(r), Some(m)) => format!(
                "RMSE on the hidden values {r:.4} vs {m:.4} for mean imputation (data units; first pass {:.4})",
                self.rmse_first_pass.unwrap_or(f64::NAN)
            ),
            _ => "the missing values are unknown: no error measured".into(),
        };
        format!(
            "{}: {} missing values ({}) in {} items; {} passes ({}); {err}\nwrote {}",
            self.about.header("impute", self.items),
            self.missing_values,
            self.missing_from,
            self.items_with_missing,
            self.iterations,
            if self.converged { "converged" } else { "not converged" },
            self.files.join(", ")
        )
    }
}

/// Column means of the normalised training items, without holding them all in memory.
fn training_mean(app: &App) -> Result<Vec<f64>> {
    let view = app.view(Split::Train)?;
    let d = view.item_len();
    let mut sum = vec![0.0f64; d];
    let mut counts = vec![0usize; d];
    for start in (0..view.len()).step_by(1000) {
        let positions: Vec<usize> = (start..(start + 1000).min(view.len())).collect();
        let b = view.batch(&positions);
        for row in b.x.chunks_exact(d) {
            for (j, &v) in row.iter().enumerate() {
                if v.is_finite() {
                    sum[j] += v as f64;
                    counts[j] += 1;
                }
            }
        }
    }
    Ok(sum.iter().zip(&counts).map(|(s, &c)| if c > 0 { s / c as f64 } else { 0.0 }).collect())
}

/// Runs the subcommand: writes `impute.json` and `impute.png` (rows: the inputs with the
/// missing values at the training mean, the filled-in items, the complete items).
pub fn run(args: &Args) -> Result<ImputeReport> {
    let f = args.missing;
    check_flag(f > 0.0 && f < 1.0, "--missing", f, "a fraction in (0, 1)")?;
    check_flag(args.max_iter >= 1, "--max-iter", args.max_iter, "at least 1")?;
    check_flag(args.tol >= 0.0 && args.tol.is_finite(), "--tol", args.tol, "a finite number >= 0")?;
    let app = App::open(&args.run)?;
    let c = app.collect(app.split, Want { inputs: true, ..Want::default() })?;
    let (n, d) = (c.items, c.cols);
    let truth = c.inputs;
    let has_nan = truth.iter().any(|v| v.is_nan());
    let missing: Vec<bool> = if has_nan {
        truth.iter().map(|v| v.is_nan()).collect()
    } else {
        let mut g = SplitMix64::new(args.seed, 0x1_3907e);
        truth.iter().map(|_| g.next_f64() < f).collect()
    };
    let missing_values = missing.iter().filter(|&&m| m).count();
    if missing_values == 0 {
        return Err(AppError::usage(format!(
            "--missing {f}: hides no value of the {} values of the {} split; ask for a larger fraction",
            truth.len(),
            split_name(app.split)
        )));
    }
    let mean = training_mean(&app)?;
    let mut x = truth.clone();
    for (i, v) in x.iter_mut().enumerate() {
        if missing[i] {
            *v = mean[i % d] as f32;
        }
    }
    let start = x.clone();

    // Errors on the hidden values: per-feature scale of the normaliser (original units).
    let normalizer = &app.t.data.normalizer;
    let scale = |j: usize| if normalizer.scale.len() == 1 { normalizer.scale[0] } else { normalizer.scale[j] } as f64;
    let rmse = |filled: &[f32], original_units: bool| -> Option<f64> {
        if has_nan {
            return None;
        }
        let mut se = 0.0f64;
        for (i, (&a, &b)) in filled.iter().zip(&truth).enumerate() {
            if missing[i] {
                let s = if original_units { scale(i % d) } else { 1.0 };
                se += ((a as f64 - b as f64) * s).powi(2);
            }
        }
        Some((se / missing_values as f64).sqrt())
    };

    let mut passes = Vec::new();
    let mut converged = false;
    for iteration in 1..=args.max_iter {
        let y = app.reconstruct(&x, d)?;
        let mut change = 0.0f64;
        for (i, (xi, &yi)) in x.iter_mut().zip(&y).enumerate() {
            if missing[i] {
                change += (yi as f64 - *xi as f64).powi(2);
                *xi = yi;
            }
        }
        let change = (change / missing_values as f64).sqrt();
        if !change.is_finite() {
            return Err(AppError::runtime(format!(
                "{}: the filled values diverged (not finite) at pass {iteration}",
                app.run_dir().display()
            )));
        }
        passes.push(Pass { iteration, change, rmse: rmse(&x, true) });
        if change <= args.tol {
            converged = true;
            break;
        }
    }

    // Eight items with missing values, spread over the classes: as started, as filled, complete.
    let order = app.view(app.split)?.spread(n, args.seed);
    let shown: Vec<usize> =
        order.into_iter().filter(|&i| missing[i * d..(i + 1) * d].iter().any(|&m| m)).take(8).collect();
    let mut files = vec!["impute.json".to_string()];
    if !has_nan && !shown.is_empty() {
        app.picture("impute.png", &[&start, &x, &truth], &shown)?;
        files.insert(0, "impute.png".into());
    }
    let report = ImputeReport {
        about: app.about(),
        items: n,
        values_per_item: d,
        missing_from: if has_nan { "nan" } else { "hidden" },
        missing_fraction: (!has_nan).then_some(f),
        seed: args.seed,
        missing_values,
        items_with_missing: (0..n).filter(|&i| missing[i * d..(i + 1) * d].iter().any(|&m| m)).count(),
        iterations: passes.len(),
        converged,
        tol: args.tol,
        rmse: rmse(&x, true),
        rmse_mean_imputation: rmse(&start, true),
        rmse_first_pass: passes.first().and_then(|p| p.rmse),
        rmse_normalised: rmse(&x, false),
        rmse_mean_imputation_normalised: rmse(&start, false),
        passes,
        files,
    };
    write_json(&app.file("impute.json"), &report)?;
    Ok(report)
}

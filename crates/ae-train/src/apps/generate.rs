//! `ae-train generate RUN`: for generative models (a VAE or an AAE), items decoded from samples
//! of the prior, each captioned with the class its code falls among; optionally a row
//! interpolating between the codes of two items, and code arithmetic on three items.

use ae_eval::Matrix;
use ae_eval::neighbors::knn_classify;
use serde::Serialize;

use super::codes::{About, App, Collected, RunArgs, Want, check_flag, read, split_name};
use crate::error::Result;
use crate::fsio::write_json;
use crate::report::picture::{self, Tile};
use crate::training::data::Split;

/// Training codes voting on the class of a generated item.
const VOTERS: usize = 5;

/// `ae-train generate` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Items decoded from the prior.
    #[arg(long, default_value_t = 32)]
    pub samples: usize,
    /// Items per row of generate.png.
    #[arg(long, default_value_t = 8)]
    pub columns: usize,
    /// Seed of the prior samples.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Interpolate between the codes of items I and J of the split (positions from 0).
    #[arg(long, value_delimiter = ',', value_name = "I,J")]
    pub interpolate: Option<Vec<usize>>,
    /// Points of the interpolation, both ends included.
    #[arg(long, default_value_t = 8)]
    pub steps: usize,
    /// Decode code(A) - code(B) + code(C) for items A, B, C of the split.
    #[arg(long, value_delimiter = ',', value_name = "A,B,C")]
    pub arithmetic: Option<Vec<usize>>,
}

/// An item of the split used as an end point or operand.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Position in the split.
    pub item: usize,
    /// Its class name, if labelled.
    pub class: Option<String>,
}

/// The interpolation row.
#[derive(Debug, Clone, Serialize)]
pub struct Interpolation {
    /// The two end items.
    pub items: [Item; 2],
    /// Interpolation weights t (code = (1 - t) code(I) + t code(J)).
    pub t: Vec<f64>,
    /// Class the code of each decoded step falls among (see `GenerateReport::classes_by`).
    pub classes: Option<Vec<String>>,
}

/// The arithmetic row.
#[derive(Debug, Clone, Serialize)]
pub struct Arithmetic {
    /// Items A, B and C.
    pub items: [Item; 3],
    /// Class of decode(code(A) - code(B) + code(C)).
    pub class: Option<String>,
}

/// `generate.json`.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// The prior sampled.
    pub prior: String,
    /// Seed of the samples.
    pub seed: u64,
    /// Items decoded from the prior.
    pub samples: usize,
    /// How classes are assigned: the majority of the 5 training codes nearest to the code of
    /// the decoded item (encode(decode(z))).
    pub classes_by: String,
    /// Class of each sample, in the order of generate.png (row by row).
    pub sample_classes: Option<Vec<String>>,
    /// Samples per class (distinct classes generated: a rough measure of diversity).
    pub class_counts: Option<Vec<(String, usize)>>,
    /// The interpolation, if asked for.
    pub interpolation: Option<Interpolation>,
    /// The arithmetic, if asked for.
    pub arithmetic: Option<Arithmetic>,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl GenerateReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "generate {} ({} backend): {} samples of the {} prior (seed {})",
            self.about.run.display(),
            self.about.backend,
            self.samples,
            self.prior,
            self.seed
        );
        if let Some(counts) = &self.class_counts {
            let c: Vec<String> = counts.iter().map(|(n, k)| format!("{n}: {k}")).collect();
            s.push_str(&format!("; classes (5-NN of their codes) {}", c.join(", ")));
        }
        if let Some(i) = &self.interpolation {
            s.push_str(&format!(
                "\ninterpolated items {} and {} of the {} split in {} steps",
                i.items[0].item,
                i.items[1].item,
                split_name(self.about.split),
                i.t.len()
            ));
        }
        if let Some(a) = &self.arithmetic {
            s.push_str(&format!(
                "\narithmetic: items {} - {} + {} of the {} split gives class {}",
                a.items[0].item,
                a.items[1].item,
                a.items[2].item,
                split_name(self.about.split),
                a.class.as_deref().unwrap_or("?")
            ));
        }
        format!("{s}\nwrote {}", self.files.join(", "))
    }
}

/// The classes of decoded items: the majority label of the nearest training codes to their own
/// codes. `None` without labels.
struct Classifier<'a> {
    app: &'a App,
    train: Option<Collected>,
}

impl Classifier<'_> {
    fn classes(&self, decoded: &[f32]) -> Result<Option<Vec<String>>> {
        let Some(train) = &self.train else { return Ok(None) };
        let Some(labels) = &train.labels else { return Ok(None) };
        let codes = self.app.apply(decoded, train.cols, |m, x| m.encode(x))?;
        let predicted = knn_classify(
            train.code_matrix()?,
            labels,
            Matrix::with_cols(&codes, train.width)?,
            VOTERS.min(train.items),
        )?;
        Ok(Some(predicted.into_iter().map(|l| self.app.class_name(l)).collect()))
    }
}

/// Runs the subcommand: writes `generate.png`, `generate_interpolation.png` and
/// `generate_arithmetic.png` (when asked for) and `generate.json`.
pub fn run(args: &Args) -> Result<GenerateReport> {
    check_flag((1..=4096).contains(&args.samples), "--samples", args.samples, "between 1 and 4096")?;
    check_flag(args.columns >= 1, "--columns", args.columns, "at least 1")?;
    check_flag(args.steps >= 2, "--steps", args.steps, "at least 2")?;
    if let Some(v) = &args.interpolate {
        check_flag(v.len() == 2, "--interpolate", format!("{v:?}"), "two items I,J")?;
    }
    if let Some(v) = &args.arithmetic {
        check_flag(v.len() == 3, "--arithmetic", format!("{v:?}"), "three items A,B,C")?;
    }
    let app = App::open(&args.run)?;
    if !app.model().is_generative() {
        return Err(app.wrong_model(
            "generate needs a generative model, a VAE or an AAE (model.bottleneck kind `gaussian` or `adversarial`)",
        ));
    }
    let split_len = app.view(app.split)?.len();
    for (flag, items) in [("--interpolate", &args.interpolate), ("--arithmetic", &args.arithmetic)] {
        if let Some(bad) = items.iter().flatten().find(|&&i| i >= split_len) {
            check_flag(
                false,
                flag,
                bad,
                &format!("an item of the {} split, below {split_len}", split_name(app.split)),
            )?;
        }
    }
    let model = app.model();
    let prior = match model.bottleneck.adversary() {
        Some(a) => format!("{} (scale {})", a.prior.name(), a.scale),
        None => "N(0, I)".into(),
    };
    let labelled = app.view(Split::Train)?.data.labels.is_some();
    let classifier = Classifier {
        app: &app,
        train: if labelled { Some(app.collect(Split::Train, Want { codes: true, ..Want::default() })?) } else { None },
    };
    let shape = &app.t.data.shape;
    let normalizer = &app.t.data.normalizer;
    let d = app.t.data.item_len();
    let caption =
        |classes: &Option<Vec<String>>, i: usize, fallback: String| classes.as_ref().map_or(fallback, |c| c[i].clone());
    let mut files = vec!["generate.png".to_string()];

    app.device().seed(args.seed);
    let samples = read(model.sample_prior(args.samples, app.device()))?;
    let sample_classes = classifier.classes(&samples)?;
    let tiles: Vec<Tile> = samples
        .chunks_exact(d)
        .enumerate()
        .map(|(i, v)| Tile { values: v.to_vec(), caption: caption(&sample_classes, i, i.to_string()) })
        .collect();
    let rows: Vec<Vec<Tile>> = tiles.chunks(args.columns).map(<[Tile]>::to_vec).collect();
    picture::save_tiles(&app.file("generate.png"), &rows, shape, normalizer)?;
    let class_counts = sample_classes.as_ref().map(|c| {
        let mut counts: Vec<(String, usize)> = Vec::new();
        for name in app.class_names() {
            let k = c.iter().filter(|s| **s == name).count();
            if k > 0 {
                counts.push((name, k));
            }
        }
        counts
    });

    let operands = |items: &[usize]| -> Result<(Collected, Vec<Item>)> {
        let c = app.collect_items(app.split, items.to_vec(), Want { inputs: true, codes: true, ..Want::default() })?;
        let described = items
            .iter()
            .enumerate()
            .map(|(k, &item)| Item { item, class: c.labels.as_ref().map(|l| app.class_name(l[k])) })
            .collect();
        Ok((c, described))
    };
    let input_tile = |c: &Collected, k: usize, fallback: &str| Tile {
        values: c.inputs[k * d..(k + 1) * d].to_vec(),
        caption: c.labels.as_ref().map_or(fallback.to_string(), |l| app.class_name(l[k])),
    };

    let interpolation = match &args.interpolate {
        None => None,
        Some(ij) => {
            let (c, items) = operands(ij)?;
            let (w, z) = (c.width, &c.codes);
            let t: Vec<f64> = (0..args.steps).map(|s| s as f64 / (args.steps - 1) as f64).collect();
            let codes: Vec<f32> = t
                .iter()
                .flat_map(|&t| (0..w).map(move |j| ((1.0 - t) * z[j] as f64 + t * z[w + j] as f64) as f32))
                .collect();
            let decoded = app.decode(&codes)?;
            let classes = classifier.classes(&decoded)?;
            let mut row = vec![input_tile(&c, 0, "I")];
            row.extend(
                decoded.chunks_exact(d).zip(&t).map(|(v, t)| Tile { values: v.to_vec(), caption: format!("{t:.2}") }),
            );
            row.push(input_tile(&c, 1, "J"));
            picture::save_tiles(&app.file("generate_interpolation.png"), &[row], shape, normalizer)?;
            files.push("generate_interpolation.png".into());
            Some(Interpolation { items: [items[0].clone(), items[1].clone()], t, classes })
        }
    };

    let arithmetic = match &args.arithmetic {
        None => None,
        Some(abc) => {
            let (c, items) = operands(abc)?;
            let w = c.width;
            let z: Vec<f32> = (0..w).map(|j| c.codes[j] - c.codes[w + j] + c.codes[2 * w + j]).collect();
            let mut codes = c.codes.clone();
            codes.extend(&z);
            let decoded = app.decode(&codes)?;
            let class = classifier.classes(&decoded[3 * d..])?.map(|c| c[0].clone());
            let mut row: Vec<Tile> = ["A", "B", "C"].iter().enumerate().map(|(k, n)| input_tile(&c, k, n)).collect();
            for (k, name) in ["DEC A", "DEC B", "DEC C", "A-B+C"].iter().enumerate() {
                row.push(Tile { values: decoded[k * d..(k + 1) * d].to_vec(), caption: name.to_string() });
            }
            picture::save_tiles(&app.file("generate_arithmetic.png"), &[row], shape, normalizer)?;
            files.push("generate_arithmetic.png".into());
            Some(Arithmetic { items: [items[0].clone(), items[1].clone(), items[2].clone()], class })
        }
    };
    files.push("generate.json".into());
    let report = GenerateReport {
        about: app.about(),
        prior,
        seed: args.seed,
        samples: args.samples,
        classes_by: format!(
            "majority of the {VOTERS} training codes nearest to the code of each decoded item (encode(decode(z)))"
        ),
        sample_classes,
        class_counts,
        interpolation,
        arithmetic,
        files,
    };
    write_json(&app.file("generate.json"), &report)?;
    Ok(report)
}

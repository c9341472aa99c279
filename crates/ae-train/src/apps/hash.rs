//! `ae-train hash RUN`: semantic hashing. The binary codes of a split's items (queries) retrieve
//! training items (the database) by Hamming distance; retrieval is measured against the labels
//! (an item is relevant when it shares the query's class) and against random codes of the same
//! length.

use ae_eval::neighbors::{BinaryCodes, HammingRetrieval};
use ae_eval::plot::{self, Frame, LineChart, Series};
use ae_models::bottleneck::Bottleneck;
use serde::Serialize;

use super::codes::{About, App, RunArgs, Want};
use crate::error::Result;
use crate::fsio::{write_atomic, write_json};
use crate::training::data::Split;

/// `ae-train hash` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Hamming radius of the hash lookup.
    #[arg(long, default_value_t = 2)]
    pub radius: u32,
    /// Seed of the random codes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// Depths at which precision is drawn in hash.png.
const CURVE: [usize; 9] = [1, 2, 5, 10, 20, 50, 100, 200, 500];

/// Retrieval measures of one set of codes.
#[derive(Debug, Clone, Serialize)]
pub struct Retrieval {
    /// Mean precision of the 10 nearest database items (ties shared out).
    pub precision_at_10: f64,
    /// Mean precision of the 100 nearest.
    pub precision_at_100: f64,
    /// Mean precision within the radius, a query retrieving nothing counting 0.
    pub precision_within_radius: f64,
    /// The same over the queries that retrieve something.
    pub precision_within_radius_retrieving: Option<f64>,
    /// Mean recall within the radius.
    pub recall_within_radius: f64,
    /// Fraction of queries retrieving nothing within the radius.
    pub empty_within_radius: f64,
    /// Mean database items within the radius.
    pub retrieved_within_radius: f64,
    /// Mean average precision over the whole ranking.
    pub mean_average_precision: f64,
    /// Precision at each depth of the retrieval curve (`CURVE`, up to the database size).
    pub precision_curve: Vec<(usize, f64)>,
}

impl Retrieval {
    fn of(r: &HammingRetrieval, database: usize, radius: u32) -> Result<Self> {
        let within = r.radius_precision(radius);
        let at = |k: usize| r.precision_at_k(k.min(database));
        Ok(Retrieval {
            precision_at_10: at(10)?,
            precision_at_100: at(100)?,
            precision_within_radius: within.mean_precision,
            precision_within_radius_retrieving: within.mean_precision_retrieving,
            recall_within_radius: within.mean_recall,
            empty_within_radius: within.empty_fraction,
            retrieved_within_radius: within.mean_retrieved,
            mean_average_precision: r.mean_average_precision(),
            precision_curve: CURVE
                .iter()
                .filter(|&&k| k <= database)
                .map(|&k| Ok((k, at(k)?)))
                .collect::<Result<_>>()?,
        })
    }
}

/// `hash.json`.
#[derive(Debug, Clone, Serialize)]
pub struct HashReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Bits per code.
    pub bits: usize,
    /// Queries (the split's items).
    pub queries: usize,
    /// Database items (the training split; each query left out of its own ranking when the
    /// split is the training split).
    pub database: usize,
    /// The Hamming radius.
    pub radius: u32,
    /// Fraction of ones per bit over the queries (0.5 is a balanced bit).
    pub bit_balance: Vec<f64>,
    /// Distinct codes among the database items.
    pub distinct_codes: usize,
    /// Retrieval with the model's codes.
    pub model: Retrieval,
    /// Retrieval with random codes of the same length (seeded).
    pub random: Retrieval,
    /// Seed of the random codes.
    pub seed: u64,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl HashReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let (m, r) = (&self.model, &self.random);
        format!(
            "{} against {} training items, {} bits\n\
             precision@10 {:.4} (random {:.4}), precision@100 {:.4} (random {:.4}), precision within radius {} {:.4} (random {:.4}), MAP {:.4} (random {:.4})\nwrote {}",
            self.about.header("hash", self.queries),
            self.database,
            self.bits,
            m.precision_at_10,
            r.precision_at_10,
            m.precision_at_100,
            r.precision_at_100,
            self.radius,
            m.precision_within_radius,
            r.precision_within_radius,
            m.mean_average_precision,
            r.mean_average_precision,
            self.files.join(", ")
        )
    }
}

/// Runs the subcommand: writes `hash.json` and `hash.png` (precision at depth, model and random
/// codes).
pub fn run(args: &Args) -> Result<HashReport> {
    let app = App::open(&args.run)?;
    if !matches!(app.model().bottleneck, Bottleneck::Binary(_)) {
        return Err(app.wrong_model("hash needs binary codes (model.bottleneck kind `binary`)"));
    }
    let want = Want { bits: true, ..Want::default() };
    let queries = app.collect(app.split, want)?;
    let run = app.run_dir();
    let query_labels = queries.labels(run, "hash (precision against the classes)")?.to_vec();
    let bits = queries.width;
    let q = BinaryCodes::from_threshold(queries.code_matrix()?, 0.5);
    let rq = BinaryCodes::random(queries.items, bits, args.seed)?;
    let (model, random, database, distinct_codes) = if app.split == Split::Train {
        let m = HammingRetrieval::within(&q, &query_labels)?;
        let r = HammingRetrieval::within(&rq, &query_labels)?;
        (m, r, queries.items - 1, distinct(&queries.codes, bits))
    } else {
        let db = app.collect(Split::Train, want)?;
        let db_labels = db.labels(run, "hash")?;
        let d = BinaryCodes::from_threshold(db.code_matrix()?, 0.5);
        let rd = BinaryCodes::random(db.items, bits, args.seed.wrapping_add(1))?;
        let m = HammingRetrieval::new(&q, &query_labels, &d, db_labels)?;
        let r = HammingRetrieval::new(&rq, &query_labels, &rd, db_labels)?;
        (m, r, db.items, distinct(&db.codes, bits))
    };
    let model = Retrieval::of(&model, database, args.radius)?;
    let random = Retrieval::of(&random, database, args.radius)?;
    let points = |r: &Retrieval| r.precision_curve.iter().map(|&(k, p)| (k as f64, p)).collect::<Vec<_>>();
    let (pm, pr) = (points(&model), points(&random));
    let series = [Series { name: "model codes", points: &pm }, Series { name: "random codes", points: &pr }];
    let title = format!("{}: Hamming ranking of {} training items, {bits} bits", app.t.config.name, database);
    let png = plot::line_chart(
        &Frame::new(&title, "retrieved items k", "precision at k"),
        &LineChart { series: &series, log_y: false },
    )?;
    write_atomic(&app.file("hash.png"), &png.bytes)?;
    let mut balance = vec![0.0f64; bits];
    for row in queries.codes.chunks_exact(bits) {
        balance.iter_mut().zip(row).for_each(|(b, &v)| *b += v as f64);
    }
    balance.iter_mut().for_each(|b| *b /= queries.items as f64);
    let report = HashReport {
        about: app.about(),
        bits,
        queries: queries.items,
        database,
        radius: args.radius,
        bit_balance: balance,
        distinct_codes,
        model,
        random,
        seed: args.seed,
        files: vec!["hash.png".into(), "hash.json".into()],
    };
    write_json(&app.file("hash.json"), &report)?;
    Ok(report)
}

/// Number of distinct rows of 0/1 values.
fn distinct(bits: &[f32], width: usize) -> usize {
    let mut rows: Vec<Vec<bool>> = bits.chunks_exact(width).map(|r| r.iter().map(|&v| v > 0.5).collect()).collect();
    rows.sort_unstable();
    rows.dedup();
    rows.len()
}

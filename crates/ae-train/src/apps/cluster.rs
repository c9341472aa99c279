//! `ae-train cluster RUN`: k-means on the codes of a split, scored against the labels (NMI, ARI),
//! and k-means on the inputs themselves for comparison.

use ae_eval::Matrix;
use ae_eval::clustering::{KMeansOptions, ari, kmeans, nmi};
use serde::Serialize;

use super::codes::{About, App, Projection, RunArgs, Want, check_flag, scatter_codes};
use crate::error::{AppError, Result};
use crate::fsio::write_json;

/// Most items clustered by their inputs (the first ones of the split).
pub const RAW_CAP: usize = 10_000;

/// `ae-train cluster` flags.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The run folder, backend and split.
    #[command(flatten)]
    pub run: RunArgs,
    /// Clusters (default: the number of classes of the dataset).
    #[arg(long)]
    pub k: Option<usize>,
    /// Seed of the k-means++ starts.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Independent k-means++ starts (the lowest inertia is kept).
    #[arg(long, default_value_t = 4)]
    pub restarts: usize,
}

/// One clustering and its agreement with the labels.
#[derive(Debug, Clone, Serialize)]
pub struct Clustering {
    /// Items clustered.
    pub items: usize,
    /// Values per item clustered.
    pub dimensions: usize,
    /// Normalised mutual information with the labels (arithmetic normalisation).
    pub nmi: Option<f64>,
    /// Adjusted Rand index with the labels.
    pub ari: Option<f64>,
    /// Sum of squared distances to the centroids.
    pub inertia: f64,
    /// Lloyd iterations of the kept start.
    pub iterations: usize,
    /// Whether it converged.
    pub converged: bool,
    /// Items per cluster.
    pub sizes: Vec<usize>,
}

/// `cluster.json`.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// The run, split and backend.
    #[serde(flatten)]
    pub about: About,
    /// Clusters.
    pub k: usize,
    /// Seed and starts of k-means.
    pub seed: u64,
    /// Starts.
    pub restarts: usize,
    /// Clustering the codes (every item of the split).
    pub codes: Clustering,
    /// Clustering the normalised inputs.
    pub inputs: Clustering,
    /// Why the input clustering has fewer items, when it does.
    pub inputs_note: Option<String>,
    /// How cluster.png shows the codes.
    pub projection: Projection,
    /// Files written into the run folder.
    pub files: Vec<String>,
}

impl ClusterReport {
    /// The lines printed after the run.
    pub fn summary(&self) -> String {
        let f = |v: Option<f64>| v.map_or("n/a".into(), |v| format!("{v:.4}"));
        format!(
            "{}: k-means with k = {}\n\
             codes ({} units): NMI {}, ARI {}; inputs ({} values, {} items): NMI {}, ARI {}{}\nwrote {}",
            self.about.header("cluster", self.codes.items),
            self.k,
            self.codes.dimensions,
            f(self.codes.nmi),
            f(self.codes.ari),
            self.inputs.dimensions,
            self.inputs.items,
            f(self.inputs.nmi),
            f(self.inputs.ari),
            self.inputs_note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default(),
            self.files.join(", ")
        )
    }
}

fn cluster(x: Matrix, labels: Option<&[u16]>, opts: &KMeansOptions) -> Result<(Clustering, Vec<usize>)> {
    let km = kmeans(x, opts)?;
    let mut sizes = vec![0usize; opts.k];
    km.assignments.iter().for_each(|&a| sizes[a] += 1);
    let c = Clustering {
        items: x.rows(),
        dimensions: x.cols(),
        nmi: labels.map(|l| nmi(l, &km.assignments)).transpose()?,
        ari: labels.map(|l| ari(l, &km.assignments)).transpose()?,
        inertia: km.inertia,
        iterations: km.iterations,
        converged: km.converged,
        sizes,
    };
    Ok((c, km.assignments))
}

/// Runs the subcommand: writes `cluster.json` and `cluster.png` (the codes coloured by cluster).
pub fn run(args: &Args) -> Result<ClusterReport> {
    check_flag(args.restarts >= 1, "--restarts", args.restarts, "at least 1")?;
    let app = App::open(&args.run)?;
    let c = app.collect(app.split, Want { inputs: true, codes: true, ..Want::default() })?;
    let k = match args.k {
        Some(k) => k,
        None if c.labels.is_some() => app.class_names().len(),
        None => {
            return Err(AppError::usage(format!(
                "{}: the dataset has no labels to count classes by; pass --k",
                app.run_dir().display()
            )));
        }
    };
    check_flag(k >= 1 && k <= c.items, "--k", k, &format!("between 1 and the {} items", c.items))?;
    let opts = KMeansOptions { seed: args.seed, restarts: args.restarts, ..KMeansOptions::new(k) };
    let labels = c.labels.as_deref();
    let (codes, assignments) = cluster(c.code_matrix()?, labels, &opts)?;
    let raw_items = c.items.min(RAW_CAP);
    let raw_labels = labels.map(|l| &l[..raw_items]);
    let (inputs, _) = cluster(Matrix::new(&c.inputs[..raw_items * c.cols], raw_items, c.cols)?, raw_labels, &opts)?;
    let inputs_note = (raw_items < c.items)
        .then(|| format!("inputs clustered for the first {RAW_CAP} items only, to bound the time k-means takes"));

    let names: Vec<String> = (0..k).map(|i| format!("cluster {i}")).collect();
    let groups: Vec<u16> = assignments.iter().map(|&a| a as u16).collect();
    let title = format!("{}: k-means on the codes, k = {k}", app.t.config.name);
    let projection = scatter_codes(&app.file("cluster.png"), &title, &c.codes, c.width, Some(&groups), &names, None)?;
    let report = ClusterReport {
        about: app.about(),
        k,
        seed: args.seed,
        restarts: args.restarts,
        codes,
        inputs,
        inputs_note,
        projection,
        files: vec!["cluster.png".into(), "cluster.json".into()],
    };
    write_json(&app.file("cluster.json"), &report)?;
    Ok(report)
}

//! Applications of a trained run: subcommands that take a run folder, apply its model to a split
//! and write a JSON report with its files (CSV, NPY, PNG) into the run folder.
//!
//! | subcommand | what it measures |
//! |---|---|
//! | `reconstruct` | every item's reconstruction error, the best and worst reconstructed |
//! | `denoise` | PSNR and SSIM ([`quality`]) of noisy and denoised images against the clean ones |
//! | `encode` | the codes of a split (CSV, NPY, scatter), 5-NN accuracy of labels from codes |
//! | `anomaly` | reconstruction error as an anomaly score, a threshold from training scores, AUROC |
//! | `generate` | samples from the prior, interpolations, code arithmetic (VAE, AAE) |
//! | `impute` | missing values filled by iterating the model to a fixed point, against mean imputation |
//! | `hash` | Hamming retrieval with binary codes, against random codes |
//! | `cluster` | k-means on codes (NMI, ARI), against k-means on the inputs |
//! | `assist` | a softmax classifier from few labels on codes, against one on the inputs |
//! | `compress` | codes quantised to b bits, bits per pixel and PSNR of the decoded items |
//!
//! Every subcommand runs on every backend, writes its files atomically, and fails with a usage
//! error (exit 2) when the run's model or data cannot answer it (e.g. `generate` on a model
//! without a prior, `hash` on a code that is not binary).

pub mod anomaly;
pub mod assist;
pub mod cluster;
pub mod codes;
pub mod compress;
pub mod denoise;
pub mod encode;
pub mod generate;
pub mod hash;
pub mod impute;
pub mod quality;
pub mod reconstruct;

use clap::Subcommand;

use crate::error::Result;

/// The application subcommands (flattened into `ae-train`'s own).
#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Codes of a split: codes_<split>.csv (label and code columns), codes_<split>.npy, a scatter
    /// of the codes coloured by class (codes_<split>.png) and the 5-NN accuracy of labels from
    /// codes (encode.json).
    Encode(encode::Args),
    /// Reconstruction error as an anomaly score (anomaly.csv); items above a percentile of the
    /// training scores are flagged; AUROC and average precision where labels say which classes
    /// are normal (anomaly.json, anomaly.png).
    Anomaly(anomaly::Args),
    /// Samples decoded from the prior of a VAE or AAE (generate.png), interpolations between two
    /// items and code arithmetic (generate.json).
    Generate(generate::Args),
    /// Hide a fraction of a split's values, fill them by iterating the model to a fixed point,
    /// and compare with mean imputation (impute.json, impute.png).
    Impute(impute::Args),
    /// Semantic hashing: Hamming retrieval of training items with the binary codes of a split,
    /// against random codes of the same length (hash.json, hash.png).
    Hash(hash::Args),
    /// k-means on the codes of a split against the labels (NMI, ARI), and on the inputs for
    /// comparison (cluster.json, cluster.png).
    Cluster(cluster::Args),
    /// A softmax classifier trained on the codes of a few labelled training items, against the
    /// same classifier on the inputs (assist.json, assist.png).
    Assist(assist::Args),
    /// Codes quantised to a few bits per unit and decoded: bits per pixel and PSNR
    /// (compress.json, compress.png).
    Compress(compress::Args),
}

/// Runs an application subcommand and prints its summary.
pub fn run(command: AppCommand) -> Result<()> {
    let summary = match command {
        AppCommand::Encode(a) => encode::run(&a)?.summary(),
        AppCommand::Anomaly(a) => anomaly::run(&a)?.summary(),
        AppCommand::Generate(a) => generate::run(&a)?.summary(),
        AppCommand::Impute(a) => impute::run(&a)?.summary(),
        AppCommand::Hash(a) => hash::run(&a)?.summary(),
        AppCommand::Cluster(a) => cluster::run(&a)?.summary(),
        AppCommand::Assist(a) => assist::run(&a)?.summary(),
        AppCommand::Compress(a) => compress::run(&a)?.summary(),
    };
    crate::report::progress::print_line(&summary);
    Ok(())
}

//! The `ae-train` command as a library, laid out by what each part does:
//!
//! - [`cli`]: the command line, dispatching to
//! - [`commands`]: the subcommands that make or look at runs (train, init, show, compare, sweep,
//!   export, bench, data fetch and pack);
//! - [`apps`]: the subcommands that apply a trained run (reconstruct, denoise, encode, anomaly,
//!   generate, impute, cluster, hash, compress, assist);
//! - [`training`]: what a training run is made of: its data, the fit loop over the library's
//!   epoch loop, layer-wise pretraining, checkpoints, early stopping, metrics, data-parallel
//!   replicas;
//! - [`run_folder`]: the run folder: every file name in it, creating, resuming and loading a
//!   trained run;
//! - [`report`]: what a person sees: progress, pictures, the loss curve, TensorBoard and
//!   `metrics.jsonl`;
//! - [`config`], [`backend`], [`error`], [`fsio`] (atomic writes), [`alloc`]: the shared ground.
//!
//! The binary in `main.rs` only parses arguments and prints errors.

#![warn(missing_docs)]
// clap prints the doc comments of the command-line types verbatim as `--help` text, where
// placeholders such as `codes_<split>.csv` are meant literally, not as HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod alloc;
pub mod apps;
pub mod backend;
pub mod cli;
pub mod commands;
pub mod config;
pub mod error;
pub mod fsio;
pub mod report;
pub mod run_folder;
pub mod training;

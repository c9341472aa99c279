//! The `ae-train` command as a library: config parsing, backend choice, the training loop, run
//! folders and checkpoints. The binary in `main.rs` only parses arguments and prints errors.

#![warn(missing_docs)]
// clap prints the doc comments of the command-line types verbatim as `--help` text, where
// placeholders such as `codes_<split>.csv` are meant literally, not as HTML.
#![allow(rustdoc::invalid_html_tags)]

pub mod alloc;
pub mod apps;
pub mod backend;
pub mod bench;
pub mod checkpoint;
pub mod cli;
pub mod compare;
pub mod config;
pub mod data;
pub mod denoise;
pub mod distributed;
pub mod early_stopping;
pub mod error;
pub mod export;
pub mod fetch;
pub mod fsio;
pub mod init;
pub mod loss_curve;
pub mod metrics;
pub mod pack;
pub mod picture;
pub mod pretrain;
pub mod progress;
pub mod quality;
pub mod reconstruct;
pub mod run;
pub mod run_dir;
pub mod run_log;
pub mod show;
pub mod sweep;
pub mod tensorboard;
pub mod trained;
pub mod trainer;

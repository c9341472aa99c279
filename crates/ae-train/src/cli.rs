//! Command-line interface: `ae-train --config FILE [--backend B] [--set KEY=VALUE]... [--out DIR]
//! [--resume] [--force]`, plus subcommands.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::report::progress::print_line;

use crate::backend::{self, BackendChoice};
use crate::commands::train::{self, TrainRequest};
use crate::error::Result;
use ae_models::precision::Precision;

/// Train and apply autoencoders from TOML experiment configs.
#[derive(Debug, Parser)]
#[command(name = "ae-train", version, about, args_conflicts_with_subcommands = true, arg_required_else_help = true)]
pub struct Cli {
    /// Experiment config to train (a path, or a name in configs/experiments/ or configs/presets/:
    /// `--config mnist_2d.toml`).
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Backend to run on (default: the config's train.backend, else auto = GPU if present).
    #[arg(long, value_enum)]
    pub backend: Option<BackendChoice>,
    /// Override a config value by its dotted key, e.g. `--set train.epochs=2` (repeatable).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Run folder (default: runs/<experiment name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in the run folder from its last checkpoint.
    #[arg(long)]
    pub resume: bool,
    /// Replace a previous run in the run folder.
    #[arg(long, conflicts_with = "resume")]
    pub force: bool,
    /// Print only the final summary.
    #[arg(long, short)]
    pub quiet: bool,
    /// A subcommand instead of training.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// List the backends compiled in, the CUDA devices and wgpu adapters found, what each GPU
    /// backend is missing here, and what `auto` picks.
    Backends,
    /// Datasets: what is there.
    Data {
        /// What to do.
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Per-item reconstruction error of a split (reconstruct.csv, reconstruct.json) and the best
    /// and worst reconstructions (reconstruct.png).
    Reconstruct {
        /// The run folder of a trained model.
        run: PathBuf,
        /// Backend to run on.
        #[arg(long, value_enum)]
        backend: Option<BackendChoice>,
        /// The split to measure.
        #[arg(long, value_enum, default_value = "test")]
        split: crate::training::data::Split,
    },
    /// Corrupt a split with the run's noise, denoise it, report PSNR and SSIM before and after
    /// (denoise.json, denoise.png: noisy / denoised / clean rows).
    Denoise {
        /// The run folder of a trained model.
        run: PathBuf,
        /// Backend to run on.
        #[arg(long, value_enum)]
        backend: Option<BackendChoice>,
        /// The split to measure.
        #[arg(long, value_enum, default_value = "test")]
        split: crate::training::data::Split,
        /// Gaussian noise of this sigma instead of the run's corruption.
        #[arg(long)]
        sigma: Option<f64>,
        /// Seed of the noise.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Training throughput and peak memory of the reference cases on every backend built in,
    /// beside PyTorch (`--torch PYTHON`) running the same cases.
    Bench {
        /// Backend to measure (repeatable; default: every one built in that can run here).
        #[arg(long, value_enum)]
        backend: Vec<BackendChoice>,
        /// Case to run (repeatable; default: dense, deep, vae, conv, conv_full).
        #[arg(long)]
        case: Vec<String>,
        /// Timed seconds per case.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        /// Measure every case this many times, each side of a ratio right after the other, and
        /// report the median of the rounds' ratios (and each one).
        #[arg(long, default_value_t = 1)]
        rounds: usize,
        /// Batch size for every case instead of each case's own (128; conv 64).
        #[arg(long)]
        batch: Option<usize>,
        /// Python with torch (default: $AE_TORCH_PYTHON): also runs scripts/torch_bench.py and
        /// prints ratios.
        #[arg(long)]
        torch: Option<PathBuf>,
        /// Threads PyTorch may use.
        #[arg(long, default_value_t = 2)]
        torch_threads: usize,
        /// Device PyTorch runs on: `cpu`, or `cuda` to compare a GPU backend with PyTorch on the GPU.
        #[arg(long, default_value = "cpu")]
        torch_device: String,
        /// Also time data loading against compute per step on real MNIST.
        #[arg(long)]
        pipeline: bool,
        /// Write every measurement as JSON lines to this file.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Format of the layers on both sides: `f32`, or mixed precision `f16` / `bf16` (ours:
        /// `train.precision`; PyTorch: autocast, with a GradScaler for f16).
        #[arg(long, default_value = "f32", value_parser = ["f32", "f16", "bf16"])]
        precision: String,
    },
    /// Sum up a run folder: experiment, model, data, training, final losses, and every picture and
    /// report in it with what it shows.
    Show {
        /// The run folder.
        run: PathBuf,
    },
    /// Compare run folders: the config keys whose values differ and each run's final losses (a
    /// markdown table, printed and written to --out), and their loss curves in one picture (the
    /// same name with .png).
    Compare {
        /// Two or more run folders.
        #[arg(required = true, num_args = 2..)]
        runs: Vec<PathBuf>,
        /// The table's file (default compare.md; the picture goes beside it).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Train a config over a grid of values (every combination) or random draws from ranges,
    /// each run its own folder in the sweep folder, several at a time: sweep.csv and sweep.md
    /// (one row per run: values, how it ended, losses, time; the best run named) and sweep.png
    /// (every run's validation curve). `--resume` continues an interrupted sweep.
    Sweep {
        /// The config every run starts from (not needed with --resume).
        #[arg(long, short, required_unless_present = "resume")]
        config: Option<PathBuf>,
        /// `KEY=V1,V2,...`: the values of one config key (repeatable; commas inside [] split nothing).
        #[arg(long, value_name = "KEY=V1,V2")]
        grid: Vec<String>,
        /// `KEY=LO:HI[:log]`: draw this key uniformly (log-uniformly) in [LO, HI]; integers when
        /// both ends are (repeatable; needs --random).
        #[arg(long, value_name = "KEY=LO:HI[:log]")]
        range: Vec<String>,
        /// Run N random draws (from the ranges, and from the grid's values) instead of the grid.
        #[arg(long, value_name = "N")]
        random: Option<usize>,
        /// Seed of the random draws.
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Override a config value in every run (repeatable).
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Backend of every run.
        #[arg(long, value_enum)]
        backend: Option<BackendChoice>,
        /// Runs at a time (default: one per core on a CPU backend, each on cores/N threads; one on a GPU).
        #[arg(long)]
        parallel: Option<usize>,
        /// The sweep folder (default: runs/<experiment name>-sweep).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Continue the sweep in --out: finished runs are kept, interrupted ones resume from their checkpoints.
        #[arg(long)]
        resume: bool,
        /// Print only the table.
        #[arg(long, short)]
        quiet: bool,
    },
    /// Write a commented starter config that trains as written: a variant's preset (configs/presets/) on
    /// a dataset. Never overwrites a file.
    Init {
        /// basic, deep, linear, convolutional, denoising, sparse, k_sparse, contractive, robust,
        /// variational, adversarial, hashing (binary), overcomplete, sequence, sequence_lstm.
        variant: String,
        /// Dataset name (shapes, mnist, fashion-mnist, satellite, cifar10, cifar10-test, ecg5000, icecore).
        dataset: String,
        /// The file to write (default: <variant>_<dataset>.toml).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Export a trained model for PyTorch: model.safetensors (torch names and layouts),
    /// model.json (the architecture), check_input.npy / check_output.npy (reference
    /// reconstructions for scripts/check_export.py).
    Export {
        /// The run folder of a trained model.
        run: PathBuf,
        /// Export format.
        #[arg(long, value_enum, default_value = "safetensors")]
        format: crate::commands::export::Format,
        /// Folder to write into (default: RUN/export).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Backend computing the reference outputs.
        #[arg(long, value_enum)]
        backend: Option<BackendChoice>,
    },
    /// Applications of a trained run (encode, anomaly, generate, impute, hash, cluster, assist,
    /// compress).
    #[command(flatten)]
    App(crate::apps::AppCommand),
}

/// `ae-train data ...` subcommands.
#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Print one JSON object: items per split, item shape, classes, items per class.
    Info {
        /// Dataset name (shapes, mnist, fashion-mnist, satellite, cifar10, cifar10-test, ecg5000, icecore).
        name: String,
        /// Folder holding the datasets (default: $AE_DATA_DIR, else datasets/).
        #[arg(long)]
        root: Option<PathBuf>,
    },
    /// Convert a dataset (a name, an image folder, CIFAR-10, a CSV/ARFF table, ICELEARNING, a .npy)
    /// into .npy files once, streaming with bounded memory; training memory-maps them
    /// (`data.source = { kind = "npy", ... }`), so the data may be larger than memory.
    Pack {
        /// A dataset name or a file or folder.
        source: String,
        /// The folder to write (refused if it exists and is not empty; appears only when complete).
        #[arg(long)]
        out: PathBuf,
        /// Folder holding the named datasets (default: $AE_DATA_DIR, else datasets/).
        #[arg(long)]
        root: Option<PathBuf>,
        /// Keep only the first N items of each split.
        #[arg(long)]
        limit: Option<usize>,
        /// Image folders: 1 (gray) or 3 (RGB, the default) channels.
        #[arg(long)]
        channels: Option<usize>,
        /// Image folders: resize every image to HEIGHTxWIDTH (default: all must share the first one's size).
        #[arg(long, value_parser = crate::commands::pack::parse_size)]
        size: Option<[usize; 2]>,
    },
    /// Download datasets from their canonical sources (SHA-256 verified, written to a temp file
    /// then renamed, archives extracted safely). $AE_FETCH_BASE_URL replaces the sources (mirrors).
    Fetch {
        /// Dataset names (mnist, fashion-mnist, satellite, cifar10) or `all`.
        #[arg(required = true)]
        names: Vec<String>,
        /// Folder to put them in (default: $AE_DATA_DIR, else datasets/).
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

/// The JSON description of a dataset's splits.
pub fn data_info(name: &str, root: &std::path::Path) -> Result<serde_json::Value> {
    let splits = ae_data::load(name, &ae_data::LoadOptions { root: root.to_path_buf(), limit: None, seed: 0 })?;
    let split = |d: &ae_data::Dataset| serde_json::json!({ "items": d.len(), "per_class": d.class_counts() });
    let mut out = serde_json::json!({
        "name": name,
        "root": root,
        "item_shape": splits.train.item_shape,
        "classes": splits.train.classes.len(),
        "class_names": splits.train.classes,
        "splits": { "train": split(&splits.train) },
    });
    if let Some(t) = &splits.test {
        out["splits"]["test"] = split(t);
    }
    Ok(out)
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Some(Command::Backends) => {
            let compiled: Vec<String> = backend::compiled().iter().map(|b| b.to_string()).collect();
            print_line(&format!("compiled backends: {}", compiled.join(", ")));
            #[cfg(feature = "cuda")]
            for line in backend::cuda_listing() {
                print_line(&line);
            }
            let adapters = backend::wgpu_adapters();
            if adapters.is_empty() {
                print_line("wgpu adapters: none");
            }
            let any_adapter = !adapters.is_empty();
            for a in adapters {
                print_line(&format!("wgpu adapter: {} ({})", a.name, if a.hardware { "hardware" } else { "software" }));
            }
            if any_adapter {
                let wgpu = backend::resolve(BackendChoice::Wgpu)?;
                print_line(&format!("wgpu selects: {}", wgpu.description));
            }
            let auto = backend::resolve(BackendChoice::Auto)?;
            print_line(&format!("auto selects: {} [{}]", auto.name, auto.description));
            Ok(())
        }
        Some(Command::Data { command: DataCommand::Fetch { names, root } }) => {
            let root = root
                .or_else(|| std::env::var_os("AE_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("datasets"));
            crate::commands::fetch::run(&names, &root, cli.quiet)
        }
        Some(Command::Data { command: DataCommand::Pack { source, out, root, limit, channels, size } }) => {
            let root = root
                .or_else(|| std::env::var_os("AE_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("datasets"));
            let req = crate::commands::pack::PackRequest { source, out, root, limit, channels, size, quiet: cli.quiet };
            let summary = crate::commands::pack::run(&req)?;
            for line in crate::commands::pack::report(&summary) {
                print_line(&line);
            }
            Ok(())
        }
        Some(Command::Data { command: DataCommand::Info { name, root } }) => {
            let root = root
                .or_else(|| std::env::var_os("AE_DATA_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("datasets"));
            print_line(&data_info(&name, &root)?.to_string());
            Ok(())
        }
        Some(Command::Reconstruct { run, backend, split }) => {
            let r = crate::apps::reconstruct::run(&run, backend, split)?;
            print_line(&format!(
                "reconstruct {} ({:?} split, {} items, {}): mean error {:.6}, median {:.6}, max {:.6}; wrote reconstruct.csv, reconstruct.json, reconstruct.png",
                r.run.display(),
                r.split,
                r.items,
                r.loss,
                r.mean_error,
                r.median_error,
                r.max_error
            ));
            Ok(())
        }
        Some(Command::Denoise { run, backend, split, sigma, seed }) => {
            let r = crate::apps::denoise::run(&run, backend, split, sigma, seed)?;
            print_line(&format!(
                "denoise {} ({:?} split of {}, {} images, {}): PSNR {:.2} dB -> {:.2} dB, SSIM {:.4} -> {:.4}; wrote denoise.json, denoise.png",
                r.run.display(),
                r.split,
                r.dataset,
                r.items,
                r.corruption.name(),
                r.psnr_noisy,
                r.psnr_denoised,
                r.ssim_noisy,
                r.ssim_denoised
            ));
            Ok(())
        }
        Some(Command::Bench {
            backend,
            case,
            seconds,
            rounds,
            batch,
            torch,
            torch_threads,
            torch_device,
            pipeline,
            json,
            precision,
        }) => {
            let req = crate::commands::bench::BenchRequest {
                backends: backend,
                cases: case,
                seconds,
                rounds,
                batch,
                torch_python: torch.or_else(|| std::env::var_os("AE_TORCH_PYTHON").map(PathBuf::from)),
                torch_threads,
                torch_device,
                pipeline,
                json,
                precision: Precision::from_name(&precision).unwrap_or_default(),
            };
            crate::commands::bench::bench(&req).map(|_| ())
        }
        Some(Command::Show { run }) => {
            for line in crate::commands::show::lines(&run)? {
                print_line(&line);
            }
            Ok(())
        }
        Some(Command::Compare { runs, out }) => {
            let c = crate::commands::compare::run(&runs, out.as_deref())?;
            for line in c.table.lines() {
                print_line(line);
            }
            print_line(&format!(
                "compare: {} differing config keys; wrote {} and {}",
                c.differing.len(),
                c.table_file.display(),
                c.picture.display()
            ));
            Ok(())
        }
        Some(Command::Sweep { config, grid, range, random, seed, set, backend, parallel, out, resume, quiet }) => {
            let req = crate::commands::sweep::SweepRequest {
                config,
                backend,
                set,
                grid,
                range,
                random,
                seed,
                parallel,
                out,
                resume,
                quiet,
            };
            let s = crate::commands::sweep::run(&req)?;
            for line in s.table.lines() {
                print_line(line);
            }
            print_line(&format!("sweep: wrote {} (sweep.csv, sweep.md, sweep.png)", s.dir.display()));
            if !s.failed.is_empty() {
                return Err(crate::error::AppError::runtime(format!(
                    "sweep: {} of {} runs failed: {} (their output is in {})",
                    s.failed.len(),
                    s.rows.len(),
                    s.failed.join(", "),
                    s.dir.join("logs").display()
                )));
            }
            Ok(())
        }
        Some(Command::Init { variant, dataset, out }) => {
            let path = crate::commands::init::run(&variant, &dataset, out.as_deref())?;
            print_line(&format!("init: wrote {}; train it with: ae-train --config {}", path.display(), path.display()));
            Ok(())
        }
        Some(Command::Export { run, format, out, backend }) => {
            let r = crate::commands::export::run(&run, format, out.as_deref(), backend)?;
            print_line(&r.summary());
            Ok(())
        }
        Some(Command::App(command)) => crate::apps::run(command),
        None => {
            let config = cli.config.expect("clap requires --config without a subcommand");
            let req = TrainRequest {
                config,
                backend: cli.backend,
                set: cli.set,
                out: cli.out,
                resume: cli.resume,
                force: cli.force,
                quiet: cli.quiet,
            };
            let s = train::train(&req)?;
            if !crate::training::distributed::world().is_root() {
                return Ok(()); // rank 0 reports for the job
            }
            let test = s
                .test
                .as_ref()
                .map(|t| format!("test loss {:.6}, test MSE {:.6} on {} items", t.loss, t.mse, t.items))
                .unwrap_or_else(|| "no test split".into());
            print_line(&format!(
                "done: {} epochs in {:.1} s on {}; {test}; run folder {}",
                s.epochs,
                s.train_seconds,
                s.backend,
                s.run_dir.display()
            ));
            Ok(())
        }
    }
}

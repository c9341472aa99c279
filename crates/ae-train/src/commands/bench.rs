//! `ae-train bench`: training throughput and peak memory of the reference cases on every backend
//! built in, beside PyTorch running the same cases on the same machine.
//!
//! Each case trains on one fixed batch of uniform random inputs (as PyTorch's reference does), so
//! the numbers measure the model's step alone: a few warm-up steps, then as many steps as fit in
//! `--seconds`. The loss is read back every [`READ_EVERY`] steps only, so a GPU is never made to
//! wait for the host within that window. Each case runs on every backend and then in PyTorch
//! before the next case starts, so the two sides of a ratio are measured minutes apart at most. The `pipeline` line trains the dense case on real MNIST
//! batches prepared by the worker threads and splits each step into the time spent waiting for
//! the batch (data) and the time in the step (compute).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use ae_core::rng::epoch_order;
use ae_data::BatchStream;
use ae_models::precision::Precision;
use ae_models::schedule::Schedule;
use ae_models::step::{self, Optimizers, train_step};
use burn::tensor::{Device, Distribution, Tensor};
use serde::Serialize;

use crate::backend::{self, BackendChoice};
use crate::config::{self, ExperimentConfig};
use crate::error::{AppError, Result};
use crate::report::progress::print_line;
use crate::training::fit::{optimizer, to_tensor};
use crate::training::model::init_model;

/// Steps between two reads of the loss (the only host synchronisation while timing).
pub const READ_EVERY: usize = 25;
/// Untimed steps before timing starts (allocator, autotune and kernel caches warm up).
const WARMUP_STEPS: usize = 10;

/// A benchmark case: a shipped preset (its model, optimizer and batch size), with overrides.
pub struct Case {
    /// Short name, shared with `scripts/torch_bench.py`.
    pub name: &'static str,
    /// What it is, for the table.
    pub description: &'static str,
    /// Shape of one item.
    pub shape: &'static [usize],
    /// The experiment config it measures, a path below `configs/` (built into the binary).
    pub config: &'static str,
    text: &'static str,
    overrides: &'static [&'static str],
}

/// The cases of the performance issue, each matching a `scripts/torch_bench.py` case. They are
/// the shipped experiment configs, so the bench measures what the configs train.
pub const CASES: &[Case] = &[
    Case {
        name: "dense",
        description: "dense 784-256-32, MSE (mnist_2d.toml, narrowed)",
        shape: &[784],
        config: "experiments/mnist_2d.toml",
        text: include_str!("../../configs/experiments/mnist_2d.toml"),
        overrides: &["model.network.hidden=[256]", "model.network.code=32"],
    },
    Case {
        name: "deep",
        description: "dense 784-400-200-100-50-2, MSE (mnist_2d.toml)",
        shape: &[784],
        config: "experiments/mnist_2d.toml",
        text: include_str!("../../configs/experiments/mnist_2d.toml"),
        overrides: &[],
    },
    Case {
        name: "vae",
        description: "VAE 784-400-20, Bernoulli (mnist_vae.toml)",
        shape: &[784],
        config: "experiments/mnist_vae.toml",
        text: include_str!("../../configs/experiments/mnist_vae.toml"),
        overrides: &[],
    },
    Case {
        name: "conv",
        description: "conv denoising AE 3x32x32, MSE (denoising_cifar_reference.toml)",
        shape: &[3, 32, 32],
        config: "experiments/denoising_cifar_reference.toml",
        text: include_str!("../../configs/experiments/denoising_cifar_reference.toml"),
        overrides: &[],
    },
    Case {
        name: "conv_full",
        description: "full-resolution conv denoising AE 3x32x32, MSE (denoising_cifar.toml)",
        shape: &[3, 32, 32],
        config: "experiments/denoising_cifar.toml",
        text: include_str!("../../configs/experiments/denoising_cifar.toml"),
        overrides: &[],
    },
];

/// What to measure.
pub struct BenchRequest {
    /// Backends to run (empty: every one compiled in whose device can be made).
    pub backends: Vec<BackendChoice>,
    /// Cases to run by name (empty: all).
    pub cases: Vec<String>,
    /// Timed seconds per case.
    pub seconds: f64,
    /// Times every case is measured, each side of a ratio right after the other: each round
    /// gives a ratio of two measurements made minutes apart at most, and the median of the
    /// rounds' ratios is reported (one slow minute of a shared machine moves one round).
    pub rounds: usize,
    /// Batch size for every case instead of its own.
    pub batch: Option<usize>,
    /// Python with torch to run `scripts/torch_bench.py` beside ours (none: skip PyTorch).
    pub torch_python: Option<PathBuf>,
    /// Threads PyTorch may use (ours use every core).
    pub torch_threads: usize,
    /// Device PyTorch runs on (`cpu`, `cuda`).
    pub torch_device: String,
    /// Also measure data time against compute time per step on real MNIST.
    pub pipeline: bool,
    /// Where to write every result as JSON lines.
    pub json: Option<PathBuf>,
    /// Format of the layers on both sides (ours: [`ae_models::Autoencoder::with_precision`]; PyTorch:
    /// autocast).
    pub precision: Precision,
}

/// One measured case.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Measurement {
    /// Case name.
    pub case: String,
    /// `flex`, `ndarray`, `wgpu` or `torch`.
    pub backend: String,
    /// Items per step.
    pub batch: usize,
    /// Timed steps.
    pub steps: usize,
    /// Optimisation steps per second.
    pub steps_per_s: f64,
    /// Items per second.
    pub samples_per_s: f64,
    /// Peak resident memory of the process during the case, MiB (host memory).
    pub peak_rss_mib: f64,
    /// The last loss read (a sanity check that it trained).
    pub loss: f64,
    /// Format of the layers (`f32`, `f16`, `bf16`).
    #[serde(default = "f32_name")]
    pub precision: String,
    /// Round of a run with `--rounds` (from 0).
    #[serde(default)]
    pub round: usize,
}

fn f32_name() -> String {
    Precision::F32.name().to_string()
}

/// Runs the benchmark and prints a table; returns every measurement.
pub fn bench(req: &BenchRequest) -> Result<Vec<Measurement>> {
    let cases: Vec<&Case> = if req.cases.is_empty() {
        CASES.iter().collect()
    } else {
        req.cases
            .iter()
            .map(|n| {
                CASES.iter().find(|c| c.name == n).ok_or_else(|| {
                    let names: Vec<_> = CASES.iter().map(|c| c.name).collect();
                    AppError::usage(format!("--case {n}: no such case (cases: {})", names.join(", ")))
                })
            })
            .collect::<Result<_>>()?
    };
    if !(req.seconds > 0.0 && req.seconds.is_finite()) {
        return Err(AppError::usage(format!("--seconds {}: must be a positive number", req.seconds)));
    }
    if req.batch == Some(0) {
        return Err(AppError::usage("--batch 0: must be at least 1"));
    }
    if req.rounds == 0 {
        return Err(AppError::usage("--rounds 0: must be at least 1"));
    }
    let backends = if req.backends.is_empty() {
        backend::compiled().into_iter().filter(|b| backend::resolve(*b).is_ok()).collect()
    } else {
        req.backends.clone()
    };
    print_line(&machine_line());
    // Each case of a multi-case run is measured in a fresh process of its own, so that its peak
    // memory is its own (not what an earlier backend or case left mapped) and no case inherits
    // another's allocator or autotune state.
    let isolate = backends.len() * cases.len() * req.rounds > 1;
    let mut resolved = Vec::new();
    for choice in &backends {
        let r = backend::resolve(*choice)?;
        print_line(&format!("backend {}: {}", r.name, r.description));
        resolved.push((*choice, r));
    }
    if let Some(python) = &req.torch_python {
        print_line(&format!("torch ({}, {} threads): {}", req.torch_device, req.torch_threads, python.display()));
    }
    // Case by case, every side of a ratio one after the other: a slow minute of a shared
    // machine then falls on both sides of the ratios of one case, not on one side of all.
    let mut results = Vec::new();
    for round in 0..req.rounds {
        for case in &cases {
            for (choice, r) in &resolved {
                let mut m = if isolate {
                    in_child(*choice, case, req)?
                } else {
                    measure(case, &r.name.to_string(), &r.device, req)?
                };
                m.round = round;
                print_line(&row(&m));
                results.push(m);
            }
            if let Some(python) = &req.torch_python {
                let mut m = torch(python, case, req)?;
                m.round = round;
                print_line(&row(&m));
                results.push(m);
            }
        }
    }
    if req.torch_python.is_some() {
        print_line("");
        print_line(&format!("ratios (steps/s against PyTorch on {}):", req.torch_device));
        for (case, backend, ratios) in paired_ratios(&results) {
            let line = if ratios.len() == 1 {
                format!("  {case:8} {backend:8} {:.2}x", ratios[0])
            } else {
                let each: Vec<String> = ratios.iter().map(|r| format!("{r:.2}x")).collect();
                format!(
                    "  {case:8} {backend:8} {:.2}x (median of {} rounds: {})",
                    median(&ratios),
                    ratios.len(),
                    each.join(" ")
                )
            };
            print_line(&line);
        }
    }
    if req.pipeline {
        for choice in &backends {
            let resolved = backend::resolve(*choice)?;
            pipeline(&resolved.name.to_string(), &resolved.device, req)?;
        }
    }
    if let Some(path) = &req.json {
        let mut text = String::new();
        for m in &results {
            text.push_str(&serde_json::to_string(m).expect("measurements serialise"));
            text.push('\n');
        }
        crate::fsio::write_atomic(path, text.as_bytes())?;
    }
    Ok(results)
}

fn case_config(case: &Case) -> Result<ExperimentConfig> {
    let overrides: Vec<String> = case.overrides.iter().map(|o| o.to_string()).collect();
    config::parse(case.text, Path::new(&format!("configs/{}", case.config)), &overrides)
}

/// Trains `case` on one random batch for `req.seconds` and measures it.
fn measure(case: &Case, backend: &str, device: &Device, req: &BenchRequest) -> Result<Measurement> {
    let cfg = case_config(case)?;
    let batch = req.batch.unwrap_or(cfg.train.batch_size);
    let train_device = device.clone().autodiff();
    let model = init_model(&cfg, case.shape, &train_device)
        .map_err(|e| AppError::usage(format!("bench {}: {e}", case.name)))?;
    let (model, mut optims) = step::in_precision(model, req.precision, &train_device, || optimizer(&cfg.train))
        .map_err(|e| AppError::usage(format!("bench {} on {backend}: --precision: {}", case.name, e.message)))?;
    train_device.seed(0);
    let width: usize = case.shape.iter().product();
    let x: Tensor<2> = Tensor::random([batch, width], Distribution::Default, &train_device);
    let lr = cfg.train.learning_rate;
    let schedule = Schedule::at(0, 1);
    reset_peak_rss();
    let mut model = model;
    for _ in 0..WARMUP_STEPS {
        let out;
        (model, out) = train_step(model, &mut optims, x.clone(), schedule, lr);
        let _ = out.loss.into_scalar::<f32>();
    }
    let mut loss: f64;
    let t0 = Instant::now();
    let mut steps = 0;
    loop {
        let out;
        (model, out) = train_step(model, &mut optims, x.clone(), schedule, lr);
        steps += 1;
        if steps % READ_EVERY == 0 {
            loss = out.loss.into_scalar::<f32>() as f64;
            if t0.elapsed().as_secs_f64() >= req.seconds {
                break;
            }
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    Ok(Measurement {
        case: case.name.to_string(),
        backend: backend.to_string(),
        batch,
        steps,
        steps_per_s: steps as f64 / seconds,
        samples_per_s: (steps * batch) as f64 / seconds,
        peak_rss_mib: peak_rss_mib(),
        loss,
        precision: req.precision.name().to_string(),
        round: 0,
    })
}

/// For each case and backend other than PyTorch, in the order first measured: the ratio of its
/// steps/s to PyTorch's in each round that measured both.
fn paired_ratios(results: &[Measurement]) -> Vec<(&str, &str, Vec<f64>)> {
    let mut out: Vec<(&str, &str, Vec<f64>)> = Vec::new();
    for m in results.iter().filter(|m| m.backend != "torch") {
        let Some(t) = results.iter().find(|t| t.backend == "torch" && t.case == m.case && t.round == m.round) else {
            continue;
        };
        let ratio = m.steps_per_s / t.steps_per_s;
        match out.iter_mut().find(|(c, b, _)| *c == m.case && *b == m.backend) {
            Some((_, _, ratios)) => ratios.push(ratio),
            None => out.push((&m.case, &m.backend, vec![ratio])),
        }
    }
    out
}

/// The median of `values` (the mean of the two middle ones for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 { v[mid] } else { (v[mid - 1] + v[mid]) / 2.0 }
}

/// Measures one case of one backend in a child process of this binary.
fn in_child(choice: BackendChoice, case: &Case, req: &BenchRequest) -> Result<Measurement> {
    let exe = std::env::current_exe().map_err(|e| AppError::runtime(format!("cannot find this program: {e}")))?;
    let json = std::env::temp_dir().join(format!("ae-bench-{}-{choice}-{}.jsonl", std::process::id(), case.name));
    let mut cmd = Command::new(&exe);
    cmd.args(["bench", "--backend", &choice.to_string(), "--case", case.name])
        .args(["--seconds", &req.seconds.to_string()])
        .arg("--json")
        .arg(&json);
    if let Some(b) = req.batch {
        cmd.args(["--batch", &b.to_string()]);
    }
    cmd.args(["--precision", req.precision.name()]);
    let out = cmd.output().map_err(|e| AppError::runtime(format!("{}: cannot run: {e}", exe.display())))?;
    let text = std::fs::read_to_string(&json);
    let _ = std::fs::remove_file(&json);
    if !out.status.success() {
        return Err(AppError::runtime(format!(
            "bench {} on {choice}: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let text = text.map_err(|e| AppError::runtime(format!("{}: {e}", json.display())))?;
    serde_json::from_str(text.lines().next().unwrap_or_default())
        .map_err(|e| AppError::runtime(format!("{}: unreadable measurement: {e}", json.display())))
}

/// Runs `scripts/torch_bench.py CASE` and reads its JSON line.
fn torch(python: &Path, case: &Case, req: &BenchRequest) -> Result<Measurement> {
    let script = torch_script()?;
    let batch = req.batch.unwrap_or(case_config(case)?.train.batch_size);
    let out = Command::new(python)
        .arg(&script)
        .arg(case.name)
        .args(["--seconds", &req.seconds.to_string(), "--threads", &req.torch_threads.to_string()])
        .args(["--batch", &batch.to_string()])
        .args(["--device", &req.torch_device])
        .args(["--precision", req.precision.name()])
        .output()
        .map_err(|e| AppError::runtime(format!("{}: cannot run: {e}", python.display())))?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(AppError::runtime(format!(
            "{} {} {}: {}",
            python.display(),
            script.display(),
            case.name,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let line = stdout.lines().rev().find(|l| l.starts_with('{')).unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line)
        .map_err(|e| AppError::runtime(format!("{}: unreadable output {line:?}: {e}", script.display())))?;
    let num = |k: &str| v.get(k).and_then(|x| x.as_f64()).unwrap_or(f64::NAN);
    Ok(Measurement {
        case: case.name.to_string(),
        backend: "torch".into(),
        batch,
        steps: num("steps") as usize,
        steps_per_s: num("steps_per_s"),
        samples_per_s: num("steps_per_s") * batch as f64,
        peak_rss_mib: num("peak_rss_mib"),
        loss: num("loss"),
        precision: v.get("precision").and_then(|p| p.as_str()).unwrap_or("f32").to_string(),
        round: 0,
    })
}

/// `scripts/torch_bench.py`, found beside the configs folder.
fn torch_script() -> Result<PathBuf> {
    let candidates = [
        PathBuf::from("scripts/torch_bench.py"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/torch_bench.py"),
    ];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        AppError::runtime("scripts/torch_bench.py not found: run ae-train bench from the repository root")
    })
}

/// Trains the dense case for `req.seconds` on real MNIST batches from the worker threads,
/// timing the wait for each batch apart from the step.
fn pipeline(backend: &str, device: &Device, req: &BenchRequest) -> Result<()> {
    let case = &CASES[0];
    let cfg = case_config(case)?;
    let data = match crate::training::data::prepare(&cfg, Path::new("<bench pipeline>"), None) {
        Ok(d) => d,
        Err(e) => {
            print_line(&format!("pipeline: skipped, no MNIST ({})", e.message));
            return Ok(());
        }
    };
    pipeline_steps(backend, device, req, &cfg, &data, "MNIST in memory");
    // The same items packed as .npy and memory-mapped: the data path of datasets larger than
    // memory (per-batch conversion from the map, pages released as it goes).
    let dir = std::env::temp_dir().join(format!("ae-bench-npy-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let opts = ae_data::LoadOptions { root: crate::training::data::data_root(&cfg), limit: cfg.data.limit, seed: 0 };
    let packed =
        ae_data::pack::pack(&ae_data::Source::Named { name: cfg.data.dataset.clone() }, &opts, &dir, &mut |_| {});
    let result = packed.map_err(AppError::from).and_then(|summary| {
        let mut npy_cfg = cfg.clone();
        npy_cfg.data.source = Some(summary.source());
        let mapped = crate::training::data::prepare(&npy_cfg, Path::new("<bench pipeline>"), None)?;
        pipeline_steps(backend, device, req, &npy_cfg, &mapped, "MNIST as .npy, memory-mapped, warm page cache");
        cold_read(&dir.join(ae_data::npy::TRAIN), &mapped.train);
        Ok(())
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Trains the dense case on `data`'s batches from the worker threads for `req.seconds` and
/// prints the data and compute time per step.
fn pipeline_steps(
    backend: &str,
    device: &Device,
    req: &BenchRequest,
    cfg: &ExperimentConfig,
    data: &crate::training::data::PreparedData,
    what: &str,
) {
    let train_device = device.clone().autodiff();
    let Ok(model) = init_model(cfg, &data.shape, &train_device) else { return };
    let mut optims = Optimizers::new(&model, || optimizer(&cfg.train));
    let batch = req.batch.unwrap_or(cfg.train.batch_size);
    let (mut model, mut data_s, mut compute_s, mut steps, mut epoch, mut warm) = (model, 0.0, 0.0, 0usize, 0, 0);
    let mut t0 = Instant::now();
    'epochs: loop {
        let order = epoch_order(data.train.len(), 0, epoch);
        let mut stream = BatchStream::new(data.train.clone(), order, batch, cfg.train.workers);
        loop {
            let t = Instant::now();
            let Some(b) = stream.next() else { break };
            let x = to_tensor(b, &train_device);
            let t1 = Instant::now();
            data_s += (t1 - t).as_secs_f64();
            let out;
            (model, out) = train_step(model, &mut optims, x, Schedule::at(0, 1), cfg.train.learning_rate);
            // Read every step here, so that the step's time is its own (not overlapped).
            let _ = out.loss.into_scalar::<f32>();
            warm += 1;
            if warm <= WARMUP_STEPS {
                // Kernel compilation and autotuning are not data loading or steady compute.
                (data_s, t0) = (0.0, Instant::now());
                continue;
            }
            compute_s += t1.elapsed().as_secs_f64();
            steps += 1;
            if t0.elapsed().as_secs_f64() >= req.seconds {
                break 'epochs;
            }
        }
        epoch += 1;
    }
    print_line(&format!(
        "pipeline {backend}: dense on {what}, batch {batch}, {} workers: data {:.3} ms/step, compute {:.3} ms/step, data = {:.1}% of step time ({steps} steps)",
        cfg.train.workers,
        1e3 * data_s / steps as f64,
        1e3 * compute_s / steps as f64,
        100.0 * data_s / (data_s + compute_s),
    ));
}

/// Evicts `file` from the page cache (Linux: `posix_fadvise(DONTNEED)`, which drops its clean
/// pages) and times one pass over `view`'s items in a shuffled order on one thread: the cold
/// read throughput of a memory-mapped dataset, in MB/s of item bytes.
fn cold_read(file: &Path, view: &ae_data::View) {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let Ok(f) = std::fs::File::open(file) else { return };
        // SAFETY: fadvise only reads the descriptor, which is open for the call's duration.
        let evicted = unsafe { libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED) } == 0;
        let order = epoch_order(view.len(), 1, 0);
        let t = Instant::now();
        for chunk in order.chunks(256) {
            std::hint::black_box(view.batch(chunk));
        }
        let s = t.elapsed().as_secs_f64();
        let bytes = view.len() * view.item_len();
        print_line(&format!(
            "pipeline cold read: {} items ({:.1} MB) of {} in shuffled order, one thread, {}: {:.3} s, {:.1} MB/s",
            view.len(),
            bytes as f64 / 1e6,
            file.display(),
            if evicted { "page cache evicted first" } else { "page cache NOT evicted (fadvise failed)" },
            s,
            bytes as f64 / 1e6 / s
        ));
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (file, view);
}

fn row(m: &Measurement) -> String {
    format!(
        "  {:8} {:8} batch {:4}  {:9.1} steps/s  {:10.0} samples/s  peak RSS {:7.1} MiB  loss {:.4}",
        m.case, m.backend, m.batch, m.steps_per_s, m.samples_per_s, m.peak_rss_mib, m.loss
    )
}

/// The CPU model and thread count, for the table's header.
pub fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let v = crate::training::model::versions();
    format!("machine: {cpu}, {threads} threads; ae-train {} on burn {}", env!("CARGO_PKG_VERSION"), v.burn)
}

/// Resets the kernel's peak-RSS counter of this process (Linux; elsewhere a no-op).
fn reset_peak_rss() {
    if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open("/proc/self/clear_refs") {
        let _ = f.write_all(b"5");
    }
}

/// Peak resident memory since the last reset, MiB (NaN where unknown).
pub fn peak_rss_mib() -> f64 {
    status_kib("VmHWM:").map_or(f64::NAN, |k| k / 1024.0)
}

/// Current resident memory, MiB (NaN where unknown).
pub fn rss_mib() -> f64 {
    status_kib("VmRSS:").map_or(f64::NAN, |k| k / 1024.0)
}

fn status_kib(key: &str) -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    s.lines().find(|l| l.starts_with(key))?.split_whitespace().nth(1)?.parse().ok()
}

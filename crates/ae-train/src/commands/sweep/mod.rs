//! `ae-train sweep`: one config trained over a grid of values (or random draws from ranges), each
//! combination its own run folder inside the sweep folder, several at a time, in child
//! `ae-train` processes.
//!
//! ```text
//! runs/<name>-sweep/
//!   sweep.toml     the config as it was when the sweep started (every run trains from it)
//!   sweep.json     the plan: the swept keys, the common overrides, every run and its values
//!   00_code=2_.../ one run folder per run (what `ae-train --config` writes)
//!   logs/NAME.log  what each run printed
//!   sweep.csv, sweep.md, sweep.png   the table and every run's validation curve
//! ```

pub mod plan;
pub mod table;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::backend::{self, BackendChoice};
use crate::config;
use crate::error::{AppError, Result, io_error};
use crate::fsio::{write_atomic, write_json};
use crate::report::progress::SweepBar;
use crate::run_folder::{self, read_json};
use plan::PlannedRun;

/// The plan's file in a sweep folder.
pub const PLAN_FILE: &str = "sweep.json";
/// The config copy every run of a sweep trains from.
pub const CONFIG_FILE: &str = "sweep.toml";

/// `sweep.json`: how the sweep was asked for and the runs it makes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepPlan {
    /// The config file as named on the command line.
    pub config: String,
    /// The experiment's name.
    pub name: String,
    /// `--backend`, if given.
    pub backend: Option<BackendChoice>,
    /// `--set` overrides common to every run.
    pub set: Vec<String>,
    /// `--grid` arguments.
    pub grid: Vec<String>,
    /// `--range` arguments.
    pub range: Vec<String>,
    /// `--random N`.
    pub random: Option<usize>,
    /// `--seed` of the random draws.
    pub seed: u64,
    /// Every run.
    pub runs: Vec<PlannedRun>,
}

impl SweepPlan {
    /// The swept keys, in order.
    pub fn keys(&self) -> Vec<String> {
        self.runs.first().map(|r| r.values.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default()
    }

    /// The overrides of run `run`: the common ones, then its own.
    fn sets(&self, run: &PlannedRun) -> Vec<String> {
        [self.set.clone(), run.sets()].concat()
    }

    fn title(&self) -> String {
        format!("sweep of {} ({})", self.name, self.config)
    }
}

/// What the command line asks of a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepRequest {
    /// The config (needed unless resuming).
    pub config: Option<PathBuf>,
    /// Backend of every run.
    pub backend: Option<BackendChoice>,
    /// Overrides common to every run.
    pub set: Vec<String>,
    /// `KEY=V1,V2,...` per swept key.
    pub grid: Vec<String>,
    /// `KEY=LO:HI[:log]` per randomly drawn key.
    pub range: Vec<String>,
    /// Random runs instead of the whole grid.
    pub random: Option<usize>,
    /// Seed of the random draws.
    pub seed: u64,
    /// Runs at a time (default: one per core on a CPU backend, one on a GPU).
    pub parallel: Option<usize>,
    /// The sweep folder (default `runs/<name>-sweep`).
    pub out: Option<PathBuf>,
    /// Continue the sweep in `out`.
    pub resume: bool,
    /// Print nothing but the table.
    pub quiet: bool,
}

/// How a sweep ended.
#[derive(Debug, Clone)]
pub struct SweepOutcome {
    /// The sweep folder.
    pub dir: PathBuf,
    /// Every run's row.
    pub rows: Vec<table::Row>,
    /// The table as markdown (also in `sweep.md`).
    pub table: String,
    /// Runs that failed in this invocation.
    pub failed: Vec<String>,
}

/// Runs (or continues) a sweep.
pub fn run(req: &SweepRequest) -> Result<SweepOutcome> {
    let (dir, plan) = if req.resume { resumed(req)? } else { started(req)? };
    let base = dir.join(CONFIG_FILE);
    let mut epochs = Vec::new();
    for r in &plan.runs {
        let cfg = config::load(&base, &plan.sets(r))
            .map_err(|e| AppError::usage(format!("sweep run {}: {}", r.name, e.message)))?;
        epochs.push(cfg.config.train.epochs);
    }
    let finished = |i: usize| dir.join(&plan.runs[i].name).join(run_folder::SUMMARY).is_file();
    let mut queue: VecDeque<usize> = (0..plan.runs.len()).filter(|&i| !finished(i)).collect();

    let choice = match plan.backend {
        Some(b) => b,
        None => config::load(&base, &plan.set)?.config.train.backend,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parallel = match req.parallel {
        Some(0) => return Err(AppError::usage("sweep: --parallel 0: run at least one at a time")),
        Some(n) => n,
        None if backend::runs_on_gpu(choice) => 1,
        None => cores,
    }
    .min(queue.len())
    .max(1);
    let threads = (cores / parallel).max(1);
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).map_err(|e| io_error(&logs, "create", e))?;
    let exe =
        std::env::current_exe().map_err(|e| AppError::runtime(format!("cannot find the ae-train binary: {e}")))?;

    let done_epochs = |running: &[(usize, Child, Instant)]| -> usize {
        (0..plan.runs.len())
            .map(|i| {
                if finished(i) && !running.iter().any(|r| r.0 == i) {
                    epochs[i]
                } else {
                    crate::run_folder::read_metrics(&dir.join(&plan.runs[i].name).join(run_folder::METRICS))
                        .len()
                        .min(epochs[i])
                }
            })
            .sum()
    };
    let total = plan.runs.len();
    let bar = SweepBar::new(req.quiet, epochs.iter().sum(), done_epochs(&[]));
    bar.line(&format!(
        "sweep {}: {total} runs ({} to go), {parallel} at a time, {threads} thread(s) each",
        dir.display(),
        queue.len()
    ));
    let mut running: Vec<(usize, Child, Instant)> = Vec::new();
    let mut failed = Vec::new();
    loop {
        while running.len() < parallel {
            let Some(i) = queue.pop_front() else { break };
            let r = &plan.runs[i];
            let resume = dir.join(&r.name).join(run_folder::CHECKPOINTS).join(run_folder::LAST_CHECKPOINT).is_file();
            let child = spawn(&exe, &base, &plan, r, &dir.join(&r.name), &logs, resume, threads)?;
            bar.line(&format!("  {} {} ({}/{total})", if resume { "resuming" } else { "starting" }, r.name, i + 1));
            running.push((i, child, Instant::now()));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        let mut ended = Vec::new();
        for (k, (i, child, _)) in running.iter_mut().enumerate() {
            if let Some(status) =
                child.try_wait().map_err(|e| AppError::runtime(format!("sweep: waiting for a run: {e}")))?
            {
                ended.push((k, *i, status));
            }
        }
        for &(k, i, status) in ended.iter().rev() {
            let (_, _, started_at) = running.remove(k);
            let name = &plan.runs[i].name;
            if status.success() {
                bar.line(&format!("  finished {name} in {:.1} s", started_at.elapsed().as_secs_f64()));
            } else {
                bar.line(&format!(
                    "  FAILED {name} ({status}); its output: {}",
                    logs.join(format!("{name}.log")).display()
                ));
                failed.push(name.clone());
            }
        }
        let names: Vec<&str> = running.iter().map(|(i, _, _)| plan.runs[*i].name.as_str()).collect();
        if !ended.is_empty() {
            write_tables(&dir, &plan, &names)?;
        }
        let finished_runs = (0..total).filter(|&i| finished(i)).count();
        bar.set(done_epochs(&running), format!("{finished_runs}/{total} runs done, {} running", running.len()));
    }
    bar.finish();
    let (rows, table) = write_tables(&dir, &plan, &[])?;
    Ok(SweepOutcome { dir, rows, table, failed })
}

fn write_tables(dir: &Path, plan: &SweepPlan, running: &[&str]) -> Result<(Vec<table::Row>, String)> {
    let rows = table::rows(dir, &plan.runs, running)?;
    let keys = plan.keys();
    let labels = plan::short_keys(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    let md = table::write(dir, &plan.title(), &keys, &labels, &rows)?;
    Ok((rows, md))
}

/// Starts one run as a child `ae-train`, its output appended to `logs/NAME.log`.
#[allow(clippy::too_many_arguments)]
fn spawn(
    exe: &Path,
    base: &Path,
    plan: &SweepPlan,
    run: &PlannedRun,
    out: &Path,
    logs: &Path,
    resume: bool,
    threads: usize,
) -> Result<Child> {
    let log_path = logs.join(format!("{}.log", run.name));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log_path)
        .map_err(|e| io_error(&log_path, "open", e))?;
    let log2 = log.try_clone().map_err(|e| io_error(&log_path, "open", e))?;
    let mut cmd = Command::new(exe);
    cmd.arg("--config").arg(base).arg("--out").arg(out).arg("--quiet");
    if let Some(b) = plan.backend {
        cmd.args(["--backend", &b.to_string()]);
    }
    for s in plan.sets(run) {
        cmd.arg("--set").arg(s);
    }
    if resume {
        cmd.arg("--resume");
    } else if out.exists() {
        // Killed before its first checkpoint: its partial files are replaced.
        cmd.arg("--force");
    }
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        cmd.env("RAYON_NUM_THREADS", threads.to_string());
    }
    cmd.stdin(Stdio::null()).stdout(Stdio::from(log)).stderr(Stdio::from(log2));
    die_with_parent(&mut cmd);
    cmd.spawn().map_err(|e| AppError::runtime(format!("sweep: cannot start {}: {e}", exe.display())))
}

/// On Linux, a run ends when the sweep does (killed, or interrupted): the kernel sends it SIGKILL
/// when its parent exits, so no orphan keeps writing into a folder a resumed sweep takes over.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id();
    // SAFETY: between fork and exec the closure calls only prctl, getppid and _exit, which are
    // async-signal-safe, and allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The sweep may have died before prctl took effect.
            if libc::getppid() as u32 != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn die_with_parent(_cmd: &mut Command) {}

/// A new sweep: parses and checks every run's config before anything is created or trained.
fn started(req: &SweepRequest) -> Result<(PathBuf, SweepPlan)> {
    let config_arg = req.config.as_ref().ok_or_else(|| AppError::usage("sweep: --config FILE is required"))?;
    let loaded = config::load(config_arg, &req.set)?;
    let grid = req.grid.iter().map(|g| plan::parse_grid(g)).collect::<Result<Vec<_>>>()?;
    let ranges = req.range.iter().map(|r| plan::parse_range(r)).collect::<Result<Vec<_>>>()?;
    let keys: Vec<&str> = grid.iter().map(|g| g.key.as_str()).chain(ranges.iter().map(|r| r.key.as_str())).collect();
    for s in &req.set {
        let key = s.split_once('=').map_or(s.as_str(), |(k, _)| k.trim());
        if keys.contains(&key) {
            return Err(AppError::usage(format!("sweep: `{key}` is both set (--set) and swept: drop one")));
        }
    }
    // Each value alone first, so that an error names the argument it came from.
    let check = |flag: &str, spec: &str, key: &str, value: &str| -> Result<()> {
        config::load(&loaded.path, &[req.set.clone(), vec![format!("{key}={value}")]].concat())
            .map(|_| ())
            .map_err(|e| AppError::usage(format!("{flag} {spec}: {}", e.message)))
    };
    for (g, spec) in grid.iter().zip(&req.grid) {
        for v in &g.values {
            check("--grid", spec, &g.key, v)?;
        }
    }
    for (r, spec) in ranges.iter().zip(&req.range) {
        for end in [r.lo, r.hi] {
            let v = if r.integer { (end as i64).to_string() } else { plan::float_text(end) };
            check("--range", spec, &r.key, &v)?;
        }
    }
    let runs = plan::runs(&grid, &ranges, req.random, req.seed)?;
    let name = loaded.config.name.clone();
    let plan = SweepPlan {
        config: config_arg.display().to_string(),
        name: name.clone(),
        backend: req.backend,
        set: req.set.clone(),
        grid: req.grid.clone(),
        range: req.range.clone(),
        random: req.random,
        seed: req.seed,
        runs,
    };
    for r in &plan.runs {
        config::load(&loaded.path, &plan.sets(r))
            .map_err(|e| AppError::usage(format!("sweep run {}: {}", r.name, e.message)))?;
    }
    let dir = req.out.clone().unwrap_or_else(|| Path::new("runs").join(format!("{name}-sweep")));
    if dir.exists() && !dir.is_dir() {
        return Err(AppError::usage(format!("--out {}: exists and is not a folder", dir.display())));
    }
    if dir.join(PLAN_FILE).exists() {
        return Err(AppError::usage(format!(
            "sweep folder {} already holds a sweep: pass --resume to continue it, or --out to use another folder",
            dir.display()
        )));
    }
    if dir.join(run_folder::CONFIG).exists() {
        return Err(AppError::usage(format!("--out {}: holds a training run, not a sweep", dir.display())));
    }
    std::fs::create_dir_all(&dir).map_err(|e| io_error(&dir, "create", e))?;
    let text = std::fs::read(&loaded.path).map_err(|e| io_error(&loaded.path, "read", e))?;
    write_atomic(&dir.join(CONFIG_FILE), &text)?;
    write_json(&dir.join(PLAN_FILE), &plan)?;
    Ok((dir, plan))
}

/// A sweep to continue: its plan from `sweep.json`; arguments given again must match it.
fn resumed(req: &SweepRequest) -> Result<(PathBuf, SweepPlan)> {
    let dir = match (&req.out, &req.config) {
        (Some(out), _) => out.clone(),
        (None, Some(c)) => Path::new("runs").join(format!("{}-sweep", config::load(c, &req.set)?.config.name)),
        (None, None) => return Err(AppError::usage("sweep --resume: name the sweep folder with --out DIR")),
    };
    let path = dir.join(PLAN_FILE);
    let plan: SweepPlan = match read_json(&path)? {
        Some(v) => serde_json::from_value(v)
            .map_err(|e| AppError::runtime(format!("{}: not a sweep plan: {e}", path.display())))?,
        None => {
            return Err(AppError::usage(format!(
                "sweep --resume: {} holds no sweep (no {PLAN_FILE}); start one without --resume",
                dir.display()
            )));
        }
    };
    let differs = |what: &str, given: bool, same: bool| -> Result<()> {
        if given && !same {
            return Err(AppError::usage(format!(
                "sweep --resume: {} was started with other {what} (see {}): resume it with only --out, or with the same ones",
                dir.display(),
                path.display()
            )));
        }
        Ok(())
    };
    differs("--grid values", !req.grid.is_empty(), req.grid == plan.grid)?;
    differs("--range values", !req.range.is_empty(), req.range == plan.range)?;
    differs("--set values", !req.set.is_empty(), req.set == plan.set)?;
    differs("--random", req.random.is_some(), req.random == plan.random)?;
    differs("--backend", req.backend.is_some(), req.backend == plan.backend)?;
    Ok((dir, plan))
}

/// The lines `ae-train show` prints for a sweep folder: what was swept and the table.
pub fn show_lines(dir: &Path) -> Result<Vec<String>> {
    let path = dir.join(PLAN_FILE);
    let plan: SweepPlan = serde_json::from_value(read_json(&path)?.unwrap_or_default())
        .map_err(|e| AppError::runtime(format!("{}: not a sweep plan: {e}", path.display())))?;
    let rows = table::rows(dir, &plan.runs, &[])?;
    let keys = plan.keys();
    let labels = plan::short_keys(&keys.iter().map(String::as_str).collect::<Vec<_>>());
    let mut out = vec![format!("sweep: {}", dir.display())];
    let mut how = plan.grid.iter().map(|g| format!("--grid {g}")).collect::<Vec<_>>();
    how.extend(plan.range.iter().map(|r| format!("--range {r}")));
    if let Some(n) = plan.random {
        how.push(format!("--random {n} --seed {}", plan.seed));
    }
    out.push(format!("experiment: {} from {}; {} runs: {}", plan.name, plan.config, plan.runs.len(), how.join(" ")));
    out.extend(table::markdown(&plan.title(), &labels, &rows).lines().skip(2).map(str::to_string));
    out.push("files:".into());
    for (f, what) in [
        ("sweep.md", "the table above"),
        ("sweep.csv", "the table, full precision, one row per run"),
        ("sweep.png", "every run's validation loss per epoch"),
        ("sweep.json", "the plan: swept keys, overrides, every run's values"),
        ("sweep.toml", "the config every run trains from"),
        ("logs/", "what each run printed"),
    ] {
        if dir.join(f).exists() {
            out.push(format!("  {f:10}  {what}"));
        }
    }
    out.push(format!("each run: ae-train show {}", dir.join("NAME").display()));
    Ok(out)
}

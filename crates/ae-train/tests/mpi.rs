//! Data-parallel training under `mpirun` (Open MPI), with the `mpi` feature: two processes that
//! each take half of every batch of 128 train as one process does on the whole batches (the same
//! per-epoch losses to 1e-5), only rank 0 writes; a rank killed with SIGKILL ends the job with an
//! error instead of a hang, and `--resume` under `mpirun` then finishes with the uninterrupted
//! job's losses.
//!
//! The comparison trains with SGD: the two sides differ only in the order of float additions
//! (two shard gradients summed instead of one over the whole batch), and Adam, which divides
//! each step by the root of the gradient's running square, turns a one-ulp difference in a
//! near-zero gradient into a visibly different step within a few epochs. The arithmetic itself
//! is checked exactly, by hand, in ae-models' `tests/replicas.rs`.
#![cfg(feature = "mpi")]

mod common;

use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;

const CONFIG: &str = r#"
name = "mpi_small"
[data]
dataset = "mnist"
limit = 12000
val_fraction = 0.1
[model.network]
kind = "dense"
hidden = [128]
code = 16
output_activation = "sigmoid"
[train]
epochs = 3
batch_size = 128
learning_rate = 0.05
optimizer = "sgd"
momentum = 0.9
seed = 7
"#;

fn mpirun(cwd: &Path, np: usize, args: &[&str]) -> Command {
    let mut c = Command::new("mpirun");
    c.args(["--oversubscribe", "-np", &np.to_string(), env!("CARGO_BIN_EXE_ae-train")])
        .args(args)
        .current_dir(cwd)
        .env("AE_DATA_DIR", data_dir())
        // CI runs as root; Open MPI refuses that unless told it is meant.
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        // Each process on one of the two cores.
        .env("RAYON_NUM_THREADS", "1");
    c
}

fn train_args<'a>(cfg: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut a = vec!["--config", cfg, "--backend", "flex", "--out", out, "--quiet"];
    a.extend(extra);
    a
}

fn run(mut c: Command) -> Output {
    let o = c.output().expect("mpirun (Open MPI: scripts/setup.sh installs it)");
    report_signal(&["mpirun"], &o);
    o
}

/// Per-epoch (train, val) losses.
fn losses(run: &Path) -> Vec<(f64, f64)> {
    metrics(run).iter().map(|m| (m["train_loss"].as_f64().unwrap(), m["val_loss"].as_f64().unwrap())).collect()
}

fn assert_close(a: &[(f64, f64)], b: &[(f64, f64)], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: {a:?} vs {b:?}");
    for (x, y) in a.iter().zip(b) {
        for (u, v) in [(x.0, y.0), (x.1, y.1)] {
            assert!((u - v).abs() <= 1e-5 * v.abs(), "{what}: {a:?} vs {b:?}");
        }
    }
}

/// The scratch folders of ranks above 0 left in the temp folder.
fn scratch_left() -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("ae-train-rank"))
        .collect()
}

/// No scratch folder beyond those there before the test (ones of dead processes may have been
/// cleared meanwhile).
fn assert_no_new_scratch(before: &[String]) {
    let new: Vec<String> = scratch_left().into_iter().filter(|n| !before.contains(n)).collect();
    assert!(new.is_empty(), "scratch folders left behind: {new:?}");
}

#[test]
fn two_processes_train_as_one_and_resume_after_a_rank_is_killed() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "mpi.toml", CONFIG);
    let cfg = cfg.to_str().unwrap();
    let before = scratch_left();

    // One process on the whole batches.
    let mut one = Command::new(env!("CARGO_BIN_EXE_ae-train"));
    one.args(train_args(cfg, "one", &[]))
        .current_dir(tmp.path())
        .env("AE_DATA_DIR", data_dir())
        .env("RAYON_NUM_THREADS", "1");
    let o = run(one);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // Two processes, each half of every batch.
    let o = run(mpirun(tmp.path(), 2, &train_args(cfg, "two", &[])));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_close(&losses(&tmp.path().join("two")), &losses(&tmp.path().join("one")), "2 processes vs 1");
    // Only rank 0 reported and wrote: one `done` line, one run folder, no scratch left behind.
    assert_eq!(stdout(&o).matches("done:").count(), 1, "{}", stdout(&o));
    let mut entries: Vec<String> =
        std::fs::read_dir(tmp.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    entries.sort();
    assert_eq!(entries, ["mpi.toml", "one", "two"]);
    assert_no_new_scratch(&before);
    let s1: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("one/summary.json")).unwrap()).unwrap();
    let s2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tmp.path().join("two/summary.json")).unwrap()).unwrap();
    let (t1, t2) = (s1["test"]["loss"].as_f64().unwrap(), s2["test"]["loss"].as_f64().unwrap());
    assert!((t1 - t2).abs() <= 1e-5 * t1, "test loss {t1} vs {t2}");

    // The same job, its rank 1 killed during epoch 2: the job ends with an error, no hang.
    let killed = tmp.path().join("killed");
    let mut job: Child = mpirun(tmp.path(), 2, &train_args(cfg, "killed", &[]))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::fs::read_to_string(killed.join("metrics.jsonl")).map(|t| t.lines().count()).unwrap_or(0) < 1 {
        assert!(job.try_wait().unwrap().is_none(), "the job ended before a rank could be killed");
        assert!(started.elapsed() < Duration::from_secs(120), "epoch 1 never ended");
        std::thread::sleep(Duration::from_millis(10));
    }
    let rank1 = rank_pid(job.id(), 1).expect("rank 1 among mpirun's processes");
    // SAFETY: kill sends a signal to a process of this test's own job.
    assert_eq!(unsafe { libc::kill(rank1 as i32, libc::SIGKILL) }, 0);
    let ended = Instant::now();
    let o = job.wait_with_output().unwrap();
    assert!(ended.elapsed() < Duration::from_secs(60), "the job hung after a rank died");
    assert_ne!(o.status.code(), Some(0), "a job with a dead rank must fail");
    let said = format!("{}{}", stdout(&o), stderr(&o));
    assert!(said.contains("signal 9") || said.contains("Killed"), "mpirun should name the dead rank: {said}");
    assert!(!killed.join("summary.json").exists());
    let done = metrics(&killed).len();
    assert!(done < 3, "the kill was meant to land before the last epoch ended ({done} written)");

    // --resume under mpirun finishes it with the uninterrupted job's losses.
    let o = run(mpirun(tmp.path(), 2, &train_args(cfg, "killed", &["--resume"])));
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    assert_close(&losses(&killed), &losses(&tmp.path().join("two")), "resumed vs uninterrupted");
    // The killed rank's scratch folder too is gone (cleared as its process no longer exists).
    assert_no_new_scratch(&before);
}

#[test]
fn a_batch_that_does_not_split_over_the_processes_is_refused_by_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "mpi.toml", CONFIG);
    let o = run(mpirun(tmp.path(), 2, &train_args(cfg.to_str().unwrap(), "x", &["--set", "train.batch_size=127"])));
    assert_ne!(o.status.code(), Some(0));
    assert!(
        stderr(&o).contains("train.batch_size") && stderr(&o).contains("multiple of the 2 processes"),
        "{}",
        stderr(&o)
    );
    assert!(!tmp.path().join("x").exists());
}

/// The pid of the process of rank `rank` among the descendants of `root` (Open MPI sets
/// `OMPI_COMM_WORLD_RANK` in each rank's environment).
fn rank_pid(root: u32, rank: usize) -> Option<u32> {
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let children = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace().filter_map(|c| c.parse::<u32>().ok()) {
            let env = std::fs::read(format!("/proc/{child}/environ")).unwrap_or_default();
            let wanted = format!("OMPI_COMM_WORLD_RANK={rank}");
            if env.split(|&b| b == 0).any(|v| v == wanted.as_bytes()) {
                return Some(child);
            }
            queue.push(child);
        }
    }
    None
}

//! Reliability through the binary: a run killed with SIGKILL resumes to the very losses of an
//! uninterrupted one, a kill while a checkpoint is being written leaves the previous one loadable,
//! the same seed gives the same losses, checkpoints of another model or layout are refused by
//! name, and a run folder holding another experiment is not overwritten without `--force`.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ae_train::training::checkpoint;
use ae_train::training::model::{config_hash, init_model};
use common::*;

/// Starts `ae-train` in the background (CPU backend, quiet) on `config` with overrides.
fn spawn(cwd: &Path, config: &Path, out: &Path, sets: &[&str], extra: &[&str]) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ae-train"));
    cmd.args(["--config", config.to_str().unwrap(), "--backend", "flex", "--quiet", "--out", out.to_str().unwrap()]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    cmd.args(extra)
        .current_dir(cwd)
        .env("AE_DATA_DIR", data_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ae-train")
}

/// Polls every 5 ms until `done` holds (or the child exits, or 120 s pass).
fn wait_until(child: &mut Child, what: &str, done: impl Fn() -> bool) {
    let t0 = Instant::now();
    while !done() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("ae-train exited ({status}) before {what}");
        }
        assert!(t0.elapsed() < Duration::from_secs(120), "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Lines of `metrics.jsonl` (0 while it does not exist).
fn epochs_written(run: &Path) -> usize {
    std::fs::read_to_string(run.join("metrics.jsonl")).map(|t| t.lines().count()).unwrap_or(0)
}

/// SIGKILL (what `Child::kill` sends on Unix) and reap.
fn kill(mut child: Child) {
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), None, "the process was killed by a signal, not exited");
}

/// The per-epoch (train_loss, val_loss) of a run folder.
fn losses(run: &Path) -> Vec<(f64, f64)> {
    metrics(run).iter().map(|m| (m["train_loss"].as_f64().unwrap(), m["val_loss"].as_f64().unwrap())).collect()
}

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// MNIST, big enough that an epoch takes a second or more on two busy cores.
const RESUMABLE: &str = r#"
name = "resumable"
[data]
dataset = "mnist"
limit = 4000
[model.corruption]
kind = "masking"
p = 0.2
[model.network]
kind = "dense"
hidden = [96]
code = 8
output_activation = "sigmoid"
[train]
epochs = 3
batch_size = 40
learning_rate = 2e-3
seed = 11
"#;

#[test]
fn sigkill_during_epoch_2_then_resume_gives_the_uninterrupted_losses() {
    // Also with a running average of the weights: validation, test and the saved model use it, so
    // a resume that lost or restarted it would change every number below.
    for sets in [&[][..], &["train.ema_decay=0.9"][..]] {
        let tmp = tempfile::tempdir().unwrap();
        let cfg = write_config(tmp.path(), "r.toml", RESUMABLE);

        let whole = tmp.path().join("whole");
        let o = spawn(tmp.path(), &cfg, &whole, sets, &[]).wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let expected = losses(&whole);
        assert_eq!(expected.len(), 3);

        // Killed as soon as epoch 1 is on disk: epoch 2 is under way.
        let killed = tmp.path().join("killed");
        let mut child = spawn(tmp.path(), &cfg, &killed, sets, &[]);
        wait_until(&mut child, "epoch 1 was written", || epochs_written(&killed) >= 1);
        kill(child);
        assert_eq!(epochs_written(&killed), 1, "the kill was meant to land in epoch 2");
        let ckpt = checkpoint::read(&killed.join("checkpoints/last.ckpt")).unwrap();
        assert_eq!(ckpt.meta.epoch, 1);
        assert_eq!(ckpt.has_average(), !sets.is_empty());
        assert!(!killed.join("summary.json").exists());

        // A plain rerun is refused; --resume finishes the run.
        let o = spawn(tmp.path(), &cfg, &killed, sets, &[]).wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let o = spawn(tmp.path(), &cfg, &killed, sets, &["--resume"]).wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let resumed = losses(&killed);
        assert_eq!(resumed, expected, "{sets:?}: resumed losses differ from the uninterrupted run");
        // The final models are the same too: the same test metrics to the last bit.
        let test = |run: &Path| {
            let s: serde_json::Value =
                serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
            (s["test"]["loss"].as_f64().unwrap(), s["test"]["mse"].as_f64().unwrap())
        };
        assert_eq!(test(&killed), test(&whole), "{sets:?}");
    }
}

/// Tiny data, a wide layer: most of the time goes into writing checkpoints (~19 MB each).
const SAVE_HEAVY: &str = r#"
name = "save_heavy"
[data]
dataset = "shapes"
limit = 48
[model.network]
kind = "dense"
hidden = [1024]
code = 4
output_activation = "sigmoid"
[train]
epochs = 10000
batch_size = 48
learning_rate = 1e-3
seed = 2
"#;

/// Whether a checkpoint file loads into the model of `config`: metadata, weights, optimizer.
fn loads(config: &Path, path: &Path) -> Result<usize, String> {
    let cfg = ae_train::config::load(config, &[]).unwrap().config;
    let shape = [1, 28, 28];
    let device = ae_train::backend::init_device().unwrap().autodiff();
    let model = init_model(&cfg, &shape, &device).unwrap();
    let optims = ae_models::step::Optimizers::new(&model, || ae_train::training::fit::optimizer(&cfg.train));
    let ckpt = checkpoint::read(path).map_err(|e| e.message)?;
    let model = ckpt.load_model(model, &config_hash(&cfg, &shape), path).map_err(|e| e.message)?;
    ckpt.load_optimizers(optims, &device, path).map_err(|e| e.message)?;
    drop(model);
    Ok(ckpt.meta.epoch)
}

#[test]
fn kills_while_saving_leave_the_previous_checkpoint_loadable() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "s.toml", SAVE_HEAVY);
    let run = tmp.path().join("run");
    let last = run.join("checkpoints/last.ckpt");
    let temps = || -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(run.join("checkpoints")) else { return Vec::new() };
        entries
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp-"))
            .collect()
    };
    let mut mid_write = 0;
    let mut epoch = 0;
    let attempts = 8;
    for attempt in 1..=attempts {
        let extra: &[&str] = if attempt == 1 { &[] } else { &["--resume"] };
        let mut child = spawn(tmp.path(), &cfg, &run, &[], extra);
        // Wait for this process's first checkpoint (metrics.jsonl is written after the
        // checkpoints of its epoch; leftovers of the last kill are cleared by then) ...
        wait_until(&mut child, "a checkpoint was written", || epochs_written(&run) > epoch);
        if attempt % 2 == 0 {
            // ... then kill as soon as a checkpoint is being written,
            wait_until(&mut child, "a checkpoint is being written", || !temps().is_empty());
        } else {
            // ... or at a varying moment.
            std::thread::sleep(Duration::from_millis(29 * attempt as u64));
        }
        kill(child);
        if !temps().is_empty() {
            mid_write += 1;
        }
        // Whatever the kill interrupted, `last` and `best` are whole checkpoints of this model.
        epoch = loads(&cfg, &last).unwrap_or_else(|e| panic!("attempt {attempt}: last.ckpt does not load: {e}"));
        loads(&cfg, &run.join("checkpoints/best.ckpt")).unwrap();
        assert!(epoch >= 1);
    }
    eprintln!("{mid_write} of {attempts} kills landed while a checkpoint was being written (last epoch {epoch})");
    assert!(mid_write >= 2, "only {mid_write} of {attempts} kills landed while a checkpoint was being written");

    // A temp file left behind is never taken for a checkpoint: resuming continues from `last`
    // (and clears the leftovers).
    let o = spawn(tmp.path(), &cfg, &run, &[&format!("train.epochs={}", epoch + 1)], &["--resume"])
        .wait_with_output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(epochs_written(&run), epoch + 1);
    let left: Vec<String> = std::fs::read_dir(run.join("checkpoints"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.iter().all(|n| n == "last.ckpt" || n == "best.ckpt"), "{left:?}");
}

#[test]
fn same_seed_same_losses_other_seed_other_losses() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let sets = ["data.limit=1000", "train.epochs=2"];
    let run = |out: &str, seed: &str| {
        let out = tmp.path().join(out);
        let mut s = sets.to_vec();
        s.push(seed);
        let o = spawn(tmp.path(), &cfg, &out, &s, &[]).wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        losses(&out)
    };
    let a = run("a", "train.seed=5");
    let b = run("b", "train.seed=5");
    let c = run("c", "train.seed=6");
    assert_eq!(a.len(), 2);
    assert_eq!(a, b, "the same seed gave different losses");
    assert_ne!(a[0].0, c[0].0, "another seed gave the same loss");
}

#[test]
fn resuming_with_another_model_or_a_foreign_checkpoint_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let run = tmp.path().join("run");
    let base = ["data.limit=300", "train.epochs=1"];
    let o = spawn(tmp.path(), &cfg, &run, &base, &[]).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let last = run.join("checkpoints/last.ckpt");
    let good = std::fs::read(&last).unwrap();
    let before = snapshot(&run);
    let resume = |sets: &[&str]| {
        let mut s = base.to_vec();
        s.push("train.epochs=2");
        s.extend(sets);
        let o = spawn(tmp.path(), &cfg, &run, &s, &["--resume"]).wait_with_output().unwrap();
        let e = stderr(&o);
        assert!(!e.contains("panicked"), "{e}");
        (o.status.code(), e)
    };

    // Another architecture.
    for set in ["model.network.hidden=[32]", "model.network.code=5", "model.bottleneck.kind=\"gaussian\""] {
        let (code, e) = resume(&[set]);
        assert_eq!(code, Some(1), "{set}: {e}");
        assert!(e.contains("last.ckpt") && e.contains("different model"), "{set}: {e}");
    }
    // A future layout version, a future format version in the metadata, a truncated file.
    let mut future = good.clone();
    future[7] = 9;
    let mut meta_version = good.clone();
    let at = good.windows(17).position(|w| w == b"\"format_version\":").expect("metadata names its version") + 17;
    assert_eq!(meta_version[at], b'2');
    meta_version[at] = b'7';
    let cases: [(Vec<u8>, &str); 4] = [
        (future, "layout version 9"),
        // Same length, so that the sections still line up.
        (meta_version, "format version 7"),
        (good[..good.len() / 3].to_vec(), "truncated"),
        (b"PK\x03\x04 a zip file".to_vec(), "AECKPT magic"),
    ];
    for (bytes, want) in cases {
        std::fs::write(&last, &bytes).unwrap();
        let (code, e) = resume(&[]);
        assert_eq!(code, Some(1), "{want}: {e}");
        assert!(e.contains("last.ckpt") && e.contains(want), "{want}: {e}");
    }
    std::fs::write(&last, &good).unwrap();
    assert_eq!(snapshot(&run), before, "a refused resume changed the run folder");
}

#[test]
fn another_experiments_run_folder_is_kept_unless_forced() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let other = write_config(tmp.path(), "o.toml", &MNIST_SMALL.replace("mnist_small", "other_experiment"));
    let run = tmp.path().join("run");
    let sets = ["data.limit=300", "train.epochs=1"];
    let o = spawn(tmp.path(), &cfg, &run, &sets, &[]).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    std::fs::write(run.join("notes.txt"), "mine").unwrap();
    let before = snapshot(&run);

    for extra in [&[][..], &["--resume"][..]] {
        let o = spawn(tmp.path(), &other, &run, &sets, extra).wait_with_output().unwrap();
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {e}");
        assert!(e.contains(run.to_str().unwrap()) && !e.contains("panicked"), "{e}");
        if extra.is_empty() {
            assert!(e.contains("already holds a run") && e.contains("--force"), "{e}");
        } else {
            assert!(e.contains("mnist_small") && e.contains("other_experiment"), "{e}");
        }
        assert_eq!(snapshot(&run), before, "{extra:?}: a refused run changed the folder");
    }

    // --force replaces the run's own files and keeps the others.
    let o = spawn(tmp.path(), &other, &run, &sets, &["--force"]).wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(config.contains("name = \"other_experiment\""), "{config}");
    assert_eq!(std::fs::read_to_string(run.join("notes.txt")).unwrap(), "mine");
}

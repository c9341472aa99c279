//! `ae-train sweep` through the binary: a 2x2 grid on real MNIST gives four run folders and a
//! table whose every cell is the run's own; a sweep killed mid-way (SIGKILL, runs under way)
//! resumes to the same table; a bad grid key fails before anything is created, naming the key.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const GRID: [&str; 4] = ["--grid", "model.network.code=4,8", "--grid", "train.learning_rate=1e-3,3e-3"];
const NAMES: [&str; 4] = [
    "00_code=4_learning_rate=1e-3",
    "01_code=4_learning_rate=3e-3",
    "02_code=8_learning_rate=1e-3",
    "03_code=8_learning_rate=3e-3",
];

fn sweep_args<'a>(cfg: &'a str, out: &'a str) -> Vec<&'a str> {
    let mut args = vec!["sweep", "--config", cfg, "--backend", "flex", "--parallel", "2", "--out", out, "--quiet"];
    args.extend(GRID);
    args.extend(["--set", "train.epochs=3"]);
    args
}

/// `sweep.csv` as rows of cells (header first), without the time column (the one thing a rerun
/// changes).
fn table_without_time(dir: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(dir.join("sweep.csv")).expect("sweep.csv");
    let header = r.headers().unwrap().clone();
    let time = header.iter().position(|h| h == "train_seconds").expect("a train_seconds column");
    std::iter::once(header)
        .chain(r.records().map(Result::unwrap))
        .map(|rec| rec.iter().enumerate().filter(|(i, _)| *i != time).map(|(_, c)| c.to_string()).collect())
        .collect()
}

#[test]
fn a_two_by_two_grid_trains_four_runs_and_tables_their_own_numbers_and_resumes_after_sigkill() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "small.toml", MNIST_SMALL);
    let cfg = cfg.to_str().unwrap();

    // The uninterrupted sweep.
    let o = ae_train(tmp.path(), &sweep_args(cfg, "whole"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let whole = tmp.path().join("whole");
    let mut r = csv::Reader::from_path(whole.join("sweep.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(&header[..4], ["run", "model.network.code", "train.learning_rate", "status"]);
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 4);
    let mut best = (f64::INFINITY, String::new());
    for (rec, name) in records.iter().zip(NAMES) {
        assert_eq!(&rec[0], name);
        let run = whole.join(name);
        // Each run trained with its own values, for the swept keys only.
        let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
        let config: toml::Table = toml::from_str(&config).unwrap();
        assert_eq!(config["model"]["network"]["code"].as_integer().unwrap().to_string(), rec[1]);
        assert_eq!(config["train"]["learning_rate"].as_float().unwrap(), rec[2].parse::<f64>().unwrap());
        assert_eq!(config["train"]["epochs"].as_integer(), Some(3));
        assert_eq!(&rec[col("status")], "done");
        // Its cells are its own metrics and summary.
        let m = metrics(&run);
        assert_eq!(m.len(), 3);
        assert_eq!(rec[col("train_loss")].parse::<f64>().unwrap(), m[2]["train_loss"].as_f64().unwrap());
        assert_eq!(rec[col("val_loss")].parse::<f64>().unwrap(), m[2]["val_loss"].as_f64().unwrap());
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
        let best_loss = summary["best_loss"].as_f64().unwrap();
        assert_eq!(rec[col("best_loss")].parse::<f64>().unwrap(), best_loss);
        assert_eq!(rec[col("test_loss")].parse::<f64>().unwrap(), summary["test"]["loss"].as_f64().unwrap());
        if best_loss < best.0 {
            best = (best_loss, name.to_string());
        }
    }
    // The best run is the one with the lowest best loss, flagged in the CSV and named in the markdown.
    for rec in &records {
        assert_eq!(&rec[col("best")], if rec[0] == best.1 { "true" } else { "false" });
    }
    let md = std::fs::read_to_string(whole.join("sweep.md")).unwrap();
    assert!(md.contains(&format!("best run: {} (best loss {:.6}", best.1, best.0)), "{md}");
    assert_eq!(md.lines().filter(|l| l.starts_with("| 0")).count(), 4, "{md}");
    assert!(stdout(&o).contains(&format!("best run: {}", best.1)), "{}", stdout(&o));
    let png = image::open(whole.join("sweep.png")).expect("the curves' picture");
    assert!(png.width() > 100 && png.height() > 100);
    // `show` of the sweep folder prints its table.
    let o = ae_train(tmp.path(), &["show", "whole"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for name in NAMES {
        assert!(stdout(&o).contains(name), "{}", stdout(&o));
    }

    // The same sweep, killed with SIGKILL while its first two runs are in epoch 2 or later.
    let killed = tmp.path().join("killed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_ae-train"))
        .args(sweep_args(cfg, "killed"))
        .current_dir(tmp.path())
        .env("AE_DATA_DIR", data_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let epochs = |name: &str| {
        std::fs::read_to_string(killed.join(name).join("metrics.jsonl")).map(|t| t.lines().count()).unwrap_or(0)
    };
    while epochs(NAMES[0]) < 1 || epochs(NAMES[1]) < 1 {
        assert!(child.try_wait().unwrap().is_none(), "the sweep ended before it could be killed");
        assert!(started.elapsed() < Duration::from_secs(300), "no run wrote its first epoch");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // Its runs end with it (nothing writes into the folder any more).
    std::thread::sleep(Duration::from_millis(500));
    let frozen: Vec<usize> = NAMES.iter().map(|n| epochs(n)).collect();
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(
        frozen,
        NAMES.iter().map(|n| epochs(n)).collect::<Vec<_>>(),
        "a run kept training after the sweep was killed"
    );
    assert!(frozen[0] < 3 || frozen[1] < 3, "the kill was meant to land while runs were training: {frozen:?}");
    assert!(!killed.join(NAMES[3]).join("summary.json").exists());

    // Starting it again is refused; --resume continues it to the uninterrupted table.
    let o = ae_train(tmp.path(), &sweep_args(cfg, "killed"));
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--resume"), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["sweep", "--resume", "--out", "killed", "--quiet", "--parallel", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(table_without_time(&killed), table_without_time(&whole));
    // Epoch by epoch, every run has the uninterrupted run's losses (the seconds differ).
    let losses = |run: &Path| -> Vec<serde_json::Value> {
        let mut m = metrics(run);
        m.iter_mut().for_each(|e| e.as_object_mut().unwrap().retain(|k, _| k.ends_with("loss") || k == "epoch"));
        m
    };
    for name in NAMES {
        assert_eq!(losses(&killed.join(name)), losses(&whole.join(name)), "{name}");
    }
}

#[test]
fn bad_grid_keys_and_values_fail_before_anything_is_created() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "small.toml", MNIST_SMALL);
    let cfg = cfg.to_str().unwrap();
    for (grid, says) in [
        ("model.network.coda=4,8", "coda"),
        ("train.learning_rate=1e-3,fast", "train.learning_rate"),
        ("train.epochs=2,0", "train.epochs"),
    ] {
        let o = ae_train(tmp.path(), &["sweep", "--config", cfg, "--grid", grid, "--out", "sw", "--quiet"]);
        assert_eq!(o.status.code(), Some(2), "{grid}: {}", stderr(&o));
        assert!(stderr(&o).contains(says) && stderr(&o).contains("--grid"), "{grid}: {}", stderr(&o));
        assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
        assert!(!tmp.path().join("sw").exists(), "{grid}: the sweep folder was created");
    }
    let o =
        ae_train(tmp.path(), &["sweep", "--config", cfg, "--range", "train.learning_rate=1e-3:1e-2", "--out", "sw"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--random"), "{}", stderr(&o));
    assert!(!tmp.path().join("sw").exists());
}

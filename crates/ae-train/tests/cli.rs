//! The command-line contract, by running the binary: exit codes, messages, the run folder.

mod common;

use common::*;

#[test]
fn no_arguments_is_a_usage_error() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &[]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("Usage"), "{}", stderr(&o));
}

#[test]
fn unknown_flag_and_bad_backend_value_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &["--config", "quickstart.toml", "--bogus"]);
    assert_eq!(o.status.code(), Some(2));
    let o = ae_train(tmp.path(), &["--config", "quickstart.toml", "--backend", "tpu"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("tpu"), "{}", stderr(&o));
}

#[test]
fn missing_config_names_the_places_looked() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &["--config", "nope.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.starts_with("error: config file not found: nope.toml"), "{e}");
    assert!(e.contains("configs/nope.toml"), "{e}");
}

#[test]
fn config_errors_name_file_key_and_line_without_panicking() {
    let tmp = tempfile::tempdir().unwrap();
    let bad = MNIST_SMALL.replace("code = 8", "code = 8\ncode_size = 3");
    let p = write_config(tmp.path(), "bad.toml", &bad);
    let o = ae_train(tmp.path(), &["--config", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("bad.toml: key `model.network` (line 10): unknown field `code_size`"), "{e}");
    assert!(!e.contains("panicked") && !e.contains("RUST_BACKTRACE"), "{e}");
    // A bad override is reported as such.
    let p = write_config(tmp.path(), "good.toml", MNIST_SMALL);
    let o = ae_train(tmp.path(), &["--config", p.to_str().unwrap(), "--set", "train.learning_rate=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("key `train.learning_rate`"), "{}", stderr(&o));
    // Nothing was written for a config that failed validation.
    assert!(!tmp.path().join("runs").exists());
}

#[test]
fn missing_dataset_exits_1_with_paths_and_fetch_command() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ae-train"))
        .args(["--config", p.to_str().unwrap(), "--backend", "flex"])
        .current_dir(tmp.path())
        .env("AE_DATA_DIR", tmp.path().join("empty"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(e.contains("dataset `mnist` not found"), "{e}");
    assert!(e.contains("empty/mnist/train-images-idx3-ubyte.gz"), "{e}");
    assert!(e.contains("scripts/fetch-datasets.sh mnist"), "{e}");
}

#[test]
fn config_names_resolve_in_the_configs_folder() {
    // `--config quickstart.toml` from any folder finds configs/experiments/quickstart.toml; a failing
    // override shows that it was found and parsed.
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &["--config", "quickstart.toml", "--set", "train.epochs=0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("configs/experiments/quickstart.toml: key `train.epochs`"), "{}", stderr(&o));
}

#[test]
fn trains_on_real_mnist_with_falling_loss_and_a_complete_run_folder() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let o = ae_train(tmp.path(), &["--config", p.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
    let run = tmp.path().join("runs/mnist_small");
    let m = metrics(&run);
    assert_eq!(m.len(), 3);
    let losses: Vec<f64> = m.iter().map(|l| l["train_loss"].as_f64().unwrap()).collect();
    assert!(losses[2] < losses[0] * 0.8, "training loss did not fall: {losses:?}");
    for key in ["epoch", "train_loss", "val_loss", "seconds", "samples_per_s"] {
        assert!(m[0].get(key).is_some_and(|v| !v.is_null()), "metrics line lacks {key}: {}", m[0]);
    }
    for f in [
        "config.toml",
        "normalizer.json",
        "summary.json",
        "model.bpk",
        "reconstructions.png",
        "checkpoints/last.ckpt",
        "checkpoints/best.ckpt",
    ] {
        assert!(run.join(f).is_file(), "run folder lacks {f}");
    }
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["backend"], "flex");
    assert_eq!(summary["items"]["train"], 1800);
    assert_eq!(summary["items"]["val"], 200);
    assert_eq!(summary["items"]["test"], 2000);
    let test_mse = summary["test"]["mse"].as_f64().unwrap();
    assert!(test_mse > 0.0 && test_mse < 0.06, "test MSE {test_mse}");
    // The PNG decodes: two rows of 10 items, 28x28 each zoomed x2 with 4-pixel gaps.
    let img = image::open(run.join("reconstructions.png")).unwrap();
    assert_eq!((img.width(), img.height()), (10 * 60 + 4, 2 * 60 + 4));
    // The resolved config parses again and names the same experiment.
    let resolved = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert!(resolved.contains("name = \"mnist_small\"") && resolved.contains("val_fraction = 0.1"), "{resolved}");

    // The folder is not overwritten by accident...
    let o = ae_train(tmp.path(), &["--config", p.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already holds a run"), "{}", stderr(&o));
    // ...and --resume continues it where it stopped, with the same history.
    let o = ae_train(
        tmp.path(),
        &["--config", p.to_str().unwrap(), "--backend", "flex", "--resume", "--set", "train.epochs=4"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m2 = metrics(&run);
    assert_eq!(m2.len(), 4);
    assert_eq!(m2[..3], m[..3]);
    // Resuming with another architecture is refused with a clear error.
    let o = ae_train(
        tmp.path(),
        &[
            "--config",
            p.to_str().unwrap(),
            "--backend",
            "flex",
            "--resume",
            "--set",
            "model.network.code=9",
            "--set",
            "train.epochs=5",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("different model"), "{}", stderr(&o));
}

#[test]
fn divergence_stops_with_epoch_and_step_and_exit_1() {
    let tmp = tempfile::tempdir().unwrap();
    let o = train(
        tmp.path(),
        "satellite_2d.toml",
        &["train.optimizer=\"sgd\"", "train.learning_rate=10.0", "train.log_every=1"],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("training diverged") && e.contains("in epoch 1") && e.contains("at step"), "{e}");
    assert!(!tmp.path().join("runs/satellite_2d/summary.json").exists());
}

#[test]
fn early_stopping_keeps_the_best_model() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    // 180 training images, a large learning rate: the validation loss stops improving long before
    // epoch 60, and patience 2 ends the run.
    let sets =
        ["data.limit=200", "train.batch_size=20", "train.learning_rate=0.05", "train.epochs=60", "train.patience=2"];
    let o = train(tmp.path(), p.to_str().unwrap(), &sets, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = tmp.path().join("runs/mnist_small");
    let m = metrics(&run);
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["stopped_early"], true);
    let vals: Vec<f64> = m.iter().map(|l| l["val_loss"].as_f64().unwrap()).collect();
    let best = vals.iter().cloned().fold(f64::INFINITY, f64::min);
    let best_epoch = vals.iter().position(|&v| v == best).unwrap() + 1;
    assert_eq!(summary["best_loss"].as_f64().unwrap(), best);
    assert_eq!(summary["best_epoch"].as_u64().unwrap() as usize, best_epoch);
    // It stopped exactly `patience` epochs after the best one.
    assert_eq!(m.len(), best_epoch + 2, "{vals:?}");
}

#[test]
fn sgd_with_momentum_trains() {
    let tmp = tempfile::tempdir().unwrap();
    let p = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let sets = ["train.optimizer=\"sgd\"", "train.momentum=0.9", "train.learning_rate=1.0"];
    let o = train(tmp.path(), p.to_str().unwrap(), &sets, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = metrics(&tmp.path().join("runs/mnist_small"));
    let losses: Vec<f64> = m.iter().map(|l| l["train_loss"].as_f64().unwrap()).collect();
    assert!(losses[2] < losses[0] * 0.7, "{losses:?}");
}

#[test]
fn data_info_prints_counts_per_split_and_class() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &["data", "info", "satellite"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["item_shape"], serde_json::json!([36]));
    assert_eq!(v["classes"], 6);
    assert_eq!(v["splits"]["train"]["items"], 4435);
    assert_eq!(v["splits"]["test"]["per_class"], serde_json::json!([461, 224, 397, 211, 237, 470]));
    let o = ae_train(tmp.path(), &["data", "info", "mnits"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown dataset `mnits`"), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["data", "info", "mnist", "--root", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("scripts/fetch-datasets.sh mnist"), "{}", stderr(&o));
}

#[test]
fn reconstruct_writes_per_item_errors_matching_the_test_loss() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let p = write_config(tmp.path(), "m.toml", MNIST_SMALL);
    let o = train(tmp.path(), p.to_str().unwrap(), &["train.epochs=1"], &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["reconstruct", out.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let csv = std::fs::read_to_string(out.join("reconstruct.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "item,label,error");
    assert_eq!(rows.len(), 2001);
    // The mean of the per-item errors is the run's test MSE (the loss is MSE, items equally sized).
    let mean: f64 =
        rows[1..].iter().map(|r| r.rsplit(',').next().unwrap().parse::<f64>().unwrap()).sum::<f64>() / 2000.0;
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
    let test_mse = summary["test"]["mse"].as_f64().unwrap();
    assert!((mean - test_mse).abs() < 1e-5 * test_mse.max(1.0), "{mean} vs {test_mse}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("reconstruct.json")).unwrap()).unwrap();
    assert!(report["max_error"].as_f64().unwrap() >= report["median_error"].as_f64().unwrap());
    assert!(image::open(out.join("reconstruct.png")).is_ok());
}

/// Started by an MPI launcher as one of several processes, a build without the `mpi` feature
/// refuses to train alone in N copies and says how to build one that does not.
#[cfg(not(feature = "mpi"))]
#[test]
fn an_mpi_launch_of_a_build_without_mpi_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ae-train"))
        .args(["--config", "quickstart.toml", "--out", "run"])
        .current_dir(tmp.path())
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("one of 2 processes") && stderr(&o).contains("--features mpi"), "{}", stderr(&o));
    assert!(!tmp.path().join("run").exists());
}

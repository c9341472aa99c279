//! `train.precision` through the binary: f16 and bf16 runs of a conv autoencoder on real MNIST
//! train to the f32 run's loss, f16 records its loss scale in the metrics and the checkpoint and
//! resumes to the uninterrupted run's losses, and an unknown format or a network that cannot
//! mix formats (batch norm) is a usage error naming the key.

mod common;

use common::*;

const CONV: &str = r#"
name = "mnist_conv_small"
[data]
dataset = "mnist"
limit = 600
[model.network]
kind = "conv"
channels = [8, 16]
code = 16
output_activation = "sigmoid"
[train]
epochs = 3
batch_size = 50
learning_rate = 3e-3
seed = 5
"#;

fn losses(run: &std::path::Path) -> Vec<f64> {
    metrics(run).iter().map(|m| m["train_loss"].as_f64().unwrap()).collect()
}

#[test]
fn half_precision_runs_train_to_the_f32_loss_and_record_the_loss_scale() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "conv.toml", CONV);
    let cfg = cfg.to_str().unwrap();
    let run = |name: &str, sets: &[&str], extra: &[&str]| {
        let o = train(tmp.path(), cfg, sets, &[&["--out", name][..], extra].concat());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        tmp.path().join(name)
    };
    let f32_losses = losses(&run("f32", &[], &[]));
    for precision in ["f16", "bf16"] {
        let set = format!("train.precision=\"{precision}\"");
        let dir = run(precision, &[&set], &[]);
        let l = losses(&dir);
        assert!(l[2] < l[0], "{precision}: {l:?}");
        let gap = (l[2] - f32_losses[2]).abs() / f32_losses[2];
        assert!(gap < 0.05, "{precision}: final loss {} vs f32 {} ({gap:.3})", l[2], f32_losses[2]);
        let m = metrics(&dir);
        let ckpt = ae_train::training::checkpoint::read(&dir.join("checkpoints/last.ckpt")).unwrap();
        if precision == "f16" {
            let scale = m[2]["loss_scale"].as_f64().expect("f16 epochs record the loss scale");
            assert!(scale >= 1.0 && scale.log2().fract() == 0.0, "{scale}");
            assert!(m[2]["skipped_steps"].as_u64().unwrap() < 10, "{:?}", m[2]);
            assert_eq!(ckpt.meta.loss_scale.as_ref().map(|s| s.scale()), Some(scale));
        } else {
            assert!(m[2].get("loss_scale").is_none() && ckpt.meta.loss_scale.is_none());
        }
        // The config written to the run folder keeps the setting.
        let written = std::fs::read_to_string(dir.join("config.toml")).unwrap();
        assert!(written.contains(&format!("precision = \"{precision}\"")), "{written}");
    }
}

#[test]
fn f16_training_stopped_and_resumed_gives_the_uninterrupted_losses() {
    // A dense model: its CPU sums are bit-repeatable, so "the same" means every bit.
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "dense.toml", MNIST_SMALL);
    let cfg = cfg.to_str().unwrap();
    let set = "train.precision=\"f16\"";
    let run = |name: &str, sets: &[&str], extra: &[&str]| {
        let o = train(tmp.path(), cfg, sets, &[&["--out", name][..], extra].concat());
        assert_eq!(o.status.code(), Some(0), "{name}: {}", stderr(&o));
        tmp.path().join(name)
    };
    let whole = losses(&run("whole", &[set], &[]));
    run("resumed", &[set, "train.epochs=2"], &[]);
    let ckpt = ae_train::training::checkpoint::read(&tmp.path().join("resumed/checkpoints/last.ckpt")).unwrap();
    assert!(ckpt.meta.loss_scale.is_some(), "the checkpoint keeps the loss scale");
    let resumed = losses(&run("resumed", &[set], &["--resume"]));
    assert_eq!(resumed, whole);
}

#[test]
fn an_unknown_precision_or_a_batch_norm_network_is_a_usage_error_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "conv.toml", CONV);
    let o = train(tmp.path(), cfg.to_str().unwrap(), &["train.precision=\"fp8\""], &["--out", "bad"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("precision") && e.contains("fp8"), "{e}");
    assert!(!e.contains("panicked"), "{e}");
    assert!(!tmp.path().join("bad/model.bpk").exists());

    // Batch norm keeps f32 running statistics: refused before training, naming the key.
    let o = train(
        tmp.path(),
        cfg.to_str().unwrap(),
        &["train.precision=\"bf16\"", "model.network.batch_norm=true"],
        &["--out", "bn"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("train.precision") && e.contains("batch norm") && e.contains("conv.toml"), "{e}");
    assert!(!tmp.path().join("bn/model.bpk").exists());
}

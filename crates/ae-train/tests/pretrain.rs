//! Greedy layer-wise pretraining: every layer is trained as a shallow autoencoder with a falling
//! loss, the fine-tuning starts from a better point than a random initialisation, and models it
//! cannot pretrain are refused by key.

mod common;

use common::*;

#[test]
fn pretraining_trains_each_layer_and_helps_the_start() {
    let tmp = tempfile::tempdir().unwrap();
    let base = ["data.limit=3000", "train.epochs=1", "model.network.hidden=[256, 64]", "model.network.code=16"];
    let o = train(tmp.path(), "mnist_deep.toml", &base, &["--out", "plain"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut sets = base.to_vec();
    sets.push("train.pretrain_epochs=3");
    let o = train(tmp.path(), "mnist_deep.toml", &sets, &["--out", "pre"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));

    // 784-256-64-16: three layers, each trained 3 epochs with a falling loss.
    for i in 0..3 {
        let text = std::fs::read_to_string(tmp.path().join(format!("pre/pretrain/layer{i}.jsonl"))).unwrap();
        let losses: Vec<f64> = text
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["train_loss"].as_f64().unwrap())
            .collect();
        assert_eq!(losses.len(), 3, "layer {i}");
        assert!(losses[2] < losses[0], "layer {i}: {losses:?}");
    }
    assert!(!tmp.path().join("pre/pretrain/layer3.jsonl").exists());
    // Fine-tuning from pretrained layers starts well below a random start (same seed, same data).
    let first = |run: &str| metrics(&tmp.path().join(run))[0]["train_loss"].as_f64().unwrap();
    let (plain, pre) = (first("plain"), first("pre"));
    assert!(pre < 0.8 * plain, "pretrained {pre} vs plain {plain}");

    // Only dense, untied, deterministic models can be pretrained.
    let o = train(tmp.path(), "k_sparse.toml", &["train.pretrain_epochs=2"], &["--out", "ks"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("train.pretrain_epochs"), "{}", stderr(&o));
}

//! wgpu and the CPU backend agree on a short training run (same seed: same initial weights, same
//! data order, no noise). Without a GPU, wgpu runs on Mesa's lavapipe (`scripts/setup.sh`
//! installs it); CI sets AE_REQUIRE_WGPU=1 so that a missing adapter fails instead of skipping.

mod common;

use common::*;

#[test]
fn wgpu_and_flex_agree_on_a_short_training_run() {
    let tmp = tempfile::tempdir().unwrap();
    let probe = ae_train(tmp.path(), &["backends"]);
    let listing = stdout(&probe);
    if !listing.contains("wgpu adapter:")
        || !listing.lines().any(|l| l.starts_with("compiled backends:") && l.contains("wgpu"))
    {
        assert!(
            std::env::var_os("AE_REQUIRE_WGPU").is_none(),
            "AE_REQUIRE_WGPU is set but wgpu has no adapter:\n{listing}{}",
            stderr(&probe)
        );
        eprintln!("skipping: no wgpu adapter here (install mesa-vulkan-drivers):\n{listing}");
        return;
    }
    // The shader compiler wgpu runs: SPIR-V in a `vulkan` build on an adapter with what cubecl's
    // SPIR-V compiler needs (lavapipe has it), WGSL otherwise.
    let shaders = if cfg!(feature = "vulkan") { "SPIR-V shaders" } else { "WGSL shaders" };
    assert!(
        listing.lines().any(|l| l.starts_with("wgpu selects: ") && l.ends_with(shaders)),
        "no `wgpu selects: ... {shaders}` line:\n{listing}"
    );
    let cfg = write_config(tmp.path(), "agree.toml", MNIST_SMALL);
    let mut runs = Vec::new();
    for backend in ["wgpu", "flex"] {
        let out = tmp.path().join(backend);
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_ae-train"))
            .args(["--config", cfg.to_str().unwrap(), "--backend", backend, "--out", out.to_str().unwrap()])
            .args(["--set", "data.limit=600", "--set", "train.epochs=2"])
            .env("AE_DATA_DIR", data_dir())
            // Kernel autotuning is for speed, and costs minutes on a software adapter.
            .env("CUBECL_AUTOTUNE_LEVEL", "minimal")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{backend}: {}", stderr(&o));
        let summary: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("summary.json")).unwrap()).unwrap();
        assert_eq!(summary["backend"], backend);
        runs.push((metrics(&out), summary));
    }
    let (wgpu, flex) = (&runs[0], &runs[1]);
    for (a, b) in wgpu.0.iter().zip(&flex.0) {
        for key in ["train_loss", "val_loss"] {
            let (x, y) = (a[key].as_f64().unwrap(), b[key].as_f64().unwrap());
            assert!((x - y).abs() < 1e-4, "epoch {}: {key} wgpu {x} vs flex {y}", a["epoch"]);
        }
    }
    let (x, y) = (wgpu.1["test"]["mse"].as_f64().unwrap(), flex.1["test"]["mse"].as_f64().unwrap());
    assert!((x - y).abs() < 1e-4, "test MSE wgpu {x} vs flex {y}");
}

//! `ae-train denoise` on a run trained on real CIFAR-10 images.

mod common;

use common::*;

#[test]
fn denoise_reports_psnr_and_ssim_before_and_after() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let o = train(
        tmp.path(),
        "denoising_cifar.toml",
        &["data.limit=500", "train.epochs=1"],
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["denoise", out.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("PSNR"), "{}", stdout(&o));
    let r: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("denoise.json")).unwrap()).unwrap();
    assert_eq!(r["items"], 100);
    assert_eq!(r["corruption"]["kind"], "gaussian");
    // Gaussian noise of sigma 0.1 clipped to [0, 1]: about 20.3 dB on CIFAR images (MSE a bit
    // under 0.01 because clipping removes some of the noise at dark and bright pixels).
    let noisy = r["psnr_noisy"].as_f64().unwrap();
    assert!((19.8..21.0).contains(&noisy), "noisy PSNR {noisy}");
    let s = r["ssim_noisy"].as_f64().unwrap();
    assert!(s > 0.3 && s < 0.9, "noisy SSIM {s}");
    assert!(r["psnr_denoised"].as_f64().unwrap().is_finite());
    let img = image::open(out.join("denoise.png")).unwrap();
    assert_eq!(img.height(), 3 * (64 + 4) + 4);

    // The same again: the noise is seeded, so the report is identical.
    let first = std::fs::read(out.join("denoise.json")).unwrap();
    let o = ae_train(tmp.path(), &["denoise", out.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(std::fs::read(out.join("denoise.json")).unwrap(), first);
}

#[test]
fn denoise_refuses_what_it_cannot_measure() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ae_train(tmp.path(), &["denoise", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not a run folder"), "{}", stderr(&o));
    // A run without corruption needs --sigma; non-image data cannot be measured.
    let out = tmp.path().join("sat");
    let o = train(tmp.path(), "satellite_2d.toml", &["train.epochs=1"], &["--out", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["denoise", out.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--sigma"), "{}", stderr(&o));
    let o = ae_train(tmp.path(), &["denoise", out.to_str().unwrap(), "--backend", "flex", "--sigma", "0.1"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("images with values in [0, 1]"), "{}", stderr(&o));
}

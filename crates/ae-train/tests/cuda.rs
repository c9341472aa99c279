//! The CUDA backend on a machine without a GPU: every missing piece (driver, device, NVRTC,
//! headers, a driver too old, a device that fails to start) is an error naming it, with exit
//! code 1 and no panic, and `ae-train backends` lists what is there. A stand-in driver and NVRTC
//! (`fake_cuda/*.c`, built with the C compiler `scripts/setup.sh` installs) play the parts a real
//! installation would have. On a machine with a real driver the no-driver case is skipped.
#![cfg(feature = "cuda")]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::*;

/// Builds `fake_cuda/<lib>.c` into `dir/<file>`.
fn build_fake(dir: &Path, lib: &str, file: &str) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fake_cuda").join(format!("{lib}.c"));
    let o =
        Command::new("cc").args(["-shared", "-fPIC", "-o"]).arg(dir.join(file)).arg(&src).output().expect("cc runs");
    assert!(o.status.success(), "cc {}: {}", src.display(), String::from_utf8_lossy(&o.stderr));
}

/// A folder holding the stand-in driver, and NVRTC when asked.
fn fakes(with_nvrtc: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    build_fake(dir.path(), "libcuda", "libcuda.so.1");
    if with_nvrtc {
        build_fake(dir.path(), "libnvrtc", "libnvrtc.so");
    }
    dir
}

/// A CUDA "toolkit" with the one header the probe looks for.
fn toolkit(dir: &Path) -> PathBuf {
    let root = dir.join("toolkit");
    std::fs::create_dir_all(root.join("include")).unwrap();
    std::fs::write(root.join("include/cuda_fp16.h"), "// stand-in\n").unwrap();
    root
}

fn run(cwd: &Path, libs: Option<&Path>, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_ae-train"));
    c.args(args).current_dir(cwd).env("AE_DATA_DIR", data_dir()).env_remove("CUDA_PATH");
    if let Some(libs) = libs {
        c.env("LD_LIBRARY_PATH", libs);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn train_on_cuda(cwd: &Path, libs: Option<&Path>, env: &[(&str, &str)]) -> Output {
    let out = cwd.join("run");
    run(cwd, libs, env, &["--config", "quickstart.toml", "--backend", "cuda", "--out", out.to_str().unwrap()])
}

/// Exit 1, an `error:` line holding every `needle`, no panic, and no run folder left behind.
fn assert_clean_failure(cwd: &Path, o: &Output, needles: &[&str]) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{e}");
    assert!(e.starts_with("error: backend cuda: "), "{e}");
    for n in needles {
        assert!(e.contains(n), "missing `{n}` in: {e}");
    }
    assert!(!e.contains("panicked") && !e.contains("RUST_BACKTRACE"), "{e}");
    assert!(!cwd.join("run").exists(), "a failed start left a run folder");
}

fn has_real_toolkit() -> bool {
    ["/usr/local/cuda/include/cuda_fp16.h", "/opt/cuda/include/cuda_fp16.h", "/usr/include/cuda_fp16.h"]
        .iter()
        .any(|p| Path::new(p).exists())
}

#[test]
fn without_a_driver_cuda_is_an_error_naming_libcuda() {
    let tmp = tempfile::tempdir().unwrap();
    let listing = stdout(&run(tmp.path(), None, &[], &["backends"]));
    assert!(listing.contains("compiled backends: cuda, wgpu, flex"), "{listing}");
    if !listing.contains("cuda: not available") {
        eprintln!("skipping: this machine has a CUDA driver:\n{listing}");
        return;
    }
    assert!(listing.contains("the CUDA driver library was not found (looked for libcuda.so"), "{listing}");
    // auto says nothing of CUDA on a machine without it, and picks something else.
    assert!(listing.contains("auto selects: ") && !listing.contains("auto selects: cuda"), "{listing}");
    assert!(!listing.contains("note: auto skips CUDA"), "{listing}");
    let o = train_on_cuda(tmp.path(), None, &[]);
    assert_clean_failure(tmp.path(), &o, &["CUDA driver library was not found", "install the NVIDIA driver"]);
}

#[test]
fn a_driver_without_nvrtc_lists_its_device_and_names_what_is_missing() {
    let tmp = tempfile::tempdir().unwrap();
    let libs = fakes(false);
    let o = run(tmp.path(), Some(libs.path()), &[], &["backends"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let listing = stdout(&o);
    assert!(listing.contains("cuda driver: libcuda.so.1 (CUDA 13.0; this build's bindings: CUDA 13.0)"), "{listing}");
    assert!(listing.contains("cuda device 0: Fake H200, compute capability 9.0, 141.0 GiB"), "{listing}");
    if first_loadable_nvrtc_is_real() {
        eprintln!("skipping the NVRTC part: this machine has a real NVRTC");
        return;
    }
    assert!(listing.contains("cuda nvrtc: missing: NVRTC, which compiles the GPU kernels"), "{listing}");
    assert!(listing.contains("cuda: not ready: "), "{listing}");
    // auto has a device that cannot run: it says why and falls back.
    assert!(listing.contains("note: auto skips CUDA: backend cuda: NVRTC"), "{listing}");
    assert!(!listing.contains("auto selects: cuda"), "{listing}");
    let o = train_on_cuda(tmp.path(), Some(libs.path()), &[]);
    let mut needles = vec!["NVRTC", "libnvrtc.so", "LD_LIBRARY_PATH"];
    if !has_real_toolkit() {
        needles.push("no CUDA toolkit was found");
    }
    assert_clean_failure(tmp.path(), &o, &needles);
}

fn first_loadable_nvrtc_is_real() -> bool {
    // The stand-in NVRTC is only on LD_LIBRARY_PATH when a test puts it there.
    ["/usr/local/cuda/lib64/libnvrtc.so", "/usr/lib/x86_64-linux-gnu/libnvrtc.so"].iter().any(|p| Path::new(p).exists())
}

#[test]
fn no_device_and_an_old_driver_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let libs = fakes(true);
    let o = train_on_cuda(tmp.path(), Some(libs.path()), &[("FAKE_CUDA_DEVICES", "0")]);
    assert_clean_failure(tmp.path(), &o, &["lists no device", "nvidia-smi"]);
    let o = train_on_cuda(tmp.path(), Some(libs.path()), &[("FAKE_CUDA_VERSION", "12040")]);
    assert_clean_failure(
        tmp.path(),
        &o,
        &["supports CUDA 12.4 but this build uses the CUDA 13.0 API", "580 or newer", "CUDARC_CUDA_VERSION=12040"],
    );
}

#[test]
fn a_device_that_fails_to_start_is_an_error_not_a_panic() {
    // Everything the probe checks is there; the stand-in driver then lacks the calls cubecl makes
    // to open the device, as a broken installation would.
    let tmp = tempfile::tempdir().unwrap();
    let libs = fakes(true);
    let root = toolkit(tmp.path());
    let env = [("CUDA_PATH", root.to_str().unwrap())];
    let listing = stdout(&run(tmp.path(), Some(libs.path()), &env, &["backends"]));
    assert!(listing.contains(&format!("cuda headers: {}", root.join("include").display())), "{listing}");
    assert!(listing.contains("cuda nvrtc: libnvrtc.so (NVRTC 13.0)"), "{listing}");
    assert!(!listing.contains("not ready"), "{listing}");
    let o = train_on_cuda(tmp.path(), Some(libs.path()), &env);
    assert_clean_failure(tmp.path(), &o, &["Fake H200 failed to start"]);
}

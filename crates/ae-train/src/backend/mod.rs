//! The one place where the backend choice becomes a Burn [`Device`].
//!
//! Which backends exist is decided at build time by Cargo features (`flex`, `ndarray`, `wgpu`,
//! `cuda`); which one runs is decided here at run time.

#[cfg(feature = "cuda")]
pub mod cuda;

use std::fmt;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// A backend as named on the command line and in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// CUDA where an NVIDIA GPU is ready, else wgpu on a hardware GPU, else the CPU backend.
    #[default]
    Auto,
    /// Burn's CUDA runtime on NVIDIA GPU 0 (kernels compiled by NVRTC).
    Cuda,
    /// wgpu (Vulkan, Metal, DX12): a GPU, or a software adapter such as lavapipe when asked for.
    Wgpu,
    /// burn-flex, Burn's CPU backend.
    Flex,
    /// burn-ndarray, the older CPU backend.
    Ndarray,
}

impl fmt::Display for BackendChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackendChoice::Auto => "auto",
            BackendChoice::Cuda => "cuda",
            BackendChoice::Wgpu => "wgpu",
            BackendChoice::Flex => "flex",
            BackendChoice::Ndarray => "ndarray",
        })
    }
}

/// A resolved backend: its name and the device to use (plain, without autodiff).
#[derive(Debug, Clone)]
pub struct Backend {
    /// `cuda`, `wgpu`, `flex` or `ndarray`.
    pub name: BackendChoice,
    /// Adapter or CPU description, for summaries.
    pub description: String,
    /// The device; call `.autodiff()` on it to train.
    pub device: Device,
}

/// The backends compiled into this binary.
pub fn compiled() -> Vec<BackendChoice> {
    let mut v = Vec::new();
    if cfg!(feature = "cuda") {
        v.push(BackendChoice::Cuda);
    }
    if cfg!(feature = "wgpu") {
        v.push(BackendChoice::Wgpu);
    }
    if cfg!(feature = "flex") {
        v.push(BackendChoice::Flex);
    }
    if cfg!(feature = "ndarray") {
        v.push(BackendChoice::Ndarray);
    }
    v
}

/// Turns a choice into a device, or says why it cannot.
pub fn resolve(choice: BackendChoice) -> Result<Backend> {
    match choice {
        BackendChoice::Auto => {
            #[cfg(feature = "cuda")]
            if let Ok(system) = cuda::probe() {
                let has_device = !system.devices.is_empty();
                match start_cuda(system) {
                    Ok(b) => return Ok(b),
                    // A GPU that is there but cannot run (no NVRTC, no headers, a failed start)
                    // is worth a word; no device at all is the common CPU machine and is not.
                    Err(why) if has_device => {
                        crate::report::progress::print_line(&format!("note: auto skips CUDA: {}", why.message));
                    }
                    Err(_) => {}
                }
            }
            if let Some(gpu) = wgpu_adapters().into_iter().find(|a| a.hardware) {
                return wgpu_backend(gpu.name);
            }
            let cpu = compiled().into_iter().find(|b| is_cpu(*b));
            match cpu {
                Some(b) => resolve(b),
                None => Err(AppError::runtime(
                    "no hardware GPU adapter was found and this build has no CPU backend (rebuild with --features flex)",
                )),
            }
        }
        BackendChoice::Wgpu => {
            if !cfg!(feature = "wgpu") {
                return Err(not_compiled(choice));
            }
            let adapters = wgpu_adapters();
            match adapters.iter().find(|a| a.hardware).or(adapters.first()) {
                Some(a) => wgpu_backend(a.name.clone()),
                None => Err(AppError::runtime(
                    "--backend wgpu: no GPU adapter found (no Vulkan, Metal or DX12 device). On Linux without a GPU, \
                     `apt-get install mesa-vulkan-drivers` provides the lavapipe software adapter; or use --backend flex",
                )),
            }
        }
        BackendChoice::Cuda => cuda(),
        BackendChoice::Flex => flex(),
        BackendChoice::Ndarray => ndarray(),
    }
}

/// What `ae-train backends` says of CUDA: the driver, NVRTC, the headers and each device, or
/// what is missing and how to get it.
#[cfg(feature = "cuda")]
pub fn cuda_listing() -> Vec<String> {
    let system = match cuda::probe() {
        Ok(system) => system,
        Err(why) => return vec![format!("cuda: not available: {why}")],
    };
    let mut lines = vec![format!(
        "cuda driver: {} (CUDA {}; this build's bindings: CUDA {})",
        system.driver_library,
        cuda::version_string(system.driver_version),
        cuda::version_string(cuda::binding_version())
    )];
    lines.push(match &system.nvrtc {
        Ok((lib, (a, b))) => format!("cuda nvrtc: {lib} (NVRTC {a}.{b})"),
        Err(e) => format!("cuda nvrtc: missing: {e}"),
    });
    lines.push(match &system.headers {
        Ok(root) => format!("cuda headers: {}", root.join("include").display()),
        Err(e) => format!("cuda headers: missing: {e}"),
    });
    for d in &system.devices {
        lines.push(format!("cuda device {}: {}", d.index, d.describe()));
    }
    if let Err(why) = system.ready() {
        lines.push(format!("cuda: not ready: {why}"));
    }
    lines
}

/// The CPU backends: what `auto` falls back to.
/// Whether `choice` trains on a GPU here, without opening a device: `cuda` and `wgpu` do; `auto`
/// does when a CUDA device or a hardware wgpu adapter is found.
pub fn runs_on_gpu(choice: BackendChoice) -> bool {
    match choice {
        BackendChoice::Cuda | BackendChoice::Wgpu => true,
        BackendChoice::Flex | BackendChoice::Ndarray => false,
        BackendChoice::Auto => {
            #[cfg(feature = "cuda")]
            if cuda::probe().is_ok_and(|s| !s.devices.is_empty()) {
                return true;
            }
            wgpu_adapters().iter().any(|a| a.hardware)
        }
    }
}

fn is_cpu(b: BackendChoice) -> bool {
    matches!(b, BackendChoice::Flex | BackendChoice::Ndarray)
}

#[cfg(feature = "cuda")]
fn cuda() -> Result<Backend> {
    start_cuda(cuda::probe().map_err(|e| AppError::runtime(format!("backend cuda: {e}")))?)
}

#[cfg(not(feature = "cuda"))]
fn cuda() -> Result<Backend> {
    Err(not_compiled(BackendChoice::Cuda))
}

/// Device 0 of a ready CUDA system (device `local rank mod count` in an MPI job), started by one small kernel so that a failure inside cubecl
/// (a kernel NVRTC refuses, a device that cannot make a context) is an error here, not a panic in
/// the middle of training.
#[cfg(feature = "cuda")]
fn start_cuda(system: cuda::CudaSystem) -> Result<Backend> {
    system.ready().map_err(|e| AppError::runtime(format!("backend cuda: {e}")))?;
    // Several processes of an MPI job on one machine: each its own GPU (local rank mod count).
    let first = &system.devices[crate::training::distributed::local_rank() % system.devices.len()];
    let device = Device::cuda(first.index);
    let started = quietly_catching(|| {
        let x = burn::tensor::Tensor::<1>::from_floats([1.0, 2.0, 3.0, 4.0], &device);
        (x.clone() * x).sum().into_scalar::<f32>()
    });
    match started {
        Ok(v) if v == 30.0 => {}
        Ok(v) => {
            return Err(AppError::runtime(format!(
                "backend cuda: {}: a first kernel computed 1+4+9+16 = {v}",
                first.name
            )));
        }
        Err(panic) => return Err(AppError::runtime(format!("backend cuda: {} failed to start: {panic}", first.name))),
    }
    let nvrtc = system.nvrtc.as_ref().map(|(_, (a, b))| format!(", NVRTC {a}.{b}")).unwrap_or_default();
    Ok(Backend {
        name: BackendChoice::Cuda,
        description: format!(
            "{} (CUDA {} driver{nvrtc})",
            first.describe(),
            cuda::version_string(system.driver_version)
        ),
        device,
    })
}

/// Runs `f`, turning a panic into its message without printing it.
#[cfg(feature = "cuda")]
fn quietly_catching<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    caught.map_err(|p| {
        p.downcast_ref::<String>()
            .cloned()
            .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default()
    })
}

fn not_compiled(choice: BackendChoice) -> AppError {
    AppError::usage(format!(
        "backend `{choice}` is not compiled into this build (compiled: {}); rebuild with `--features {choice}`",
        compiled().iter().map(|b| b.to_string()).collect::<Vec<_>>().join(", ")
    ))
}

#[cfg(feature = "flex")]
fn flex() -> Result<Backend> {
    Ok(Backend { name: BackendChoice::Flex, description: cpu_description(), device: Device::flex() })
}

#[cfg(not(feature = "flex"))]
fn flex() -> Result<Backend> {
    Err(not_compiled(BackendChoice::Flex))
}

#[cfg(feature = "ndarray")]
#[allow(deprecated)]
fn ndarray() -> Result<Backend> {
    let blas = if cfg!(feature = "ndarray-blas") { ", OpenBLAS matrix products" } else { "" };
    Ok(Backend {
        name: BackendChoice::Ndarray,
        description: format!("{}{blas}", cpu_description()),
        device: Device::ndarray(),
    })
}

#[cfg(not(feature = "ndarray"))]
fn ndarray() -> Result<Backend> {
    Err(not_compiled(BackendChoice::Ndarray))
}

/// The CPU device on which initial weights are drawn (the same on every backend), if a CPU
/// backend is compiled in.
pub fn init_device() -> Option<Device> {
    #[cfg(feature = "flex")]
    return Some(Device::flex());
    #[cfg(all(not(feature = "flex"), feature = "ndarray"))]
    #[allow(deprecated)]
    return Some(Device::ndarray());
    #[allow(unreachable_code)]
    None
}

#[allow(dead_code)]
fn cpu_description() -> String {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    format!("CPU, {threads} threads")
}

/// A wgpu adapter found on this machine.
#[derive(Debug, Clone)]
pub struct Adapter {
    /// Name and graphics API, e.g. `NVIDIA H100 (Vulkan)`.
    pub name: String,
    /// False for software rasterisers (lavapipe, llvmpipe, SwiftShader) and CPU adapters.
    pub hardware: bool,
}

/// The wgpu adapters on this machine (empty when wgpu is not compiled in).
#[cfg(feature = "wgpu")]
pub fn wgpu_adapters() -> Vec<Adapter> {
    // Only the APIs asked about: an instance of every backend also opens OpenGL through
    // libEGL, whose exit handler races a finishing thread's own cleanup of the same memory
    // (glibc aborts with "double free or corruption" in a few runs in a thousand).
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: wgpu::Backends::PRIMARY,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    block_on(instance.enumerate_adapters(wgpu::Backends::PRIMARY))
        .into_iter()
        .map(|a| {
            let info = a.get_info();
            Adapter {
                name: format!("{} ({:?})", info.name, info.backend),
                hardware: !matches!(info.device_type, wgpu::DeviceType::Cpu) && !is_software_name(&info.name),
            }
        })
        .collect()
}

/// The wgpu adapters on this machine (empty when wgpu is not compiled in).
#[cfg(not(feature = "wgpu"))]
pub fn wgpu_adapters() -> Vec<Adapter> {
    Vec::new()
}

#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn is_software_name(name: &str) -> bool {
    let n = name.to_lowercase();
    ["llvmpipe", "lavapipe", "swiftshader", "softpipe", "software"].iter().any(|s| n.contains(s))
}

#[cfg(feature = "wgpu")]
fn wgpu_backend(name: String) -> Result<Backend> {
    // Opening the device here tells which shader compiler it runs (SPIR-V in a `vulkan` build on
    // a Vulkan adapter that has what it needs, WGSL otherwise), and makes a device that does not
    // start an error instead of a panic at the first tensor.
    let language = std::panic::catch_unwind(ae_models::wgpu_shaders::wgpu_shader_language)
        .map_err(|_| AppError::runtime(format!("wgpu: the adapter {name} did not start (see the message above)")))?;
    Ok(Backend {
        name: BackendChoice::Wgpu,
        description: format!("{name}, {language} shaders"),
        device: Device::wgpu(burn::tensor::DeviceKind::DefaultDevice),
    })
}

#[cfg(not(feature = "wgpu"))]
fn wgpu_backend(_name: String) -> Result<Backend> {
    Err(not_compiled(BackendChoice::Wgpu))
}

/// Drives a future that completes without waiting on anything external (wgpu's native adapter
/// enumeration), without pulling in an async runtime.
#[cfg(feature = "wgpu")]
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(v) => return v,
            Poll::Pending => std::thread::park(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn software_adapters_are_not_hardware() {
        assert!(is_software_name("llvmpipe (LLVM 15.0.6, 256 bits)"));
        assert!(!is_software_name("NVIDIA H100 80GB HBM3"));
    }

    /// Listing adapters leaves OpenGL's libEGL unloaded: its exit handler and a finishing
    /// thread freed the same memory at once in a few runs in a thousand (glibc's "double free
    /// or corruption" abort at exit).
    #[cfg(all(feature = "wgpu", target_os = "linux"))]
    #[test]
    fn listing_adapters_leaves_opengl_closed() {
        let _ = wgpu_adapters();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
        assert!(!maps.contains("libEGL"), "libEGL loaded by listing adapters");
    }

    #[test]
    fn cpu_backend_resolves() {
        let b = resolve(BackendChoice::Flex).unwrap();
        assert_eq!(b.name, BackendChoice::Flex);
    }

    #[test]
    fn uncompiled_backend_is_a_usage_error() {
        if !cfg!(feature = "ndarray") {
            let e = resolve(BackendChoice::Ndarray).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(e.message.contains("--features ndarray"), "{}", e.message);
        }
    }
}

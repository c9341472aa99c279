//! The one place where the backend choice becomes a Burn [`Device`].
//!
//! Which backends exist is decided at build time by Cargo features (`flex`, `ndarray`, `wgpu`);
//! which one runs is decided here at run time.

use std::fmt;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};

use crate::error::{AppError, Result};

/// A backend as named on the command line and in configs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum BackendChoice {
    /// wgpu on a hardware GPU when there is one, else the CPU backend.
    #[default]
    Auto,
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
            BackendChoice::Wgpu => "wgpu",
            BackendChoice::Flex => "flex",
            BackendChoice::Ndarray => "ndarray",
        })
    }
}

/// A resolved backend: its name and the device to use (plain, without autodiff).
#[derive(Debug, Clone)]
pub struct Backend {
    /// `wgpu`, `flex` or `ndarray`.
    pub name: BackendChoice,
    /// Adapter or CPU description, for summaries.
    pub description: String,
    /// The device; call `.autodiff()` on it to train.
    pub device: Device,
}

/// The backends compiled into this binary.
pub fn compiled() -> Vec<BackendChoice> {
    let mut v = Vec::new();
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
            if let Some(gpu) = wgpu_adapters().into_iter().find(|a| a.hardware) {
                return wgpu_backend(gpu.name);
            }
            let cpu = compiled().into_iter().find(|b| *b != BackendChoice::Wgpu);
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
        BackendChoice::Flex => flex(),
        BackendChoice::Ndarray => ndarray(),
    }
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
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
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
    Ok(Backend {
        name: BackendChoice::Wgpu,
        description: name,
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

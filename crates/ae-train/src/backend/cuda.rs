//! NVIDIA GPUs through Burn's CUDA runtime: what the machine offers (the driver, its devices,
//! NVRTC and the toolkit headers NVRTC compiles kernels against), asked before Burn opens a
//! device, so that a missing piece is an error naming it and its fix instead of a panic inside
//! cubecl or cudarc (both `unwrap` a missing library).
//!
//! Nothing CUDA is linked at build time: cudarc opens `libcuda` and `libnvrtc` when first used,
//! and this module opens them first, by the same names, to see whether they are there.

use std::path::PathBuf;

use cudarc::driver::{result, sys};

/// One CUDA device as the driver reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct CudaDevice {
    /// The driver's ordinal (`--backend cuda` uses 0).
    pub index: usize,
    /// e.g. `NVIDIA H200`.
    pub name: String,
    /// Compute capability (major, minor): 9.0 for Hopper.
    pub compute_capability: (i32, i32),
    /// Device memory in bytes.
    pub memory_bytes: u64,
}

impl CudaDevice {
    /// `NVIDIA H200, compute capability 9.0, 140.4 GiB`.
    pub fn describe(&self) -> String {
        let (major, minor) = self.compute_capability;
        let gib = self.memory_bytes as f64 / (1u64 << 30) as f64;
        format!("{}, compute capability {major}.{minor}, {gib:.1} GiB", self.name)
    }
}

/// What this machine offers the CUDA backend.
#[derive(Debug, Clone)]
pub struct CudaSystem {
    /// The driver library that loaded, e.g. `libcuda.so.1`.
    pub driver_library: String,
    /// The newest CUDA version the driver supports, as `cuDriverGetVersion` gives it (13000 is 13.0).
    pub driver_version: i32,
    /// The devices the driver lists (none is not an error here: `ready` says so).
    pub devices: Vec<CudaDevice>,
    /// NVRTC, which compiles the kernels: the library and its version, or what is missing.
    pub nvrtc: Result<(String, (i32, i32)), String>,
    /// The toolkit folder whose `include/` holds the headers kernels include, or what is missing.
    pub headers: Result<PathBuf, String>,
}

impl CudaSystem {
    /// Ok when the backend can run: a device, NVRTC and the headers; else every missing piece.
    pub fn ready(&self) -> Result<(), String> {
        let mut missing = Vec::new();
        if self.devices.is_empty() {
            missing.push(format!(
                "the CUDA driver ({}) lists no device (check `nvidia-smi`; in a container, start it with the GPU passed in, e.g. `--gpus all`)",
                self.driver_library
            ));
        }
        if let Err(e) = &self.nvrtc {
            missing.push(e.clone());
        }
        if let Err(e) = &self.headers {
            missing.push(e.clone());
        }
        if missing.is_empty() { Ok(()) } else { Err(missing.join("; ")) }
    }
}

/// `13.0` from 13000.
pub fn version_string(v: i32) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// The CUDA API version this build's bindings were generated for (cudarc's, chosen at build time
/// by `CUDARC_CUDA_VERSION` in `.cargo/config.toml`).
pub fn binding_version() -> i32 {
    sys::CUDA_VERSION as i32
}

/// Asks the driver what it has. Err names what is missing and how to get it: no driver library,
/// a driver older than this build's CUDA bindings, or `cuInit` failing.
pub fn probe() -> Result<CudaSystem, String> {
    let Some(driver_library) = first_loadable("cuda") else {
        return Err(format!(
            "the CUDA driver library was not found (looked for {}): install the NVIDIA driver (580 or newer for \
             this build's CUDA {} bindings), or add the folder holding libcuda.so.1 to LD_LIBRARY_PATH",
            candidates_shown("cuda"),
            version_string(binding_version())
        ));
    };
    // Safe from here on: cudarc loads the same library by the same names.
    let mut driver_version = 0;
    // SAFETY: cuDriverGetVersion writes one int; it needs no cuInit.
    unsafe { sys::cuDriverGetVersion(&mut driver_version) }
        .result()
        .map_err(|e| format!("{driver_library}: cuDriverGetVersion failed: {e:?}"))?;
    if driver_version / 1000 < binding_version() / 1000 {
        return Err(format!(
            "the NVIDIA driver supports CUDA {} but this build uses the CUDA {} API: update the driver (580 or newer), \
             or rebuild for it with `CUDARC_CUDA_VERSION={}{:02}0 cargo build --release`",
            version_string(driver_version),
            version_string(binding_version()),
            driver_version / 1000,
            (driver_version % 1000) / 10
        ));
    }
    let devices = match result::init() {
        Ok(()) => list_devices().map_err(|e| format!("{driver_library}: listing devices failed: {e:?}"))?,
        Err(e) if e.0 == sys::cudaError_enum::CUDA_ERROR_NO_DEVICE => Vec::new(),
        Err(e) => return Err(format!("{driver_library}: cuInit failed: {e:?} (is the GPU visible to this process?)")),
    };
    Ok(CudaSystem { driver_library, driver_version, devices, nvrtc: nvrtc(), headers: headers() })
}

fn list_devices() -> Result<Vec<CudaDevice>, cudarc::driver::DriverError> {
    use sys::CUdevice_attribute::{
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR as MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR as MINOR,
    };
    let count = result::device::get_count()?;
    (0..count)
        .map(|i| {
            let dev = result::device::get(i)?;
            // SAFETY: `dev` is a handle the driver just gave out; these calls only read attributes.
            let (major, minor, memory) = unsafe {
                (
                    result::device::get_attribute(dev, MAJOR)?,
                    result::device::get_attribute(dev, MINOR)?,
                    result::device::total_mem(dev)?,
                )
            };
            Ok(CudaDevice {
                index: i as usize,
                name: result::device::get_name(dev)?,
                compute_capability: (major, minor),
                memory_bytes: memory as u64,
            })
        })
        .collect()
}

fn nvrtc() -> Result<(String, (i32, i32)), String> {
    let Some(library) = first_loadable("nvrtc") else {
        return Err(format!(
            "NVRTC, which compiles the GPU kernels at run time, was not found (looked for {}): install the CUDA \
             toolkit's NVRTC (Debian/Ubuntu: `cuda-nvrtc-13-0` from NVIDIA's repository; pip: `nvidia-cuda-nvrtc`) \
             and add the folder holding libnvrtc.so to LD_LIBRARY_PATH",
            candidates_shown("nvrtc")
        ));
    };
    let (mut major, mut minor) = (0, 0);
    // SAFETY: nvrtcVersion writes two ints; the library was just found by cudarc's own names.
    unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) }
        .result()
        .map_err(|e| format!("{library}: nvrtcVersion failed: {e:?}"))?;
    Ok((library, (major, minor)))
}

fn headers() -> Result<PathBuf, String> {
    let looked = "$CUDA_PATH, /usr/local/cuda, /opt/cuda, /usr (when /usr/bin/nvcc exists)";
    match cubecl_cuda::install::cuda_path() {
        Some(root) if root.join("include/cuda_fp16.h").is_file() => Ok(root),
        Some(root) => Err(format!(
            "the CUDA toolkit at {} has no include/cuda_fp16.h, which NVRTC needs to compile kernels: install the \
             toolkit's headers (`cuda-cudart-dev-13-0` and `cuda-nvrtc-dev-13-0`), or point CUDA_PATH at a toolkit \
             that has them",
            root.display()
        )),
        None => Err(format!(
            "no CUDA toolkit was found (looked in {looked}); NVRTC compiles kernels against its include/ headers: \
             install the toolkit (`cuda-toolkit-13-0`) or set CUDA_PATH to its folder"
        )),
    }
}

/// The first of cudarc's candidate names for `lib` that the dynamic loader opens.
fn first_loadable(lib: &str) -> Option<String> {
    cudarc::get_lib_name_candidates(lib).into_iter().find(|name| {
        // SAFETY: opening a shared library runs its initialisers; these are NVIDIA's own
        // libraries, which cudarc opens the same way.
        unsafe { libloading::Library::new(name) }.is_ok()
    })
}

/// The usual Linux names among those looked for (`libcuda.so`, `libcuda.so.1`), for messages.
fn candidates_shown(lib: &str) -> String {
    let names = cudarc::get_lib_name_candidates(lib);
    let plain = names.iter().filter(|n| !n.contains("64") && !n.contains(".so.1") && n.starts_with("lib"));
    let mut shown: Vec<&str> = plain.take(1).map(String::as_str).collect();
    shown.extend(names.iter().filter(|n| n.ends_with(".so.1") || n.ends_with(".so.13")).map(String::as_str));
    format!("{} and {} other names", shown.join(", "), names.len() - shown.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_print_as_the_toolkit_does() {
        assert_eq!(version_string(13000), "13.0");
        assert_eq!(version_string(12080), "12.8");
        assert_eq!(version_string(binding_version()), "13.0", "the bindings .cargo/config.toml asks for");
    }

    #[test]
    fn devices_describe_themselves() {
        let d = CudaDevice {
            index: 0,
            name: "NVIDIA H200".into(),
            compute_capability: (9, 0),
            memory_bytes: 150_754_820_096,
        };
        assert_eq!(d.describe(), "NVIDIA H200, compute capability 9.0, 140.4 GiB");
    }

    #[test]
    fn a_system_without_nvrtc_or_headers_names_both() {
        let system = CudaSystem {
            driver_library: "libcuda.so.1".into(),
            driver_version: 13000,
            devices: vec![],
            nvrtc: Err("NVRTC ... was not found".into()),
            headers: Err("no CUDA toolkit was found".into()),
        };
        let e = system.ready().unwrap_err();
        assert!(e.contains("lists no device") && e.contains("NVRTC") && e.contains("toolkit"), "{e}");
    }
}

//! The shader language wgpu compiles Burn's kernels to on this machine.
//!
//! cubecl compiles every wgpu kernel to WGSL, except in a build with the `vulkan` feature on a
//! Vulkan adapter that offers what cubecl's SPIR-V compiler needs (the Vulkan memory model at
//! device scope, buffer device addresses, SPIR-V 1.3): there kernels go to SPIR-V directly, and
//! f16 matrix products and convolutions can use the driver's cooperative matrices. Nothing else
//! says which of the two a run got, so `ae-train backends` and the GPU tests ask here.

use cubecl_runtime::runtime::Runtime;
use cubecl_wgpu::{AutoCompiler, WgpuDevice, WgpuRuntime};

/// The shader language of wgpu's default device (the one `Device::wgpu(DefaultDevice)` opens):
/// `"SPIR-V"`, `"MSL"` or `"WGSL"`. Opens the device if it is not open yet, so call it only where
/// wgpu has an adapter.
pub fn wgpu_shader_language() -> &'static str {
    language_of_runtime(WgpuRuntime::<AutoCompiler>::client(&WgpuDevice::default()).name())
}

/// The language in cubecl's runtime name (`wgpu<spirv>`, `wgpu<msl>`, `wgpu<wgsl>`).
fn language_of_runtime(name: &str) -> &'static str {
    match name {
        "wgpu<spirv>" => "SPIR-V",
        "wgpu<msl>" => "MSL",
        _ => "WGSL",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cubecl_runtime_names_map_to_languages() {
        assert_eq!(language_of_runtime("wgpu<spirv>"), "SPIR-V");
        assert_eq!(language_of_runtime("wgpu<msl>"), "MSL");
        assert_eq!(language_of_runtime("wgpu<wgsl>"), "WGSL");
    }
}

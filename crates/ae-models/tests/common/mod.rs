//! Helpers shared by the integration tests.

use burn::tensor::Device;
#[cfg(feature = "wgpu")]
use burn::tensor::Tensor;

/// The wgpu device with autodiff, `None` (a skip) where wgpu has no adapter; with
/// `AE_REQUIRE_WGPU` set (CI, on lavapipe) a missing adapter fails instead.
#[cfg(feature = "wgpu")]
#[allow(dead_code)]
pub fn wgpu_device() -> Option<Device> {
    use cubecl_runtime::config::{CubeClRuntimeConfig, RuntimeConfig, autotune::AutotuneLevel};
    // Autotuning is for speed and costs minutes on a software adapter for these many small
    // shapes (329 s against 57 s here); the kernels it would choose between are each checked.
    if std::env::var_os("CUBECL_AUTOTUNE_LEVEL").is_none() {
        let mut config = CubeClRuntimeConfig::default();
        config.autotune.level = AutotuneLevel::Minimal;
        CubeClRuntimeConfig::try_set(config);
    }
    let d = Device::wgpu(burn::tensor::DeviceKind::DefaultDevice).autodiff();
    let works = std::panic::catch_unwind(|| Tensor::<1>::from_floats([1.0, 2.0], &d).sum().into_scalar::<f32>() == 3.0);
    match works {
        Ok(true) => {
            // CI's `vulkan` step sets AE_REQUIRE_SPIRV: lavapipe must then run the SPIR-V
            // compiler's kernels, not quietly WGSL's.
            let language = ae_models::wgpu_shaders::wgpu_shader_language();
            if std::env::var_os("AE_REQUIRE_SPIRV").is_some() {
                assert_eq!(language, "SPIR-V", "AE_REQUIRE_SPIRV is set but wgpu compiles {language}");
            }
            Some(d)
        }
        _ => {
            assert!(std::env::var_os("AE_REQUIRE_WGPU").is_none(), "AE_REQUIRE_WGPU is set but wgpu does not run");
            eprintln!("skipping wgpu: no adapter (install mesa-vulkan-drivers)");
            None
        }
    }
}

#[cfg(not(feature = "wgpu"))]
#[allow(dead_code)]
pub fn wgpu_device() -> Option<Device> {
    None
}

//! Allocator settings for training: keep large temporary tensors in the heap instead of mapping
//! fresh pages for each one.
//!
//! Every training step allocates and frees the same large buffers (activations, gradients,
//! matrix-product scratch). glibc serves each allocation above its mmap threshold (128 KiB at
//! first) with a fresh `mmap` and returns it with `munmap`, so every step pays page faults and
//! zeroing for every such tensor: `perf` showed page-fault handling at about 12 % of a flex
//! training step. Raising the threshold to 32 MiB (and the trim threshold to 128 MiB) lets
//! freed buffers be reused: +7 % steps/s on the dense case, +20 % on the VAE, +40 % on the conv
//! DAE (BENCHMARKS.md), for 1-2 MiB more peak memory.

/// Applies the settings (Linux with glibc only; elsewhere nothing). A user's own
/// `GLIBC_TUNABLES` or `MALLOC_*` environment takes precedence.
pub fn tune_for_training() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let user_set = std::env::vars_os().any(|(k, _)| {
            let k = k.to_string_lossy();
            k == "GLIBC_TUNABLES" || k.starts_with("MALLOC_")
        });
        if user_set {
            return;
        }
        unsafe extern "C" {
            fn mallopt(param: i32, value: i32) -> i32;
        }
        // From glibc's malloc.h.
        const M_TRIM_THRESHOLD: i32 = -1;
        const M_MMAP_THRESHOLD: i32 = -3;
        // SAFETY: mallopt only changes allocator parameters; called before other threads exist.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 128 << 20);
        }
    }
}

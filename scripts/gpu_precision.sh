#!/usr/bin/env bash
# Mixed precision and the SPIR-V compiler on a GPU (issue 17, part 4), for a machine with an
# NVIDIA GPU and PyTorch with CUDA (never run on a GPU yet: about 11-13 minutes is an estimate,
# more than the device tool's 10 minutes a call, so run the two halves as two calls,
# AE_SKIP_QUALITY=1 then AE_SKIP_BENCH=1, into the same OUT_DIR):
#   1. speed: `ae-train bench --precision P` for P in f32, f16, bf16 on cuda, each beside PyTorch
#      on the GPU with the same precision (autocast; GradScaler for f16), conv and conv_full cases;
#      then wgpu in f32 and f16 (no bf16 on wgpu: refused by name) twice: the default build, which
#      compiles kernels to WGSL, and the `vulkan` build, which compiles them to SPIR-V and can use
#      the driver's f16 cooperative matrices (`ae-train backends` says which shaders each runs);
#   2. quality: denoising_cifar.toml (3 epochs) and mnist_vae.toml (10 epochs) trained on cuda in
#      each precision from the same seed, and the conv DAE on wgpu/SPIR-V in f32 and f16; held to
#      the issue's bounds against the same backend's f32 run: the conv DAE's test PSNR within
#      0.1 dB (`ae-train denoise`), the VAE's test -ELBO within 0.2 nats.
#
# Usage, in two halves:
#   here (the build machine):  scripts/gpu_precision.sh --pack gpu-pack
#       builds ae-train twice (release: default features, then with `vulkan`) and copies into
#       gpu-pack/ both binaries (xz), real MNIST and CIFAR_LIMIT (default 2000) of the CIFAR-10
#       test images, the same number from each class, so that the pack stays under the device
#       tool's 64 MiB carry
#   there (the GPU machine):   AE_PACK=gpu-pack scripts/gpu_precision.sh "$OUT"
# Env: AE_PACK, AE_TORCH_PYTHON (default python3), AE_BENCH_SECONDS (default 4); for a dry run
#      of the script on a CPU: AE_GPU_BACKEND=flex AE_TORCH_DEVICE=cpu AE_QUALITY_SET=train.epochs=1 AE_SKIP_WGPU=1
#      (AE_SKIP_BENCH=1: the quality half only; AE_SKIP_QUALITY=1: the speed half only;
#      AE_SKIP_WGPU=1 also skips the SPIR-V runs).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--pack" ]; then
  pack=${2:?usage: scripts/gpu_precision.sh --pack DIR}
  set -e
  data=${AE_DATA_DIR:-../shared/datasets}
  per_class=$(( ${CIFAR_LIMIT:-2000} / 10 ))
  rm -rf "$pack" && mkdir -p "$pack/datasets/cifar10/test"
  for build in ae-train:default ae-train-vulkan:vulkan; do
    name=${build%%:*} features=${build#*:}
    if [ "$features" = default ]; then cargo build --release -p ae-train; else cargo build --release -p ae-train --features "$features"; fi
    cp "${CARGO_TARGET_DIR:-target}/release/ae-train" "$pack/$name"
    strip "$pack/$name" 2>/dev/null || true
    xz -T0 -6 "$pack/$name"
  done
  cp -r "$data/mnist" "$pack/datasets/"
  for class in "$data"/cifar10/test/*/; do
    name=$(basename "$class")
    mkdir -p "$pack/datasets/cifar10/test/$name"
    images=("$class"*.jpg)
    cp "${images[@]:0:$per_class}" "$pack/datasets/cifar10/test/$name/"
  done
  du -sh "$pack"
  exit 0
fi

out=${1:?usage: scripts/gpu_precision.sh OUT_DIR (or --pack DIR)}
pack=${AE_PACK:?AE_PACK: the folder made by --pack}
for name in ae-train ae-train-vulkan; do
  [ -f "$pack/$name" ] || [ ! -f "$pack/$name.xz" ] || xz -dk "$pack/$name.xz"
done
bin="$pack/ae-train"
vk="$pack/ae-train-vulkan"
export AE_DATA_DIR="$pack/datasets" CUBECL_AUTOTUNE_CACHE=1
py=${AE_TORCH_PYTHON:-python3}
secs=${AE_BENCH_SECONDS:-4}
gpu=${AE_GPU_BACKEND:-cuda}
torch_device=${AE_TORCH_DEVICE:-cuda}
quality_set=()
[ -n "${AE_QUALITY_SET:-}" ] && quality_set=(--set "$AE_QUALITY_SET")
mkdir -p "$out"
fail=0
step() { echo; echo "== $* ($(date +%T))"; }
TIMEFORMAT='wall seconds: %R'

step "GPU"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || echo "no nvidia-smi"
"$bin" backends || fail=1
[ "${AE_SKIP_WGPU:-0}" = 1 ] || "$vk" backends || fail=1

for p in f32 f16 bf16; do
  [ "${AE_SKIP_BENCH:-0}" = 1 ] && break
  step "bench $gpu beside PyTorch on $torch_device, precision $p"
  "$bin" bench --backend "$gpu" --case conv --case conv_full --case vae --seconds "$secs" --precision "$p" \
    --torch "$py" --torch-device "$torch_device" --json "$out/bench_gpu_$p.jsonl" || fail=1
done
if [ "${AE_SKIP_WGPU:-0}" != 1 ] && [ "${AE_SKIP_BENCH:-0}" != 1 ]; then
  for shaders in wgsl spirv; do
    b=$bin; [ $shaders = spirv ] && b=$vk
    for p in f32 f16; do
      step "bench wgpu ($shaders), precision $p"
      "$b" bench --backend wgpu --case conv --case conv_full --case vae --seconds "$secs" --precision "$p" \
        --json "$out/bench_wgpu_${shaders}_$p.jsonl" || fail=1
    done
  done
fi

# quality NAME CONFIG BINARY BACKEND PRECISION...: trains into $out/NAME_PRECISION.
quality() {
  local name=$1 config=$2 b=$3 backend=$4
  shift 4
  for p in "$@"; do
    step "$name on $backend ($(basename "$b")), precision $p"
    time { "$b" --config "$config" --backend "$backend" --set "train.precision=\"$p\"" "${quality_set[@]}" \
      --out "$out/${name}_$p" --quiet 2>"$out/${name}_$p.err" || { cat "$out/${name}_$p.err"; fail=1; }; }
    if [ "$name" != "${name#denoising}" ]; then
      "$b" denoise "$out/${name}_$p" --backend "$backend" || fail=1
    fi
  done
}
if [ "${AE_SKIP_QUALITY:-0}" != 1 ]; then
  quality denoising configs/experiments/denoising_cifar.toml "$bin" "$gpu" f32 f16 bf16
  quality mnist_vae configs/experiments/mnist_vae.toml "$bin" "$gpu" f32 f16 bf16
  [ "${AE_SKIP_WGPU:-0}" = 1 ] || quality denoising_spirv configs/experiments/denoising_cifar.toml "$vk" wgpu f32 f16
fi

"$py" - "$out" "$gpu" <<'EOF' || fail=1
import glob, json, os, sys
out, gpu = sys.argv[1], sys.argv[2]
ok = True
def psnr(run):
    return json.load(open(f"{out}/{run}/denoise.json"))["psnr_denoised"]
def nelbo(run):
    return json.load(open(f"{out}/{run}/summary.json"))["test"]["loss"]
def held(what, value, base, bound):
    """Prints `value` against `base` and whether it stays within `bound` (signed: the allowed loss)."""
    delta = value - base
    good = delta >= bound if bound < 0 else delta <= bound
    print(f"  {what}: {value:.3f} ({delta:+.3f}, bound {bound:+.1f})", "PASS" if good else "FAIL")
    return good
if os.path.exists(f"{out}/denoising_f32/denoise.json"):
    print(f"{gpu} f32: conv DAE PSNR {psnr('denoising_f32'):.3f} dB, mnist_vae -ELBO {nelbo('mnist_vae_f32'):.3f} nats")
    for p in ("f16", "bf16"):
        print(f"{gpu} {p}:")
        ok &= held("conv DAE PSNR", psnr(f"denoising_{p}"), psnr("denoising_f32"), -0.1)
        ok &= held("mnist_vae -ELBO", nelbo(f"mnist_vae_{p}"), nelbo("mnist_vae_f32"), 0.2)
if os.path.exists(f"{out}/denoising_spirv_f32/denoise.json"):
    print(f"wgpu SPIR-V f32: conv DAE PSNR {psnr('denoising_spirv_f32'):.3f} dB; f16:")
    ok &= held("conv DAE PSNR", psnr("denoising_spirv_f16"), psnr("denoising_spirv_f32"), -0.1)
for path in sorted(glob.glob(f"{out}/bench_*.jsonl")):
    for row in map(json.loads, open(path)):
        print(f"{os.path.basename(path)}: {row['case']} {row['backend']}: {row['steps_per_s']:.1f} steps/s")
sys.exit(0 if ok else 1)
EOF

echo; echo "gpu_precision: $([ $fail -eq 0 ] && echo PASS || echo FAIL) ($(date +%T))"
exit $fail

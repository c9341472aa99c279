#!/usr/bin/env bash
# GPU checks, for a machine with an NVIDIA GPU and PyTorch with CUDA (the lent H100/H200), in one
# command that ends within about 8 minutes:
#   1. the GPU, the CUDA libraries and the wgpu adapters (`ae-train backends`);
#   2. correctness: mnist_2d (2000 images, 2 epochs) and the conv DAE (configs/experiments/mnist_conv.toml,
#      2000 images, 2 epochs) trained from the same seed on cuda, wgpu and flex; every epoch's
#      train and validation loss compared with flex's (tolerances below);
#   3. speed: `ae-train bench --backend cuda` beside PyTorch eager on the same GPU, at each case's
#      batch and at batch 256, with the conv cases' TF32 and HBM fractions and denoising_cifar.toml's
#      seconds per epoch (bench_report.py); one profiled conv step at batch 256 (cubecl's profiler);
#   4. configs/experiments/mnist_vae.toml trained end to end on cuda, timed, held to its acceptance figure.
#
# Usage, in two halves:
#   here (the build machine):  scripts/gpu_check.sh --pack gpu-pack
#       builds ae-train (release, default features) and copies into gpu-pack/ the binary, the
#       real MNIST files and torch_reference.py (about 45 MiB: under the device tool's 64 MiB carry)
#   there (the GPU machine):   AE_PACK=gpu-pack scripts/gpu_check.sh "$OUT"
# Env: AE_PACK (the packed folder; else AE_TRAIN, AE_DATA_DIR and AE_TORCH_REFERENCE one by one),
#      AE_TORCH_PYTHON (default python3), AE_BENCH_SECONDS (default 5), AE_GPU_BACKEND (default cuda).
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = "--pack" ]; then
  pack=${2:?usage: scripts/gpu_check.sh --pack DIR}
  set -e
  cargo build --release -p ae-train
  data=${AE_DATA_DIR:-../shared/datasets}
  ref=${AE_TORCH_REFERENCE:-../shared/bench}
  rm -rf "$pack" && mkdir -p "$pack/datasets" "$pack/bench"
  cp "${CARGO_TARGET_DIR:-target}/release/ae-train" "$pack/"
  strip "$pack/ae-train" 2>/dev/null || true
  cp -r "$data/mnist" "$pack/datasets/"
  cp "$ref/torch_reference.py" "$pack/bench/"
  du -sh "$pack"
  exit 0
fi

out=${1:?usage: scripts/gpu_check.sh OUT_DIR (or --pack DIR)}
if [ -n "${AE_PACK:-}" ]; then
  export AE_TRAIN="$AE_PACK/ae-train" AE_DATA_DIR="$AE_PACK/datasets" AE_TORCH_REFERENCE="$AE_PACK/bench"
fi
bin=${AE_TRAIN:-target/release/ae-train}
py=${AE_TORCH_PYTHON:-python3}
secs=${AE_BENCH_SECONDS:-5}
gpu=${AE_GPU_BACKEND:-cuda}
# Kernels compiled and tuned in one step are reused by the next.
export CUBECL_AUTOTUNE_CACHE=1
mkdir -p "$out"
fail=0
step() { echo; echo "== $* ($(date +%T))"; }
TIMEFORMAT='wall seconds: %R'

step "GPU, CUDA libraries and adapters"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
"$bin" backends || fail=1

# Tolerances. wgpu and flex both compute in f32: the same numbers up to summation order (1e-4).
# cuda's matrix products and convolutions may run on the tensor cores in TF32, which rounds each
# product's inputs to 11 significant bits (relative error up to 2^-11 = 4.9e-4 per input); two
# epochs of Adam carry that into the weights, so the losses are held to 2 % of flex's.
agree() {
  local name=$1 config=$2
  for b in "$gpu" wgpu flex; do
    "$bin" --config "$config" --backend "$b" --out "$out/${name}_$b" \
      --set data.limit=2000 --set data.val_fraction=0.2 --set train.epochs=2 \
      >/dev/null 2>"$out/${name}_$b.err" || { echo "$name on $b failed:"; cat "$out/${name}_$b.err"; fail=1; }
  done
  "$py" - "$out" "$name" "$gpu" <<'EOF' || fail=1
import json, sys
out, name, gpu = sys.argv[1:4]
tolerance = {gpu: ("relative", 2e-2), "wgpu": ("absolute", 1e-4)}
def rows(b):
    return [json.loads(l) for l in open(f"{out}/{name}_{b}/metrics.jsonl")]
ok = True
flex = rows("flex")
for b, (kind, tol) in tolerance.items():
    worst = 0.0
    for r, f in zip(rows(b), flex):
        for k in ("train_loss", "val_loss"):
            d = abs(r[k] - f[k]) / (abs(f[k]) if kind == "relative" else 1.0)
            worst = max(worst, d)
            print(f"{name} epoch {r['epoch']} {k}: {b} {r[k]:.6f} flex {f[k]:.6f} {kind} diff {d:.2e}")
    good = worst <= tol
    ok &= good
    print(f"{name} {b} vs flex: largest {kind} difference {worst:.2e} (tolerance {tol:.0e})", "PASS" if good else "FAIL")
sys.exit(0 if ok else 1)
EOF
}
step "cuda, wgpu and flex agree: mnist_2d"
agree mnist_2d configs/experiments/mnist_2d.toml
step "cuda, wgpu and flex agree: the conv DAE (mnist_conv)"
agree mnist_conv configs/experiments/mnist_conv.toml

step "bench: $gpu beside PyTorch CUDA, each case's own batch"
"$bin" bench --backend "$gpu" --seconds "$secs" --torch "$py" --torch-device cuda --json "$out/bench.jsonl" || fail=1
step "bench: batch 256"
"$bin" bench --backend "$gpu" --seconds "$secs" --batch 256 --torch "$py" --torch-device cuda --json "$out/bench256.jsonl" || fail=1
"$py" scripts/bench_report.py --gpu "$(nvidia-smi --query-gpu=name --format=csv,noheader | head -1)" \
  "$out/bench.jsonl" "$out/bench256.jsonl" || fail=1

step "where a conv step goes: cubecl's profiler, conv at batch 256, 2 s"
CUBECL_DEBUG_LOG="$out/cubecl_profile.log" CUBECL_DEBUG_OPTION=profile-medium \
  "$bin" bench --backend "$gpu" --case conv --batch 256 --seconds 2 >/dev/null 2>&1 || fail=1
"$py" scripts/bench_report.py --profile "$out/cubecl_profile.log" || true

step "mnist_vae on $gpu, 10 epochs"
time { "$bin" --config configs/experiments/mnist_vae.toml --backend "$gpu" --out "$out/mnist_vae" 2>"$out/mnist_vae.err" | tail -3 || fail=1; }
"$py" - "$out/mnist_vae/summary.json" <<'EOF' || fail=1
import json, sys
s = json.load(open(sys.argv[1]))["test"]
nelbo = s["loss"]
print(f"mnist_vae test -ELBO {nelbo:.3f} nats (acceptance: <= 105)", "PASS" if nelbo <= 105.0 else "FAIL")
sys.exit(0 if nelbo <= 105.0 else 1)
EOF

echo; echo "gpu_check: $([ $fail -eq 0 ] && echo PASS || echo FAIL) ($(date +%T))"
exit $fail

#!/usr/bin/env bash
# GPU checks, for a machine with an NVIDIA GPU and PyTorch with CUDA (the lent H100):
#   1. wgpu finds the GPU (`ae-train backends`);
#   2. wgpu and flex train the same numbers (mnist_2d, 2000 images, 2 epochs);
#   3. `ae-train bench` on wgpu beside PyTorch on CUDA, at each case's batch and at batch 256,
#      and the data-loading share of a step (--pipeline);
#   4. configs/mnist_vae.toml trained end to end on the GPU, timed.
# Usage: scripts/gpu_check.sh OUT_DIR
# Env: AE_TRAIN (the binary; default target/release/ae-train), AE_TORCH_PYTHON (default python3),
#      AE_DATA_DIR (needs mnist/), AE_TORCH_REFERENCE (folder of torch_reference.py).
set -uo pipefail
out=${1:?usage: scripts/gpu_check.sh OUT_DIR}
bin=${AE_TRAIN:-target/release/ae-train}
py=${AE_TORCH_PYTHON:-python3}
secs=${AE_BENCH_SECONDS:-10}
mkdir -p "$out"
fail=0
step() { echo; echo "== $*"; }

step "GPU and adapters"
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader
"$bin" backends || fail=1

step "wgpu and flex agree (mnist_2d, 2000 images, 2 epochs)"
for b in wgpu flex; do
  "$bin" --config configs/mnist_2d.toml --backend "$b" --out "$out/agree_$b" \
    --set data.limit=2000 --set data.val_fraction=0.2 --set train.epochs=2 >/dev/null 2>"$out/agree_$b.err" || { cat "$out/agree_$b.err"; fail=1; }
done
"$py" - "$out" <<'EOF' || fail=1
import json, sys
out = sys.argv[1]
rows = {b: [json.loads(l) for l in open(f"{out}/agree_{b}/metrics.jsonl")] for b in ("wgpu", "flex")}
worst = 0.0
for w, f in zip(rows["wgpu"], rows["flex"]):
    for k in ("train_loss", "val_loss"):
        d = abs(w[k] - f[k]); worst = max(worst, d)
        print(f"epoch {w['epoch']} {k}: wgpu {w[k]:.6f} flex {f[k]:.6f} diff {d:.2e}")
print("largest difference", f"{worst:.2e}", "PASS" if worst < 1e-4 else "FAIL")
sys.exit(0 if worst < 1e-4 else 1)
EOF

step "bench: wgpu beside PyTorch CUDA, each case's own batch"
"$bin" bench --backend wgpu --seconds "$secs" --torch "$py" --torch-device cuda --json "$out/bench.jsonl" || fail=1
step "bench: batch 256"
"$bin" bench --backend wgpu --seconds "$secs" --batch 256 --torch "$py" --torch-device cuda --json "$out/bench256.jsonl" || fail=1
step "bench: data loading against compute (real MNIST)"
"$bin" bench --backend wgpu --case dense --seconds "$secs" --pipeline || fail=1

step "mnist_vae on the GPU, 10 epochs"
TIMEFORMAT='wall seconds: %R'
time { "$bin" --config configs/mnist_vae.toml --backend wgpu --out "$out/mnist_vae" 2>"$out/mnist_vae.err" | tail -3 || fail=1; }
"$py" -c "import json,sys; s=json.load(open(sys.argv[1])); print(json.dumps(s.get('test'), indent=1))" "$out/mnist_vae/summary.json" || fail=1

exit $fail

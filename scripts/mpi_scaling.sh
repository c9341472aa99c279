#!/usr/bin/env bash
# Data-parallel scaling on this machine: the dense 784-256-32 on the 60,000 MNIST training images
# (batch 256, 2 epochs, flex), trained by 1 process with every core, 1 process with 1 thread per
# process's share, and N processes under mpirun (default N=2); prints each epoch's samples/s and
# the ratios. Builds ae-train with the `mpi` feature first (scripts/setup.sh installs Open MPI).
#
#   scripts/mpi_scaling.sh [N]        # AE_DATA_DIR: where mnist/ is (default ../shared/datasets)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-2}
cores=$(nproc)
threads=$(( cores / n > 0 ? cores / n : 1 ))
export AE_DATA_DIR="${AE_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo build --release -p ae-train --features mpi >&2
bin="${CARGO_TARGET_DIR:-target}/release/ae-train"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/scale.toml" <<'EOF'
name = "scale"
[data]
dataset = "mnist"
val_fraction = 0.0
[model.network]
kind = "dense"
hidden = [256]
code = 32
output_activation = "sigmoid"
[train]
epochs = 2
batch_size = 256
learning_rate = 1e-3
seed = 1
tensorboard = false
EOF
run() { # label, then the command
  local label=$1; shift
  "$@" --config "$work/scale.toml" --backend flex --out "$work/$label" --quiet >/dev/null
  python3 - "$work/$label/metrics.jsonl" "$label" <<'EOF'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
print(sys.argv[2], " ".join(f"{e['samples_per_s']:.0f}" for e in m), f"{sum(e['samples_per_s'] for e in m) / len(m):.0f}")
EOF
}
{
  run "1x${cores}" "$bin"
  RAYON_NUM_THREADS=$threads run "1x${threads}" "$bin"
  RAYON_NUM_THREADS=$threads run "${n}x${threads}" mpirun --oversubscribe -np "$n" "$bin"
} | awk 'NR == 1 { base = $NF } { printf "%-6s processes x threads: samples/s per epoch %s %s, mean %s (%.2fx of 1 process with all cores)\n", $1, $2, $3, $NF, $NF / base }'

#!/usr/bin/env bash
# The model-zoo acceptance numbers on real MNIST (minutes each on 2 cores): trains the presets
# in full and prints what the ae-models issue asks for.
#   - mnist_vae: test -ELBO (nats per image) and the importance-sampled log-likelihood (K = 100);
#   - mnist_deep: test squared error per image (summed over 784 pixels), without and with
#     greedy layer-wise pretraining (5 epochs per layer);
#   - sparse, k_sparse, contractive: mean active code units (|value| > 0.1) on the test set and
#     the accuracy of a linear (softmax) classifier trained on the codes of all training items,
#     beside the same classifier on the raw pixels.
# Usage: scripts/model-acceptance.sh [OUT_DIR]   (default runs/acceptance; AE_DATA_DIR as usual)
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ae-target}"
export AE_DATA_DIR="${AE_DATA_DIR:-$(cd .. && pwd)/shared/datasets}"
out="${1:-runs/acceptance}"
cargo build --release --quiet -p ae-train
bin="$CARGO_TARGET_DIR/release/ae-train"
field() { # run-folder dotted.key
  python3 -c "import json,sys; v=json.load(open(sys.argv[1]+'/summary.json'))
for k in sys.argv[2].split('.'): v=v[k]
print(v)" "$1" "$2"
}
train() { # name config [--set ...]
  local name="$1" config="$2"; shift 2
  "$bin" --config "$config" --out "$out/$name" --force --quiet "$@" > /dev/null
}

train mnist_vae mnist_vae.toml
echo "mnist_vae: test -ELBO $(field "$out/mnist_vae" test.loss) nats/image," \
  "IWAE K=100 log-likelihood $(field "$out/mnist_vae" test.extra.log_likelihood_iwae_k100)"

train mnist_deep mnist_deep.toml
train mnist_deep_pretrained mnist_deep.toml --set train.pretrain_epochs=5
for run in mnist_deep mnist_deep_pretrained; do
  echo "$run: test squared error per image" \
    "$(python3 -c "print(round($(field "$out/$run" test.mse) * 784, 3))")"
done

for preset in sparse k_sparse contractive; do
  train "$preset" "$preset.toml"
  "$bin" encode "$out/$preset" > /dev/null
  "$bin" assist "$out/$preset" --labels 54000 > /dev/null
  python3 - "$out/$preset" <<'PY'
import json, sys
run = sys.argv[1]
e = json.load(open(run + "/encode.json")); a = json.load(open(run + "/assist.json"))
print(f"{run.split('/')[-1]}: {e['mean_active_units']:.2f} of {e['code_width']} units active per test image; "
      f"linear classifier on codes {a['accuracy_codes']:.4f} (on pixels {a['accuracy_inputs']:.4f}, {a['labels']} labels)")
PY
done

#!/usr/bin/env bash
# Downloads datasets into datasets/ (or $AE_DATA_DIR) from their canonical sources through
# `ae-train data fetch`: each file's SHA-256 (MD5 for CIFAR-10, whose SHA-256 is not published)
# is checked while it streams into a temp file, which is renamed only when it matches; archives
# are extracted into a temp folder, refusing absolute paths, `..` and links.
# Usage: scripts/fetch-datasets.sh [mnist|fashion-mnist|satellite|cifar10|all]...
set -euo pipefail
cd "$(dirname "$0")/.."
export AE_DATA_DIR="${AE_DATA_DIR:-$PWD/datasets}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ae-target}"
exec cargo run --release --quiet -p ae-train -- data fetch "${@:-all}"

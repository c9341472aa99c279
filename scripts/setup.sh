#!/usr/bin/env bash
# Installs what building and testing need on a fresh Debian/Ubuntu machine:
# - the pinned Rust toolchain (rust-toolchain.toml) with rustfmt and clippy, through rustup;
# - Mesa's Vulkan drivers (lavapipe), so the wgpu backend runs on machines without a GPU;
# - pkg-config and a C compiler for the few crates that build C;
# - Open MPI (mpirun, the library and its headers) and libclang, for data-parallel training with
#   the `mpi` feature (`mpirun -np N ae-train ...`) and its tests.
# Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v cc >/dev/null 2>&1 || need_apt+=(build-essential)
command -v pkg-config >/dev/null 2>&1 || need_apt+=(pkg-config)
ls /usr/share/vulkan/icd.d/lvp_icd*.json >/dev/null 2>&1 || need_apt+=(mesa-vulkan-drivers)
ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1' || need_apt+=(libvulkan1)
command -v mpirun >/dev/null 2>&1 || need_apt+=(openmpi-bin)
command -v mpicc >/dev/null 2>&1 || need_apt+=(libopenmpi-dev)
ldconfig -p 2>/dev/null | grep -q 'libclang' || need_apt+=(libclang-dev)
command -v ip >/dev/null 2>&1 || need_apt+=(iproute2)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: installing rustup"
  curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal --default-toolchain none
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
# rustup installs the toolchain rust-toolchain.toml pins on first use; make it explicit here.
rustup show active-toolchain >/dev/null 2>&1 || rustup toolchain install
echo "setup: ok ($(cargo --version))"

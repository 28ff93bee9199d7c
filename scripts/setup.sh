#!/usr/bin/env bash
# Install dlenergy's build and test dependencies on Debian 12 (run as root). Idempotent:
# packages already present are left alone, so a second run is quick.
set -euo pipefail

PACKAGES=(
  build-essential cmake pkg-config
  libtorch-dev          # LibTorch 1.13 (CPU), find_package(Torch)
  libopenblas0-pthread  # otherwise LibTorch runs Linear layers on the reference BLAS (~18x slower)
  libeigen3-dev nlohmann-json3-dev libcli11-dev libyaml-cpp-dev libsqlite3-dev
  libgtest-dev libbenchmark-dev
  gnuplot-nox
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run this script as root (or install them with: sudo apt-get install ${missing[*]})" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all packages present" >&2
fi

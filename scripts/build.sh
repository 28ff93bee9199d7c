#!/usr/bin/env bash
# Configure and build dlenergy (and its LibTorch plugin) into ./build. Used by quickstart.sh and test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${DLENERGY_BUILD_DIR:-build}
JOBS=${DLENERGY_JOBS:-$(nproc)}
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DDLENERGY_WITH_TORCH=ON >"$BUILD_DIR.configure.log" 2>&1 || {
  cat "$BUILD_DIR.configure.log" >&2
  echo "build: cmake configure failed (log above); did scripts/setup.sh run?" >&2
  exit 1
}
cmake --build "$BUILD_DIR" -j "$JOBS"

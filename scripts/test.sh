#!/usr/bin/env bash
# Install the dependencies (Debian 12, as root), build everything, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
cd build
ctest --output-on-failure -j "${DLENERGY_JOBS:-$(nproc)}" --timeout 900

#!/usr/bin/env bash
# Quick start: install the dependencies (Debian 12, as root), build, and run the main job:
# the energy of a built-in network (VGG16, batch 8) predicted from its configuration alone.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh >/dev/null
./build/bin/dlenergy estimate --arch vgg16 --batch-size 8

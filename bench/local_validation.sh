#!/usr/bin/env bash
# End to end on this machine (issue 6, item 6: "develop against networks you collect here"): collect random layer
# configurations, fit predictors on them alone, collect whole networks with each layer measured alone, and
# validate the predictors against those networks.
#
#   bench/local_validation.sh BUILD_DIR OUT_DIR [ARCHITECTURES] [BATCH_SIZES] [CONFIGS] [EXTRA collect flags...]
#
# BUILD_DIR needs bin/dlenergy and lib/libdlenergy_torch.so (configure with -DDLENERGY_WITH_TORCH=ON).
# Defaults: alexnet at batch sizes 1,2,4,8 and 80 random configurations per layer type (plus a quarter as many
# Linear ones with round input sizes), with ranges narrowed to
# what AlexNet at those batch sizes needs (so a 2-core machine finishes in about 15 minutes). On a machine without
# energy counters the sensor is `estimated` (CPU time x watts per core) and every figure says so; on RAPL/perf
# hardware the same command gives measured figures. The numbers in docs/estimate.md came from this script.
set -euo pipefail

build=${1:?build directory (with bin/dlenergy and lib/libdlenergy_torch.so)}
out=${2:?output directory}
archs=${3:-alexnet}
batches=${4:-1,2,4,8}
configs=${5:-80}
shift $(( $# < 5 ? $# : 5 ))
extra=("$@")

dlenergy="$build/bin/dlenergy"
mkdir -p "$out"
rm -f "$out"/layers.sqlite* "$out"/networks.sqlite*
max_batch=${batches##*,}

# Random configurations only; ranges cover the chosen networks' layer shapes in channels, kernels and strides
# (AlexNet: 3-384 channels, kernels 3-11, strides 1-4) at batch sizes up to the largest network batch. Images stop
# at 64 pixels so that a random 384-channel 11x11 convolution stays under a few seconds per pass here; AlexNet's
# first layer (224 pixels in, 55 out) then lies inside the ranges of the features (MACs, input and output
# elements) though not of the image size. A pass over 5 s ends its window (--max-pass-seconds). ReLUs are drawn
# in place and out of place (relu.inplace=0,1): networks run them in place, the paper sampled them out of place.
"$dlenergy" collect --db "$out/layers.sqlite" --layers conv2d,maxpool2d,linear,relu --configs "$configs" --seed 2023 \
  --range "batch_size=1:$max_batch" \
  --range conv2d.image_size=8:64 --range conv2d.in_channels=3:384 --range conv2d.out_channels=16:384 \
  --range conv2d.kernel_size=1:11 --range conv2d.stride=1:4 --range conv2d.padding=0:2 \
  --range maxpool2d.image_size=8:64 --range maxpool2d.in_channels=16:384 --range maxpool2d.kernel_size=2:5 \
  --range maxpool2d.stride=1:3 --range maxpool2d.padding=0:1 \
  --range linear.input_size=256:9216 --range linear.output_size=256:4096 \
  --range relu.input_size=4096:400000 --range relu.inplace=0,1 --max-pass-seconds 5 \
  "${extra[@]}" 2>&1 | tail -n 3 | tee "$out/collect-layers.log"

# Networks' Linear layers have round sizes (AlexNet: 9216 and 4096 inputs), whose weight rows are a multiple of
# 4 KiB long and cost up to 2x per byte here (docs/predictors.md, "aligned_rows"); uniform random sizes almost never
# are. A quarter as many Linear configurations again, with inputs drawn from the multiples of 1024, give the fit's
# aligned_rows flag the rows it needs (at least 10; with fewer, fit keeps the model without it).
"$dlenergy" collect --db "$out/layers.sqlite" --layers linear --configs $(( (configs + 3) / 4 )) --seed 2024 \
  --range "batch_size=1:$max_batch" --range linear.input_size=1024:9216:1024 --range linear.output_size=256:4096 \
  --max-pass-seconds 5 "${extra[@]}" 2>&1 | tail -n 3 | tee -a "$out/collect-layers.log"

"$dlenergy" fit --db "$out/layers.sqlite" --out "$out/predictors.json" \
  --description "bench/local_validation.sh: $configs random configurations per type on $(hostname)" \
  | tee "$out/fit.txt"

"$dlenergy" collect --db "$out/networks.sqlite" --architectures "$archs" --batch-sizes "$batches" "${extra[@]}" \
  2>&1 | tail -n 3 | tee "$out/collect-networks.log"

"$dlenergy" validate --db "$out/networks.sqlite" --predictors "$out/predictors.json" | tee "$out/validate.txt"
"$dlenergy" validate --db "$out/networks.sqlite" --predictors "$out/predictors.json" --format json > "$out/validate.json"

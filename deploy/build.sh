#!/usr/bin/env bash
# Configures and builds webrtc2sip into build/ (or $W2S_BUILD_DIR).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${W2S_BUILD_DIR:-$top/build}
jobs=${W2S_JOBS:-$(nproc)}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE="${W2S_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
cmake --build "$build" -j "$jobs"

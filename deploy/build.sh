#!/usr/bin/env bash
# Configures and builds webrtc2sip into build/ (or $W2S_BUILD_DIR).
#   deploy/build.sh [target...]      default: everything (tests included)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${W2S_BUILD_DIR:-$top/build}
jobs=${W2S_JOBS:-$(nproc)}
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE="${W2S_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
if [ $# -gt 0 ]; then
  cmake --build "$build" -j "$jobs" --target "$@"
else
  cmake --build "$build" -j "$jobs"
fi

#!/usr/bin/env bash
# The README's second command: installs what is needed, builds, and runs every
# test (unit, integration, end-to-end) with ctest. Exits non-zero on any failure.
#   deploy/test.sh [ctest arguments...]      e.g. deploy/test.sh -L unit
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${W2S_BUILD_DIR:-$top/build}

"$top/deploy/install-deps.sh" build runtime test
"$top/deploy/build.sh"
# The browser tests' JavaScript (JsSIP, SIP.js, playwright-core) from npm.
(cd "$top/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
# The chart test's Kubernetes schema validators (kubernetes-models) from npm.
(cd "$top/tests/deploy" && npm ci --no-audit --no-fund --loglevel=error)
cd "$build"
ctest --output-on-failure --timeout 600 "$@"

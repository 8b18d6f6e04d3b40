#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and starts a
# local gateway (signaling + one media-relay node) with deploy/config/local.yaml.
# Ctrl-C stops everything it started.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${W2S_BUILD_DIR:-$top/build}
config=${W2S_CONFIG:-$top/deploy/config/local.yaml}

"$top/deploy/install-deps.sh" build runtime
"$top/deploy/build.sh"

"$build/services/media-relay/webrtc2sip-media-relay" --check-config "$config"
"$build/services/signaling/webrtc2sip-signaling" --check-config "$config"

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait || true
}
trap stop INT TERM EXIT

"$build/services/media-relay/webrtc2sip-media-relay" --config "$config" &
pids+=($!)
"$build/services/signaling/webrtc2sip-signaling" --config "$config" &
pids+=($!)

cat <<MSG

webrtc2sip is running (Ctrl-C stops it):
  signaling    metrics http://127.0.0.1:9090/metrics   health http://127.0.0.1:9090/readyz
  media-relay  metrics http://127.0.0.1:9091/metrics   health http://127.0.0.1:9091/readyz
  config       $config

MSG
wait -n "${pids[@]}"

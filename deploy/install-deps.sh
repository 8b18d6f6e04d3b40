#!/usr/bin/env bash
# Installs the Debian 12 packages webrtc2sip needs. Idempotent; runs as root or through sudo.
#   deploy/install-deps.sh [build] [runtime] [local] [test] [bench]   (default: build runtime)
# "runtime" alone is what the container images' final stage installs.
set -euo pipefail

build_pkgs=(
  g++ cmake make pkg-config
  libsofia-sip-ua-dev libsofia-sip-ua-glib-dev
  libwebsockets-dev libwebsockets-evlib-glib
  libnice-dev libsrtp2-dev libssl-dev libglib2.0-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libyaml-cpp-dev libxml2-dev libgtest-dev libgmock-dev
  libopus-dev  # the Media Coder's own Opus encoder element (services/media-relay/coder)
  liburing-dev  # the media relay's batched sends (services/media-relay/net/io_batcher.h)
)
runtime_pkgs=(
  ca-certificates openssl
  libsofia-sip-ua0 libsofia-sip-ua-glib3 libwebsockets17 libwebsockets-evlib-glib
  libnice10 libsrtp2-1 libglib2.0-0 libopus0 liburing2
  libgstreamer1.0-0 libgstreamer-plugins-base1.0-0 libgstreamer-plugins-bad1.0-0
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav gstreamer1.0-nice
  libgrpc++1.51 libprotobuf32 libyaml-cpp0.7 libxml2
)
# What deploy/run-local.sh starts beside the gateway.
local_pkgs=(
  kamailio sip-tester nodejs npm
)
# The references the benchmarks (tests/bench) run against, and the codec libraries the Media
# Coder benchmark's raw ceiling calls directly (tests/bench/coder).
bench_pkgs=(
  rtpengine-daemon kamailio kamailio-websocket-modules sip-tester linux-perf
  libopus-dev libvpx-dev libx264-dev libavcodec-dev libavutil-dev
)
test_pkgs=(
  curl python3 python3-aiortc python3-yaml python3-websockets python3-grpcio python3-protobuf
  python3-av  # tests/integration/lib/tone.py: G.722 and GSM as a legacy phone codes them
  python3-numpy  # tests/integration/media_coder_video_test.py: its pictures (H.264 through python3-av)
  kamailio kamailio-websocket-modules kamailio-tls-modules sip-tester
  chromium nodejs npm tshark sox iproute2 procps dnsmasq-base openssl
  # tests/deploy: the Helm chart rendered by a Go renderer built from these.
  golang-go golang-github-masterminds-sprig-dev golang-k8s-sigs-yaml-dev
  golang-github-xeipuuv-gojsonschema-dev
)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(build runtime)

want=()
for g in "${groups[@]}"; do
  case "$g" in
    build) want+=("${build_pkgs[@]}") ;;
    runtime) want+=("${runtime_pkgs[@]}") ;;
    test) want+=("${test_pkgs[@]}") ;;
    local) want+=("${local_pkgs[@]}") ;;
    bench) want+=("${bench_pkgs[@]}") ;;
    *) echo "install-deps.sh: unknown group '$g' (build, runtime, local, test, bench)" >&2; exit 2 ;;
  esac
done

# Only what is missing, so a second run costs nothing.
missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node/npm may come from outside Debian (nodesource); accept any working node + npm.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
[ ${#missing[@]} -eq 0 ] && { echo "install-deps: all packages present"; exit 0; }

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"

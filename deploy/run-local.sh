#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and starts a
# whole local setup on 127.0.0.1: the gateway (signaling + one media-relay
# node), a local SIP network (Kamailio as registrar), a SIP phone that answers
# "echo" and sends your audio back (SIPp), and the demo phone page served by
# the gateway. Ctrl-C stops everything it started.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${W2S_BUILD_DIR:-$top/build}
run=${W2S_RUN_DIR:-$top/deploy/local/run}
ws_port=${W2S_WS_PORT:-10060}
sip_port=${W2S_SIP_PORT:-10061}
kam_port=${W2S_KAMAILIO_PORT:-10070}
echo_port=${W2S_ECHO_PORT:-10072}
echo_media_port=${W2S_ECHO_MEDIA_PORT:-21000}
signaling_http=${W2S_SIGNALING_HTTP_PORT:-9090}
relay_http=${W2S_RELAY_HTTP_PORT:-9091}
relay_grpc=${W2S_RELAY_GRPC_PORT:-50051}
rtp_min=${W2S_RTP_PORT_MIN:-20000}

"$top/deploy/install-deps.sh" build runtime local
"$top/deploy/build.sh" webrtc2sip-signaling webrtc2sip-media-relay
mkdir -p "$run"

# The demo page's SIP library (JsSIP from npm), bundled once.
(cd "$top/tests/e2e" && npm ci --no-audit --no-fund --loglevel=error)
node "$top/deploy/local/write-jssip-bundle.mjs" "$top/deploy/local/web/jssip.js" >/dev/null

cat > "$run/webrtc2sip.yaml" <<YAML
log: {level: info, format: kv}
media:
  codecs: [opus, pcma, pcmu, g722, gsm]
signaling:
  transports:
    - {protocol: udp, address: 127.0.0.1, port: $sip_port}
    - {protocol: ws, address: 127.0.0.1, port: $ws_port}
  outbound_proxy: "sip:127.0.0.1:$kam_port;transport=udp"
  web_root: $top/deploy/local/web
  allow_ha1_over_ws: yes
  http_listen: 127.0.0.1:$signaling_http
  media_nodes: {addresses: [127.0.0.1:$relay_grpc]}
media_relay:
  grpc_listen: 127.0.0.1:$relay_grpc
  http_listen: 127.0.0.1:$relay_http
  bind_address: 127.0.0.1
  port_range: {min: $rtp_min, max: $((rtp_min + 999))}
YAML
"$build/services/signaling/webrtc2sip-signaling" --check-config "$run/webrtc2sip.yaml" >/dev/null
"$build/services/media-relay/webrtc2sip-media-relay" --check-config "$run/webrtc2sip.yaml" >/dev/null

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

kamailio -f "$top/deploy/local/kamailio.cfg" -A ECHO_PORT="$echo_port" \
  -l "udp:127.0.0.1:$kam_port" -DD -E -w "$run" -m 32 -M 8 >"$run/kamailio.log" 2>&1 &
pids+=($!)
sipp -sn uas -i 127.0.0.1 -p "$echo_port" -mi 127.0.0.1 -mp "$echo_media_port" -rtp_echo -nostdin \
  >"$run/echo-phone.log" 2>&1 &
pids+=($!)
"$build/services/media-relay/webrtc2sip-media-relay" --config "$run/webrtc2sip.yaml" >"$run/media-relay.log" 2>&1 &
pids+=($!)
"$build/services/signaling/webrtc2sip-signaling" --config "$run/webrtc2sip.yaml" >"$run/signaling.log" 2>&1 &
pids+=($!)

cat <<MSG

webrtc2sip is running on 127.0.0.1 (Ctrl-C stops everything):
  demo phone      http://127.0.0.1:$ws_port/?domain=127.0.0.1:$kam_port
                  register as any user (password "secret"), call "echo" to hear yourself,
                  or open a second tab, register another user and call it by name
  SIP over WS     ws://127.0.0.1:$ws_port          SIP network (Kamailio) udp 127.0.0.1:$kam_port
  metrics         http://127.0.0.1:$signaling_http/metrics (signaling)  http://127.0.0.1:$relay_http/metrics (media-relay)
  logs            $run/*.log

MSG
wait -n "${pids[@]}"

{{/* Names and labels. */}}
{{- define "webrtc2sip.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "webrtc2sip.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "webrtc2sip.signaling" -}}{{ include "webrtc2sip.fullname" . | trunc 53 | trimSuffix "-" }}-signaling{{- end -}}
{{- define "webrtc2sip.mediaRelay" -}}{{ include "webrtc2sip.fullname" . | trunc 51 | trimSuffix "-" }}-media-relay{{- end -}}

{{- define "webrtc2sip.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "webrtc2sip.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selector labels of one component: (dict "root" $ "component" "signaling"). */}}
{{- define "webrtc2sip.selectorLabels" -}}
app.kubernetes.io/name: {{ include "webrtc2sip.name" .root }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "webrtc2sip.image" -}}
{{- $tag := default .root.Chart.AppVersion .image.tag -}}
{{- printf "%s%s:%s" .root.Values.image.registry .image.repository $tag -}}
{{- end -}}

{{/* The media nodes' headless Service, as signaling resolves it. */}}
{{- define "webrtc2sip.mediaNodesDnsName" -}}
{{- printf "%s.%s.svc.%s:%d" (include "webrtc2sip.mediaRelay" .) .Release.Namespace .Values.clusterDomain (int .Values.mediaRelay.ports.grpc) -}}
{{- end -}}

{{/* Its SRV name: the Service's port named grpc, over TCP. */}}
{{- define "webrtc2sip.mediaNodesSrvName" -}}
{{- printf "_grpc._tcp.%s.%s.svc.%s" (include "webrtc2sip.mediaRelay" .) .Release.Namespace .Values.clusterDomain -}}
{{- end -}}

{{/*
The gateway's YAML configuration (docs/configuration.md), one file for both
services. Addresses known only in the pod are @W2S_...@ placeholders that
start.sh fills from the downward API.
*/}}
{{- define "webrtc2sip.config" -}}
{{- $v := .Values -}}
{{- $s := $v.signaling -}}
{{- $r := $v.mediaRelay -}}
{{- $transports := list (dict "protocol" "udp" "port" (int $s.ports.sip)) (dict "protocol" "tcp" "port" (int $s.ports.sip)) (dict "protocol" "ws" "port" (int $s.ports.ws)) -}}
{{- if $v.tls.enabled -}}
{{- $transports = append $transports (dict "protocol" "wss" "port" (int $s.ports.wss)) -}}
{{- if $s.sipTls -}}
{{- $transports = append $transports (dict "protocol" "tls" "port" (int $s.ports.sipTls)) -}}
{{- end -}}
{{- end -}}
{{- /* signaling.media_nodes: the Service's A/AAAA records, or its SRV records. */ -}}
{{- $nodes := dict "dns_name" (include "webrtc2sip.mediaNodesDnsName" .) "dns_refresh_seconds" (int $s.mediaNodesRefreshSeconds) -}}
{{- if eq (toString $s.mediaNodesDiscovery) "srv" -}}
{{- $nodes = dict "dns_srv" (include "webrtc2sip.mediaNodesSrvName" .) "dns_refresh_seconds" (int $s.mediaNodesRefreshSeconds) -}}
{{- else if ne (toString $s.mediaNodesDiscovery) "a" -}}
{{- fail (printf "signaling.mediaNodesDiscovery: %q is neither a nor srv" (toString $s.mediaNodesDiscovery)) -}}
{{- end -}}
{{- $signaling := dict "transports" $transports "http_listen" (printf "0.0.0.0:%d" (int $s.ports.http)) "advertised_host" (default "@W2S_ADVERTISED_HOST@" $s.advertisedHost) "media_nodes" $nodes "drain_deadline_seconds" (int $s.drainDeadlineSeconds) -}}
{{- if $v.tls.enabled -}}
{{- $certs := dict "private_key" "tls/tls.key" "certificate" "tls/tls.crt" -}}
{{- if $v.tls.verifyPeers -}}
{{- $_ := set $certs "ca" "tls/ca.crt" -}}
{{- $_ := set $certs "verify" true -}}
{{- end -}}
{{- $_ := set $signaling "ssl_certificates" $certs -}}
{{- end -}}
{{- $signaling = mergeOverwrite $signaling (deepCopy (default dict $s.config)) -}}
{{- $advertised := dict "webrtc" (default "@W2S_ADVERTISED_WEBRTC@" $r.advertised.webrtc) "legacy" (default "@W2S_ADVERTISED_LEGACY@" $r.advertised.legacy) -}}
{{- $relay := dict "grpc_listen" (printf "0.0.0.0:%d" (int $r.ports.grpc)) "http_listen" (printf "0.0.0.0:%d" (int $r.ports.http)) "bind_address" "0.0.0.0" "advertised" $advertised "port_range" (dict "min" (int $r.portRange.min) "max" (int $r.portRange.max)) "capacity" (int $r.capacity) "workers" (int $r.workers) "ice_mode" $r.iceMode "drain_deadline_seconds" (int $r.drainDeadlineSeconds) -}}
{{- $relay = mergeOverwrite $relay (deepCopy (default dict $r.config)) -}}
{{- $cfg := deepCopy (default dict $v.config) -}}
{{- $_ := set $cfg "signaling" $signaling -}}
{{- $_ := set $cfg "media_relay" $relay -}}
{{- toYaml $cfg -}}
{{- end -}}

{{/* The pod template annotations: config checksum (a new config rolls the pods) and scraping. */}}
{{- define "webrtc2sip.podAnnotations" -}}
checksum/config: {{ include "webrtc2sip.config" .root | sha256sum }}
{{- if .root.Values.metrics.annotations }}
prometheus.io/scrape: "true"
prometheus.io/port: {{ .port | quote }}
prometheus.io/path: /metrics
{{- end }}
{{- with .extra }}
{{ toYaml . }}
{{- end }}
{{- end -}}

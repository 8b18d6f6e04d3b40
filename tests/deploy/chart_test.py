"""The Helm chart (helm/webrtc2sip) proven without a cluster.

Renders the chart as `helm template` does (w2s-chart-render: Go text/template
with sprig and Helm's own functions, built from Debian's Go packages), for the
default values and realistic value sets, then:
  - validates every rendered object against the Kubernetes API schemas
    (validate-k8s.mjs: the kubernetes-models validators generated from the
    upstream OpenAPI document, plus unknown fields);
  - runs each pod's own start script on its rendered ConfigMap, with the
    downward API values it would get, and checks the result with the real
    binaries' --check-config;
  - checks what the objects mean: host networking and one pod per node for
    media nodes, probes on each service's HTTP port, the headless Service that
    signaling resolves (A or SRV), grace periods that cover each service's
    drain, the HPA's metric
    being one the media relay exports, Services and selectors that match;
  - checks the container files and the monitoring files against the code
    (binary targets, metric names).

Run: W2S_BUILD_DIR=build /usr/bin/python3 tests/deploy/chart_test.py"""

import copy
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

import yaml

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../integration/lib"))
import w2s  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHART = os.path.join(w2s.SOURCE_DIR, "helm/webrtc2sip")
RENDERER = os.path.join(w2s.BUILD_DIR, "tests/deploy/w2s-chart-render")
RELEASE, NAMESPACE = "w2s", "voice"

# Value sets a real installation would use, merged over values.yaml.
VALUE_SETS = {
    "defaults": {},
    "tls-ingress-podmonitor": {
        "tls": {"enabled": True, "secretName": "webrtc2sip-tls"},
        "signaling": {
            "replicas": 3,
            "sipTls": True,
            "ingress": {"enabled": True, "host": "sip.example.org", "tlsSecretName": "sip-example-org"},
            "config": {"outbound_proxy": "sip:pbx.voice.svc.cluster.local:5060;transport=udp",
                       "allow_ha1_over_ws": False, "session_lease_seconds": 60},
        },
        "mediaRelay": {"autoscaling": {"minReplicas": 3, "maxReplicas": 20, "targetAverageValue": "700m"},
                       "portRange": {"min": 40000, "max": 49999}, "capacity": 500,
                       "drainDeadlineSeconds": 7200},
        "metrics": {"annotations": False, "podMonitor": {"enabled": True, "labels": {"release": "prometheus"}}},
        "image": {"registry": "registry.example.org/", "pullSecrets": ["regcred"]},
    },
    "daemonset-dedicated-nodes": {
        "mediaRelay": {
            "kind": "DaemonSet",
            "advertised": {"webrtc": "203.0.113.10", "legacy": ""},
            "nodeSelector": {"webrtc2sip.example.org/media": "true"},
            "tolerations": [{"key": "media", "operator": "Exists", "effect": "NoSchedule"}],
            "iceMode": "full",
            "config": {"workers": 4},
        },
        "config": {"media": {"codecs": ["pcmu", "pcma", "opus"], "srtp_mode": "none",
                             "stun_server": {"host": "stun.example.org"}, "enable_icestun": True}},
        "signaling": {"sipService": {"type": "ClusterIP"}, "service": {"type": "NodePort"},
                      "advertisedHost": "sip-gw.example.org"},
    },
    "static-replicas-no-hpa": {
        "mediaRelay": {"autoscaling": {"enabled": False}, "replicas": 4, "hostNetwork": False,
                       "advertised": {"fieldPath": "status.podIP"}},
        "signaling": {"replicas": 1, "pdb": {"enabled": False}, "mediaNodesDiscovery": "srv",
                      "drainDeadlineSeconds": 600},
        "config": {"log": {"level": "debug", "format": "kv"}},
    },
}


def build_renderer():
    os.makedirs(os.path.dirname(RENDERER), exist_ok=True)
    gocache = os.path.join(w2s.BUILD_DIR, "tests/deploy/gocache")
    env = dict(os.environ, GO111MODULE="off", GOPATH="/usr/share/gocode", GOCACHE=gocache,
               GOPROXY="off", GOFLAGS="", CGO_ENABLED="0")
    subprocess.run(["go", "build", "-o", RENDERER, "."], cwd=os.path.join(HERE, "chart-render"),
                   env=env, check=True)


def render(values, name=RELEASE, namespace=NAMESPACE, extra=()):
    """Renders the chart with `values` merged over values.yaml: (returncode, objects or stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
        yaml.safe_dump(values, f)
    try:
        p = subprocess.run([RENDERER, "--name", name, "--namespace", namespace, "-f", f.name,
                            *extra, CHART], capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if p.returncode != 0:
        return p.returncode, p.stderr
    return 0, [d for d in yaml.safe_load_all(p.stdout) if d]


def validate(objects):
    """validate-k8s.mjs over the objects: (returncode, output)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(objects, f)
    try:
        p = subprocess.run(["node", os.path.join(HERE, "validate-k8s.mjs"), f.name],
                           capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    return p.returncode, p.stdout + p.stderr


def find(objects, kind, suffix=None):
    found = [o for o in objects if o["kind"] == kind and
             (suffix is None or o["metadata"]["name"].endswith(suffix))]
    return found


def one(objects, kind, suffix=None):
    found = find(objects, kind, suffix)
    assert len(found) == 1, f"{kind} {suffix}: {len(found)} found"
    return found[0]


def exported_metrics():
    """Metric names registered in the services' code: {name: kind}."""
    names = {}
    for path in glob.glob(os.path.join(w2s.SOURCE_DIR, "services/**/*.[ch]*"), recursive=True) + \
            glob.glob(os.path.join(w2s.SOURCE_DIR, "common/**/*.[ch]*"), recursive=True):
        text = open(path, errors="replace").read()
        for kind, name in re.findall(r'Add(Counter|Gauge|Histogram)\(\s*"(webrtc2sip_[a-z0-9_]+)"', text):
            names[name] = kind.lower()
    return names


def container_env(container, field_values):
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = e["value"]
        else:
            env[e["name"]] = field_values[e["valueFrom"]["fieldRef"]["fieldPath"]]
    return env


class ChartTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        build_renderer()
        cls.rendered = {}
        for name, values in VALUE_SETS.items():
            code, out = render(values)
            assert code == 0, f"{name}: {out}"
            cls.rendered[name] = out
        cls.metrics = exported_metrics()
        cls.workdir = tempfile.mkdtemp(prefix="w2s-chart-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.workdir, ignore_errors=True)

    def workload(self, objects):
        kinds = [o for o in objects if o["kind"] in ("StatefulSet", "DaemonSet")]
        self.assertEqual(len(kinds), 1)
        return kinds[0]

    def config_of(self, objects):
        cm = one(objects, "ConfigMap")
        return yaml.safe_load(cm["data"]["webrtc2sip.yaml"]), cm

    # ------------------------------------------------------------ schemas

    def test_every_rendered_object_passes_the_kubernetes_schemas(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                code, out = validate(objects)
                self.assertEqual(code, 0, out)
                self.assertEqual(out.count(": valid "), len(objects), out)

    def test_the_validator_rejects_broken_objects(self):
        objects = self.rendered["defaults"]
        broken = []
        sts = copy.deepcopy(self.workload(objects))
        sts["spec"]["template"]["spec"]["hostNetwrok"] = True  # a typo: unknown field
        broken.append(sts)
        dep = copy.deepcopy(one(objects, "Deployment"))
        dep["spec"]["replicas"] = "2"  # wrong type
        broken.append(dep)
        svc = copy.deepcopy(one(objects, "Service", "-ws"))
        del svc["spec"]["ports"][0]["port"]  # required field
        broken.append(svc)
        hpa = copy.deepcopy(one(objects, "HorizontalPodAutoscaler"))
        hpa["apiVersion"] = "autoscaling/v9"  # no such version
        broken.append(hpa)
        code, out = validate(broken)
        self.assertEqual(code, 1, out)
        self.assertIn("/spec/template/spec/hostNetwrok: unknown field", out)
        self.assertIn('/spec/replicas type {"type":"integer"}', out)
        self.assertIn('{"missingProperty":"port"}', out)
        self.assertIn("autoscaling/v9 HorizontalPodAutoscaler is not a known Kubernetes kind", out)
        self.assertEqual(out.count(": valid "), 0, out)

    def test_required_values_and_bad_choices_fail_the_render(self):
        code, err = render({"tls": {"enabled": True}})
        self.assertNotEqual(code, 0)
        self.assertIn("tls.secretName is required", err)
        code, err = render({"mediaRelay": {"kind": "Deployment"}})
        self.assertNotEqual(code, 0)
        self.assertIn("mediaRelay.kind must be StatefulSet or DaemonSet", err)
        code, err = render({"signaling": {"mediaNodesDiscovery": "aaaa"}})
        self.assertNotEqual(code, 0)
        self.assertIn('signaling.mediaNodesDiscovery: "aaaa" is neither a nor srv', err)

    # ------------------------------------------------------------ configuration

    def check_config_in_pod(self, objects, workload, binary, field_values):
        """Runs the pod's start.sh (from the ConfigMap) with the env the
        container gets, paths moved to a temporary directory, and the real
        binary's --check-config. Returns the config the pod would run with."""
        _, cm = self.config_of(objects)
        container = workload["spec"]["template"]["spec"]["containers"][0]
        self.assertEqual(container["command"], ["/bin/sh", "/etc/webrtc2sip/start.sh"])
        self.assertEqual(container["args"][0], os.path.basename(binary))
        self.assertEqual(container["args"][1:], ["--config"])
        mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
        self.assertEqual(mounts["config"], "/etc/webrtc2sip")
        env = container_env(container, field_values)
        self.assertEqual(env["W2S_CONFIG_TEMPLATE"], "/etc/webrtc2sip/webrtc2sip.yaml")
        self.assertEqual(os.path.dirname(env["W2S_CONFIG"]), mounts["run"])

        pod = tempfile.mkdtemp(dir=self.workdir)
        etc, run = os.path.join(pod, "etc"), os.path.join(pod, "run")
        os.makedirs(etc)
        os.makedirs(run)
        for key, text in cm["data"].items():
            with open(os.path.join(etc, key), "w") as f:
                f.write(text)
        if "tls" in mounts:
            self.assertEqual(mounts["tls"], os.path.join(mounts["run"], "tls"))
            tls = os.path.join(run, "tls")
            os.makedirs(tls)
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                            "-subj", "/CN=sip.example.org", "-keyout", os.path.join(tls, "tls.key"),
                            "-out", os.path.join(tls, "tls.crt")], check=True, capture_output=True)
        env["W2S_CONFIG_TEMPLATE"] = os.path.join(etc, "webrtc2sip.yaml")
        env["W2S_CONFIG"] = os.path.join(run, "webrtc2sip.yaml")
        env["PATH"] = os.environ["PATH"]
        p = subprocess.run(["/bin/sh", os.path.join(etc, "start.sh"), binary, "--check-config"],
                           env=env, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn(": ok", p.stdout)
        return w2s.load_yaml(env["W2S_CONFIG"])

    def test_each_pods_config_passes_check_config_of_the_real_binaries(self):
        fields = {"status.hostIP": "192.0.2.21", "status.podIP": "10.244.1.7"}
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                cfg = self.check_config_in_pod(objects, self.workload(objects),
                                               w2s.binary("webrtc2sip-media-relay"), fields)
                relay = VALUE_SETS[name].get("mediaRelay", {})
                field = relay.get("advertised", {}).get("fieldPath", "status.hostIP")
                want_webrtc = relay.get("advertised", {}).get("webrtc") or fields[field]
                self.assertEqual(cfg["media_relay"]["advertised"],
                                 {"webrtc": want_webrtc, "legacy": fields[field]})
                cfg = self.check_config_in_pod(objects, one(objects, "Deployment"),
                                               w2s.binary("webrtc2sip-signaling"), fields)
                want_host = VALUE_SETS[name].get("signaling", {}).get("advertisedHost") or fields["status.podIP"]
                self.assertEqual(cfg["signaling"]["advertised_host"], want_host)
                self.assertNotIn("@W2S_", json.dumps(cfg))

    def test_a_bad_gateway_config_from_values_is_caught_by_check_config(self):
        # The check above has teeth: a key the gateway does not know renders
        # into valid Kubernetes objects but fails --check-config.
        code, objects = render({"mediaRelay": {"config": {"drain_deadline_secs": 10}}})
        self.assertEqual(code, 0, objects)
        with self.assertRaises(AssertionError) as err:
            self.check_config_in_pod(objects, self.workload(objects), w2s.binary("webrtc2sip-media-relay"),
                                     {"status.hostIP": "192.0.2.1"})
        self.assertIn("media_relay.drain_deadline_secs: unknown key", str(err.exception))

    # ------------------------------------------------------------ media nodes

    def test_media_nodes_use_the_host_network_one_pod_per_node(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                w = self.workload(objects)
                spec = w["spec"]["template"]["spec"]
                want = VALUE_SETS[name].get("mediaRelay", {}).get("hostNetwork", True)
                self.assertIs(spec.get("hostNetwork", False), want)
                if want:
                    self.assertEqual(spec["dnsPolicy"], "ClusterFirstWithHostNet")
                if w["kind"] == "StatefulSet":
                    terms = spec["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                    self.assertEqual(terms[0]["topologyKey"], "kubernetes.io/hostname")
                    self.assertEqual(terms[0]["labelSelector"]["matchLabels"], w["spec"]["selector"]["matchLabels"])
                    self.assertEqual(w["spec"]["podManagementPolicy"], "Parallel")

    def test_signaling_finds_media_nodes_through_the_headless_service(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                cfg, _ = self.config_of(objects)
                w = self.workload(objects)
                svc = one(objects, "Service", "-media-relay")
                self.assertEqual(svc["spec"]["clusterIP"], "None")
                self.assertIs(svc["spec"]["publishNotReadyAddresses"], False)
                self.assertEqual(svc["spec"]["selector"], w["spec"]["selector"]["matchLabels"])
                labels = w["spec"]["template"]["metadata"]["labels"]
                self.assertTrue(all(labels[k] == v for k, v in svc["spec"]["selector"].items()))
                grpc_port = w2s.port_of(cfg["media_relay"]["grpc_listen"])
                self.assertEqual(svc["spec"]["ports"][0]["port"], grpc_port)
                nodes = cfg["signaling"]["media_nodes"]
                fqdn = f"{svc['metadata']['name']}.{NAMESPACE}.svc.cluster.local"
                if VALUE_SETS[name].get("signaling", {}).get("mediaNodesDiscovery") == "srv":
                    # Kubernetes publishes _<port name>._<protocol>.<service> SRV records.
                    port = svc["spec"]["ports"][0]
                    self.assertEqual(nodes["dns_srv"],
                                     f"_{port['name']}._{port['protocol'].lower()}.{fqdn}")
                    self.assertNotIn("dns_name", nodes)
                else:
                    self.assertEqual(nodes["dns_name"], f"{fqdn}:{grpc_port}")
                    self.assertNotIn("dns_srv", nodes)
                self.assertNotIn("addresses", nodes)
                if w["kind"] == "StatefulSet":
                    self.assertEqual(w["spec"]["serviceName"], svc["metadata"]["name"])

    def test_probes_point_at_each_services_http_port(self):
        for name, objects in self.rendered.items():
            cfg, _ = self.config_of(objects)
            for workload, key in ((one(objects, "Deployment"), cfg["signaling"]["http_listen"]),
                                  (self.workload(objects), cfg["media_relay"]["http_listen"])):
                with self.subTest(values=name, workload=workload["kind"]):
                    c = workload["spec"]["template"]["spec"]["containers"][0]
                    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
                    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                        get = c[probe]["httpGet"]
                        self.assertEqual(get["path"], path)
                        self.assertEqual(ports[get["port"]], w2s.port_of(key))
                    ann = workload["spec"]["template"]["metadata"]["annotations"]
                    if VALUE_SETS[name].get("metrics", {}).get("annotations", True):
                        self.assertEqual(ann["prometheus.io/scrape"], "true")
                        self.assertEqual(int(ann["prometheus.io/port"]), w2s.port_of(key))
                    else:
                        self.assertNotIn("prometheus.io/scrape", ann)

    def test_the_drain_fits_in_the_grace_period(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                cfg, _ = self.config_of(objects)
                spec = self.workload(objects)["spec"]["template"]["spec"]
                self.assertGreater(spec["terminationGracePeriodSeconds"],
                                   cfg["media_relay"]["drain_deadline_seconds"])
                pre = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
                self.assertEqual(pre[:2], ["/bin/sh", "-c"])
                self.assertIn("kill -TERM 1", pre[2])
                self.assertIn("while kill -0 1", pre[2])
                # The relay is PID 1: start.sh ends with exec.
                _, cm = self.config_of(objects)
                self.assertRegex(cm["data"]["start.sh"], r'\nexec "\$@" "\$W2S_CONFIG"\n?$')
                pdb = [p for p in find(objects, "PodDisruptionBudget")
                       if p["spec"]["selector"] == self.workload(objects)["spec"]["selector"]]
                self.assertEqual(len(pdb), 1)
                self.assertEqual(pdb[0]["spec"]["maxUnavailable"], 1)

    def test_the_signaling_drain_fits_in_its_grace_period(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                cfg, _ = self.config_of(objects)
                spec = one(objects, "Deployment")["spec"]["template"]["spec"]
                pre = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
                sleep = int(re.fullmatch(r"sleep (\d+)", pre[2]).group(1))
                deadline = cfg["signaling"]["drain_deadline_seconds"]
                want = VALUE_SETS[name].get("signaling", {}).get("drainDeadlineSeconds", 3600)
                self.assertEqual(deadline, want)
                # SIGTERM comes after the preStop sleep; the drain then needs its deadline.
                self.assertGreater(spec["terminationGracePeriodSeconds"], sleep + deadline)

    def test_the_autoscaler_scales_the_statefulset_on_a_metric_the_relay_exports(self):
        self.assertIn("webrtc2sip_media_node_load", self.metrics)
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                w = self.workload(objects)
                hpas = find(objects, "HorizontalPodAutoscaler")
                relay = VALUE_SETS[name].get("mediaRelay", {})
                if w["kind"] == "DaemonSet" or relay.get("autoscaling", {}).get("enabled") is False:
                    self.assertEqual(hpas, [])
                    if w["kind"] == "StatefulSet":
                        self.assertEqual(w["spec"]["replicas"], relay["replicas"])
                    continue
                self.assertNotIn("replicas", w["spec"])  # the HPA owns it
                hpa = hpas[0]
                ref = hpa["spec"]["scaleTargetRef"]
                self.assertEqual((ref["apiVersion"], ref["kind"], ref["name"]),
                                 ("apps/v1", "StatefulSet", w["metadata"]["name"]))
                metric = hpa["spec"]["metrics"][0]
                self.assertEqual(metric["type"], "Pods")
                self.assertEqual(self.metrics.get(metric["pods"]["metric"]["name"]), "gauge")
                self.assertEqual(metric["pods"]["target"]["type"], "AverageValue")

    # ------------------------------------------------------------ signaling

    def test_services_reach_the_signaling_pods_on_their_transports(self):
        for name, objects in self.rendered.items():
            with self.subTest(values=name):
                cfg, _ = self.config_of(objects)
                dep = one(objects, "Deployment")
                labels = dep["spec"]["template"]["metadata"]["labels"]
                c = dep["spec"]["template"]["spec"]["containers"][0]
                ports = {p["name"]: (p["containerPort"], p["protocol"]) for p in c["ports"]}
                transports = {(t["protocol"], t["port"]) for t in cfg["signaling"]["transports"]}
                proto = {"sip-udp": "udp", "sip-tcp": "tcp", "sip-tls": "tls", "ws": "ws", "wss": "wss"}
                for pname, (port, _) in ports.items():
                    if pname in proto:
                        self.assertIn((proto[pname], port), transports)
                self.assertEqual(len(transports), len([p for p in ports if p in proto]))
                for svc in find(objects, "Service"):
                    if svc["metadata"]["name"].endswith("-media-relay"):
                        continue
                    self.assertTrue(all(labels[k] == v for k, v in svc["spec"]["selector"].items()))
                    for p in svc["spec"]["ports"]:
                        self.assertIn(p["targetPort"], ports)
                        self.assertEqual(p["protocol"], ports[p["targetPort"]][1])
                tls = VALUE_SETS[name].get("tls", {}).get("enabled", False)
                self.assertEqual("wss" in ports, tls)
                ingress = find(objects, "Ingress")
                if VALUE_SETS[name].get("signaling", {}).get("ingress", {}).get("enabled"):
                    backend = ingress[0]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
                    self.assertEqual(backend["name"], one(objects, "Service", "-ws")["metadata"]["name"])
                    self.assertEqual(one(objects, "Service", "-ws")["spec"]["type"], "ClusterIP")
                else:
                    self.assertEqual(ingress, [])

    def test_the_podmonitor_scrapes_both_services_by_port_name(self):
        objects = self.rendered["tls-ingress-podmonitor"]
        pm = one(objects, "PodMonitor")
        self.assertEqual(pm["metadata"]["labels"]["release"], "prometheus")
        self.assertEqual(pm["spec"]["podMetricsEndpoints"][0]["port"], "metrics")
        for w in (one(objects, "Deployment"), self.workload(objects)):
            labels = w["spec"]["template"]["metadata"]["labels"]
            self.assertTrue(all(labels[k] == v for k, v in pm["spec"]["selector"]["matchLabels"].items()))
            names = [p["name"] for p in w["spec"]["template"]["spec"]["containers"][0]["ports"]]
            self.assertIn("metrics", names)
        self.assertEqual(find(self.rendered["defaults"], "PodMonitor"), [])

    # ------------------------------------------------------------ images and monitoring files

    def test_dockerfiles_build_the_real_targets_and_run_as_non_root(self):
        targets = set()
        for cm in glob.glob(os.path.join(w2s.SOURCE_DIR, "services/*/CMakeLists.txt")):
            targets |= set(re.findall(r"add_executable\((\S+)", open(cm).read()))
        for service, binary in (("signaling", "webrtc2sip-signaling"), ("media-relay", "webrtc2sip-media-relay")):
            with self.subTest(service=service):
                text = open(os.path.join(w2s.SOURCE_DIR, f"deploy/Dockerfile.{service}")).read()
                stages = re.split(r"(?m)^FROM ", text)[1:]
                self.assertEqual(len(stages), 2)
                self.assertTrue(all(s.startswith("debian:12") for s in stages))
                self.assertIn("deploy/install-deps.sh build runtime", stages[0])
                built = re.findall(r"deploy/build\.sh (\S+)", stages[0])
                self.assertEqual(built, [binary])
                self.assertIn(binary, targets)
                self.assertIn("deploy/install-deps.sh runtime", stages[1])
                self.assertNotIn("install-deps.sh build", stages[1])
                self.assertRegex(stages[1], rf"COPY --from=build \S+/services/{service}/{binary} /usr/local/bin/{binary}")
                self.assertRegex(stages[1], r"(?m)^USER 10001(:10001)?$")

    def test_alerts_and_dashboard_use_only_exported_metrics(self):
        known = set(self.metrics)
        for name, kind in self.metrics.items():
            if kind == "histogram":
                known |= {name + "_bucket", name + "_sum", name + "_count"}
        alerts = w2s.load_yaml(os.path.join(w2s.SOURCE_DIR, "deploy/prometheus/alerts.yaml"))
        rules = [r for g in alerts["groups"] for r in g["rules"]]
        names = {r["alert"] for r in rules}
        self.assertTrue({"WebRtc2SipNoMediaNodeReady", "WebRtc2SipCallSetupFailures",
                         "WebRtc2SipSrtpDtlsFailures", "WebRtc2SipMediaNodeNearCapacity"} <= names, names)
        exprs = [r["expr"] for r in rules]
        dash = json.load(open(os.path.join(w2s.SOURCE_DIR, "deploy/grafana/webrtc2sip-dashboard.json")))
        for panel in dash["panels"]:
            exprs += [t["expr"] for t in panel.get("targets", [])]
        used = set()
        for expr in exprs:
            used |= set(re.findall(r"\bwebrtc2sip_[a-z0-9_]+", expr))
        self.assertTrue(used)
        self.assertEqual(used - known, set())
        for r in rules:
            self.assertIn("severity", r["labels"])
            self.assertIn("summary", r["annotations"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

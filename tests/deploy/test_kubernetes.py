"""The Kubernetes manifests (deploy/kubernetes/): valid for recent Kubernetes versions
(kubernetes-validate's bundled schemas, strict: a misspelt field fails), and consistent
with callbot itself: the pods' settings load and pass the exposure check, probes hit
/readyz and /healthz, the preStop drains with a command the CLI has and within the grace
period, the budget and the autoscaler select the workers, the autoscaler's metric is
a gauge callbot exports, and every pod the autoscaler may start has its Asterisk
section."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes_validate.utils import latest_version

from callbot.config import Settings, load_settings
from callbot.observability.metrics import CallMetrics
from callbot.protocols.asterisk_conf import parse_conf
from callbot.simulator.websocket_client import connections_from_conf
from callbot.web.exposure import check_exposure
from tests.deploy.shipped import DEPLOY, parse_command, write_secrets

K8S = DEPLOY / "kubernetes"
KUSTOMIZATION = yaml.safe_load((K8S / "kustomization.yaml").read_text(encoding="utf-8"))
OLDEST = "1.31"
"""StatefulSet ``ordinals.start`` (pods named callbot-worker-1...) is GA from 1.31."""
SECRET = "callbot-secrets"


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc]


def _resources() -> list[dict[str, Any]]:
    return [doc for name in KUSTOMIZATION["resources"] for doc in _documents(K8S / name)]


def _find(kind: str, name: str) -> dict[str, Any]:
    found = [d for d in _resources() if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


WORKERS = _find("StatefulSet", "callbot-worker")
CONTROL = _find("Deployment", "callbot-control")
AUTOSCALER = _find("HorizontalPodAutoscaler", "callbot-worker")


def _container(workload: dict[str, Any], name: str, kind: str = "containers") -> dict[str, Any]:
    (found,) = [c for c in workload["spec"]["template"]["spec"][kind] if c["name"] == name]
    return found


def _selects(selector: dict[str, Any], workload: dict[str, Any]) -> bool:
    labels = workload["spec"]["template"]["metadata"]["labels"]
    return selector.items() <= labels.items()


def _configmap_file(key: str) -> str:
    data: str = _find("ConfigMap", "callbot-config")["data"][key]
    return data


def _pod_settings(workload: dict[str, Any], container: str, pod: str, tmp_path: Path) -> Settings:
    """The settings a container of ``workload`` starts with, in a pod named ``pod``: its
    environment, its files from the ConfigMap and the Secret where the pod mounts them."""
    spec = workload["spec"]["template"]["spec"]
    main = _container(workload, container)
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted: dict[str, Path] = {}  # path in the pod -> the file here
    secrets = write_secrets(tmp_path / "secrets")
    for mount in main["volumeMounts"]:
        volume = volumes.get(mount["name"], {})
        if "configMap" in volume:
            for item in volume["configMap"]["items"]:
                local = tmp_path / item["path"]
                local.write_text(_configmap_file(item["key"]), encoding="utf-8")
                mounted[f"{mount['mountPath']}/{item['path']}"] = local
        if "secret" in volume:
            assert volume["secret"]["secretName"] == SECRET
            for item in volume["secret"]["items"]:
                mounted[f"{mount['mountPath']}/{item['path']}"] = secrets[item["key"]]
    env = {}
    for var in main["env"]:
        if "valueFrom" in var:
            assert var["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.name"}}
            env[var["name"]] = pod
        elif var["name"] == "CALLBOT_CONFIG" or var["name"].endswith("_FILE"):
            assert var["value"] in mounted, f"{var['name']}: {var['value']} is not mounted"
            env[var["name"]] = str(mounted[var["value"]])
        else:
            env[var["name"]] = var["value"]
    return load_settings(env=env)


def _worker_settings(tmp_path: Path) -> Settings:
    return _pod_settings(WORKERS, "worker", "callbot-worker-1", tmp_path)


def test_kustomization_lists_every_manifest() -> None:
    manifests = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(KUSTOMIZATION["resources"]) == sorted(manifests)
    assert KUSTOMIZATION["namespace"] == _find("Namespace", "callbot")["metadata"]["name"]
    images = {c["image"].split(":")[0] for w in (WORKERS, CONTROL) for c in _all_containers(w)}
    assert images == {image["name"] for image in KUSTOMIZATION["images"]}


def _all_containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    containers: list[dict[str, Any]] = spec.get("initContainers", []) + spec["containers"]
    return containers


@pytest.mark.parametrize("version", [OLDEST, latest_version()])
def test_every_manifest_is_valid_for_recent_kubernetes(version: str) -> None:
    resources = _resources()
    kinds = {doc["kind"] for doc in resources}
    assert {"StatefulSet", "Deployment", "HorizontalPodAutoscaler"} <= kinds
    for doc in resources:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_validator_would_see_a_misspelt_field() -> None:
    broken = yaml.safe_load(yaml.safe_dump(WORKERS))
    _container(broken, "worker")["readinesProbe"] = {"httpGet": {"path": "/readyz"}}
    with pytest.raises(kubernetes_validate.ValidationError, match="readinesProbe"):
        kubernetes_validate.validate(broken, latest_version(), strict=True)


def test_secrets_are_referenced_never_shipped() -> None:
    assert not [doc for doc in _resources() if doc["kind"] == "Secret"]
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    for workload in (WORKERS, CONTROL):
        for volume in workload["spec"]["template"]["spec"]["volumes"]:
            if "secret" in volume:
                assert volume["secret"]["secretName"] == SECRET
                for item in volume["secret"]["items"]:
                    # The guide's `kubectl create secret` provides every key a pod mounts.
                    assert f"--from-file={item['key']}=" in guide, item["key"]


@pytest.mark.parametrize(
    ("workload", "container", "pod"),
    [(WORKERS, "worker", "callbot-worker-1"), (CONTROL, "control", "callbot-control-7d9f-x2")],
    ids=["worker", "control"],
)
def test_each_pod_starts_beyond_loopback_with_its_secrets_on_the_shared_database(
    workload: dict[str, Any], container: str, pod: str, tmp_path: Path
) -> None:
    settings = _pod_settings(workload, container, pod, tmp_path)
    assert settings.server.host == "0.0.0.0"
    # Raises ConfigError when a role it serves has no credentials (control: no media).
    check_exposure(settings, media=container == "worker")
    assert settings.cluster.database(settings.records.url).startswith("postgresql://")
    assert settings.cluster.node == pod
    assert settings.log_format == "json"
    ports = {p["name"]: p["containerPort"] for p in _container(workload, container)["ports"]}
    assert settings.server.port == ports["http"]
    # The root file system is read-only: what callbot writes is on a writable volume.
    writable = [
        Path(m["mountPath"])
        for m in _container(workload, container)["volumeMounts"]
        if not m.get("readOnly")
    ]
    assert any(settings.data_dir.is_relative_to(path) for path in writable)


def test_the_control_role_reaches_asterisk_through_its_service(tmp_path: Path) -> None:
    settings = _pod_settings(CONTROL, "control", "callbot-control-7d9f-x2", tmp_path)
    assert settings.ari.password == "ari-s3cret"
    url = re.fullmatch(r"http://([a-z0-9-]+):(\d+)/ari", settings.ari.url or "")
    assert url, settings.ari.url
    service = _find("Service", url[1])
    assert service["spec"]["type"] == "ExternalName"
    assert int(url[2]) in {p["port"] for p in service["spec"]["ports"]}
    _find("Service", "postgres")  # the host of the guide's records-url


@pytest.mark.parametrize(
    ("workload", "container"), [(WORKERS, "worker"), (CONTROL, "control")], ids=["w", "c"]
)
def test_probes_ask_readyz_for_readiness_and_healthz_for_liveness(
    workload: dict[str, Any], container: str
) -> None:
    main = _container(workload, container)
    assert main["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert main["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert "http" in {port["name"] for port in main["ports"]}


def _pre_stop() -> list[str]:
    """The worker's preStop command line, as the shell runs it in the pod."""
    shell, flag, script = _container(WORKERS, "worker")["lifecycle"]["preStop"]["exec"]["command"]
    assert (shell, flag) == ("sh", "-c")
    words = shlex.split(script)
    assert words[:2] == ["exec", "callbot"]
    return words[2:]


def test_the_worker_drains_before_it_stops_with_a_command_the_cli_has() -> None:
    argv = _pre_stop()
    assert argv[:4] == ["cluster", "drain", "$HOSTNAME", "--wait"]  # the pod's own name
    parse_command([word.replace("$HOSTNAME", "callbot-worker-1") for word in argv])


def test_the_grace_period_covers_the_drain_and_the_hand_over(tmp_path: Path) -> None:
    argv = _pre_stop()
    wait_s = float(argv[argv.index("--timeout") + 1])
    drain_s = _worker_settings(tmp_path).server.drain_timeout_s
    grace_s = WORKERS["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
    # preStop's wait, then SIGTERM's drain, then the hand-over of the calls left (~15 s).
    assert grace_s >= wait_s + drain_s + 15


@pytest.mark.parametrize(("workload", "container"), [(WORKERS, "worker"), (CONTROL, "control")])
def test_each_role_runs_its_callbot_command(workload: dict[str, Any], container: str) -> None:
    main = _container(workload, container)
    assert main["command"] == ["callbot"] and main["args"] == [container]
    parse_command(main["args"])


def test_the_worker_s_init_containers_install_the_models_where_it_loads_them(
    tmp_path: Path,
) -> None:
    settings = _worker_settings(tmp_path)
    for name in ("models-pull", "voices-pull"):
        init = _container(WORKERS, name, "initContainers")
        args = parse_command(init["args"])
        assert args.models_dir == settings.models_dir
        assert {m["name"] for m in init["volumeMounts"]} >= {"data"}
    voice = _container(WORKERS, "voices-pull", "initContainers")["args"][2]
    assert (DEPLOY.parent / "voices" / f"{voice}.yaml").is_file()
    data = next(m for m in _container(WORKERS, "worker")["volumeMounts"] if m["name"] == "data")
    assert settings.models_dir.is_relative_to(data["mountPath"])
    claims = [c["metadata"]["name"] for c in WORKERS["spec"]["volumeClaimTemplates"]]
    assert claims == ["data"]


def test_the_disruption_budgets_select_their_own_pods() -> None:
    workers = _find("PodDisruptionBudget", "callbot-worker")["spec"]
    assert _selects(workers["selector"]["matchLabels"], WORKERS)
    assert not _selects(workers["selector"]["matchLabels"], CONTROL)
    assert workers["maxUnavailable"] < AUTOSCALER["spec"]["minReplicas"]
    control = _find("PodDisruptionBudget", "callbot-control")["spec"]
    assert _selects(control["selector"]["matchLabels"], CONTROL)
    assert not _selects(control["selector"]["matchLabels"], WORKERS)
    assert control["minAvailable"] < CONTROL["spec"]["replicas"] == 2


def test_the_autoscaler_scales_the_workers_on_a_gauge_callbot_exports(tmp_path: Path) -> None:
    spec = AUTOSCALER["spec"]
    target = spec["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("StatefulSet", WORKERS["metadata"]["name"])
    assert "replicas" not in WORKERS["spec"]  # the autoscaler owns the count
    (metric,) = spec["metrics"]
    assert metric["type"] == "Pods"
    name = metric["pods"]["metric"]["name"]
    gauges = {m.name: m.type for m in CallMetrics().registry.collect()}
    assert gauges.get(name) == "gauge"
    # Scale before the pods are full: past the admission limit callers go to a human.
    limit = _worker_settings(tmp_path).security.max_concurrent_calls
    assert 0 < float(metric["pods"]["target"]["averageValue"]) < limit


def test_the_prometheus_adapter_rule_serves_the_autoscaler_s_metric() -> None:
    monitoring = K8S / "monitoring"
    (values,) = _documents(monitoring / "prometheus-adapter-values.yaml")
    (rule,) = values["rules"]["custom"]
    name = AUTOSCALER["spec"]["metrics"][0]["pods"]["metric"]["name"]
    assert rule["name"]["as"] == name
    assert re.fullmatch(rule["name"]["matches"], name)
    assert rule["seriesQuery"].startswith(name + "{")
    assert rule["resources"]["overrides"]["pod"] == {"resource": "pod"}
    # The scrape that feeds it: every worker Service's http port, with the metrics token.
    (monitor,) = _documents(monitoring / "servicemonitor.yaml")
    service = _find("Service", WORKERS["spec"]["serviceName"])
    labels = service["metadata"]["labels"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= labels.items()
    (endpoint,) = monitor["spec"]["endpoints"]
    assert endpoint["path"] == "/metrics"
    assert endpoint["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert endpoint["authorization"]["credentials"] == {"name": SECRET, "key": "metrics-token"}
    assert monitor["metadata"]["namespace"] == KUSTOMIZATION["namespace"]


def test_every_pod_the_autoscaler_may_start_has_its_asterisk_section(tmp_path: Path) -> None:
    service = _find("Service", WORKERS["spec"]["serviceName"])
    assert service["spec"]["clusterIP"] == "None"  # one DNS name per pod
    assert service["spec"]["publishNotReadyAddresses"] is True
    assert _selects(service["spec"]["selector"], WORKERS)
    (port,) = service["spec"]["ports"]
    settings = _worker_settings(tmp_path)
    text = (K8S / "asterisk-websocket_client.conf").read_text(encoding="utf-8")
    connections = connections_from_conf(parse_conf(text, "asterisk-websocket_client.conf"))
    first = WORKERS["spec"]["ordinals"]["start"]
    pods = [f"callbot-worker-{n}" for n in range(first, first + AUTOSCALER["spec"]["maxReplicas"])]
    assert sorted(connections) == sorted(pods)
    domain = f"{service['metadata']['name']}.{KUSTOMIZATION['namespace']}.svc.cluster.local"
    for pod in pods:
        # The pod names its own section (CALLBOT_CLUSTER_WEBSOCKET_CONNECTION).
        assert (
            _pod_settings(WORKERS, "worker", pod, tmp_path / pod).cluster.websocket_connection
            == pod
        )
        assert connections[pod].uri == f"ws://{pod}.{domain}:{port['port']}/media"
        assert connections[pod].username == settings.server.media_username


def _guide_manifests() -> list[dict[str, Any]]:
    guide = (DEPLOY / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, flags=re.S)
    return [doc for block in blocks for doc in yaml.safe_load_all(block) if doc]


def test_the_guide_s_manifests_are_valid_too() -> None:
    manifests = _guide_manifests()
    assert {"Service", "EndpointSlice"} <= {doc["kind"] for doc in manifests}
    for doc in manifests:
        kubernetes_validate.validate(doc, latest_version(), strict=True)

"""The image (deploy/container/Dockerfile) agrees with what runs it: the files it copies
exist and get past its ignore file, it installs extras pyproject declares, runs as the
user the manifests ask for, and holds the dialplan the settings name."""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import yaml

from tests.deploy.shipped import DEPLOY, ROOT

DOCKERFILE = (DEPLOY / "container" / "Dockerfile").read_text(encoding="utf-8")
IGNORE = (DEPLOY / "container" / "Dockerfile.dockerignore").read_text(encoding="utf-8")
WORKDIR = Path(re.findall(r"^WORKDIR (\S+)$", DOCKERFILE, flags=re.M)[-1])


def _copied() -> list[str]:
    sources = []
    for line in re.findall(r"^COPY (.+)$", DOCKERFILE, flags=re.M):
        *parts, _destination = shlex.split(line)
        sources += parts
    return sources


def _pods() -> list[dict]:
    k8s = DEPLOY / "kubernetes"
    docs = [d for p in sorted(k8s.glob("*.yaml")) for d in yaml.safe_load_all(p.read_text())]
    return [
        d["spec"]["template"]["spec"]
        for d in docs
        if d and d["kind"] in ("StatefulSet", "Deployment")
    ]


def test_the_image_copies_files_that_exist_and_that_the_ignore_file_lets_through() -> None:
    sources = _copied()
    assert {"pyproject.toml", "callbot/", "voices/", "dialplans/"} <= set(sources)
    allowed = {line[1:] for line in IGNORE.splitlines() if line.startswith("!")}
    assert IGNORE.splitlines()[1] == "*"  # everything else stays out of the context
    for source in sources:
        assert (ROOT / source).exists(), source
        assert source in allowed, f"{source} is excluded by Dockerfile.dockerignore"


def test_the_image_copies_every_folder_callbot_reads_beside_its_package() -> None:
    """An editable install reads these from the source tree (``parents[2] / "..."``)."""
    beside = {
        match
        for path in (ROOT / "callbot").rglob("*.py")
        for match in re.findall(r'parents\[2\] / "([^"]+)"', path.read_text(encoding="utf-8"))
    }
    assert {"voices", "whisper-models", "dialplans"} <= beside
    assert {f"{folder}/" for folder in beside - {"tests"}} <= set(_copied())


def test_the_image_installs_declared_extras_on_a_supported_python() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    (extras,) = re.findall(r'-e "\.\[([a-z,]+)\]"', DOCKERFILE)
    assert set(extras.split(",")) <= set(project["optional-dependencies"])
    assert "postgres" in extras.split(",")  # a cluster shares PostgreSQL
    (python,) = re.findall(r"^FROM python:(3\.\d+)", DOCKERFILE, flags=re.M)
    low, high = re.findall(r"(\d+\.\d+)", project["requires-python"])
    assert (
        tuple(map(int, low.split(".")))
        <= tuple(map(int, python.split(".")))
        < tuple(map(int, high.split(".")))
    )


def test_the_pods_run_as_the_image_s_user_the_callbot_it_installs() -> None:
    (user,) = re.findall(r"^USER (\d+)$", DOCKERFILE, flags=re.M)
    assert f"--uid {user}" in DOCKERFILE
    assert f"PATH={WORKDIR}/.venv/bin:" in DOCKERFILE
    pods = _pods()
    assert len(pods) == 2
    for pod in pods:
        assert pod["securityContext"]["runAsUser"] == int(user)
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod.get("initContainers", []) + pod["containers"]:
            assert container["command"] == ["callbot"]


def test_the_image_holds_the_dialplan_the_worker_settings_name() -> None:
    config = DEPLOY / "kubernetes" / "configmap.yaml"
    worker = tomllib.loads(yaml.safe_load(config.read_text())["data"]["worker.toml"])
    dialplan = Path(worker["dialplan"]).relative_to(WORKDIR)
    assert f"{dialplan.parts[0]}/" in _copied()
    assert (ROOT / dialplan).is_file()

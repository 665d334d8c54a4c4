"""The cluster's systemd units (deploy/systemd/callbot-control.service and
callbot-worker@.service) with the settings files shipped beside them: they restart for
ever, drain within their stop time-out, take every secret as a credential, start with
settings callbot accepts beyond loopback, run commands the CLI has, and
``systemd-analyze verify`` finds nothing wrong with them."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from callbot.config import Settings, load_settings
from callbot.security.checks import is_loopback
from callbot.web.exposure import check_exposure
from tests.deploy.shipped import DEPLOY, ROOT, parse_command, write_secrets

SYSTEMD = DEPLOY / "systemd"
CONTROL = SYSTEMD / "callbot-control.service"
WORKER = SYSTEMD / "callbot-worker@.service"
HOST = "callbot-host-a"


def _directives(unit: Path, section: str) -> list[tuple[str, str]]:
    """``(key, value)`` of one section, in order, repeated keys kept (systemd adds them up)."""
    found, current = [], ""
    for raw in unit.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
        elif line and not line.startswith(("#", ";")) and current == section:
            key, _, value = line.partition("=")
            found.append((key, value))
    return found


def _one(unit: Path, section: str, key: str) -> str:
    values = [v for k, v in _directives(unit, section) if k == key]
    assert len(values) == 1, f"{unit.name}: {key} set {len(values)} times"
    return values[0]


def _expand(text: str, instance: str, credentials: Path) -> str:
    return text.replace("%i", instance).replace("%H", HOST).replace("%d", str(credentials))


def _shipped(path: str) -> Path:
    """Where the repository keeps what the unit reads from /etc/callbot (its install
    comment copies deploy/systemd/NAME there)."""
    assert path.startswith("/etc/callbot/"), path
    return SYSTEMD / Path(path).name


def _env_file(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1) for line in lines if line and not line.startswith("#")]
    return {key: value for key, value in pairs}


def _started(unit: Path, tmp_path: Path, instance: str = "1") -> tuple[list[str], dict[str, str]]:
    """The command line and the environment systemd gives the process, each credential
    being a real secret file in the credentials directory (%d)."""
    credentials = tmp_path / "credentials"
    secrets = write_secrets(tmp_path / "etc-callbot")
    env: dict[str, str] = {}
    for key, value in _directives(unit, "Service"):
        value = _expand(value, instance, credentials)
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = setting
        elif key == "LoadCredential":
            name, _, source = value.partition(":")
            credentials.mkdir(exist_ok=True)
            (credentials / name).write_bytes(secrets[name].read_bytes())
            assert source == f"/etc/callbot/{name}"
    # EnvironmentFile= comes after Environment= whatever the order of the lines.
    for key, value in _directives(unit, "Service"):
        if key == "EnvironmentFile":
            path = _expand(value, instance, credentials)
            shipped = _shipped(path.removeprefix("-"))
            if shipped.exists() or not path.startswith("-"):  # "-": optional
                env.update(_env_file(shipped))
    argv = shlex.split(_one(unit, "Service", "ExecStart"))
    assert argv[0] == "/opt/callbot/.venv/bin/callbot"
    return argv[1:], env


def _settings(unit: Path, tmp_path: Path, instance: str = "1") -> tuple[Settings, list[str]]:
    argv, env = _started(unit, tmp_path, instance)
    env["CALLBOT_CONFIG"] = str(_shipped(env["CALLBOT_CONFIG"]))
    return load_settings(env=env), argv


@pytest.mark.parametrize("unit", [CONTROL, WORKER], ids=lambda p: p.name)
def test_each_unit_restarts_for_ever_and_stops_after_the_drain(unit: Path, tmp_path: Path) -> None:
    service = dict(_directives(unit, "Service"))
    assert service["Restart"] == "always"
    assert float(service["RestartSec"]) <= 1
    assert _one(unit, "Unit", "StartLimitIntervalSec") == "0"
    assert service["KillSignal"] == "SIGTERM"
    settings, _ = _settings(unit, tmp_path)
    # Drain, then the hand-over of each remaining call (apology + transfer), then stop.
    assert float(service["TimeoutStopSec"]) >= settings.server.drain_timeout_s + 15


def test_the_worker_has_its_instance_s_ports_and_connection(
    tmp_path: Path,
) -> None:
    settings, _ = _settings(WORKER, tmp_path, "1")
    assert (settings.server.port, settings.server.audiosocket_port) == (8081, 9093)
    # The websocket_client.conf section the control role dials to reach this worker,
    # as named in asterisk/websocket_client.conf's cluster example.
    assert settings.cluster.websocket_connection == "callbot-worker-1"
    assert settings.cluster.node == f"{HOST}-worker-1"
    assert settings.server.media_username == "asterisk"
    assert settings.log_format == "json"
    # Speech models where the install comment pulls them; the dialplan in the checkout.
    assert settings.models_dir == Path("/var/lib/callbot/models")
    assert (ROOT / settings.dialplan.relative_to("/opt/callbot")).is_file()
    assert settings.data_dir == Path("/var/lib/callbot/worker-1")


def test_the_control_unit_reads_ari_s_password(tmp_path: Path) -> None:
    settings, _ = _settings(CONTROL, tmp_path)
    assert settings.ari.url and settings.ari.password == "ari-s3cret"
    # Both control machines reach the same Asterisk, so the URL names its address, never
    # the loopback of one of them.
    assert not is_loopback(urlsplit(settings.ari.url).hostname or "")
    assert settings.cluster.node == f"{HOST}-control"
    # Its port is none of the workers' (8080 and up, one a worker of the machine).
    assert settings.server.port == 8090 != _settings(WORKER, tmp_path / "w")[0].server.port


@pytest.mark.parametrize("unit", [CONTROL, WORKER], ids=lambda p: p.name)
def test_each_unit_starts_beyond_loopback_with_its_credentials_on_the_shared_database(
    unit: Path, tmp_path: Path
) -> None:
    settings, _ = _settings(unit, tmp_path)
    assert settings.server.host == "0.0.0.0"
    # Raises ConfigError when a role it serves has no credentials (control: no media).
    check_exposure(settings, media=unit == WORKER)
    url = settings.cluster.database(settings.records.url)
    assert url == "postgresql://callbot:db-s3cret@postgres:5432/callbot"


@pytest.mark.parametrize(
    ("unit", "command"), [(CONTROL, "control"), (WORKER, "worker")], ids=["control", "worker"]
)
def test_each_unit_runs_its_role_s_callbot_command(
    unit: Path, command: str, tmp_path: Path
) -> None:
    argv, env = _started(unit, tmp_path)
    # The settings file comes through CALLBOT_CONFIG, which every callbot command reads
    # (`callbot cluster drain` too), wherever a subcommand puts its --config option.
    assert argv == [command] and parse_command(argv).config is None
    assert env["CALLBOT_CONFIG"] == f"/etc/callbot/{command}.toml"
    assert _shipped(env["CALLBOT_CONFIG"]).is_file()


@pytest.mark.parametrize("unit", [CONTROL, WORKER], ids=lambda p: p.name)
def test_every_secret_is_a_credential_read_through_a_file_variable(unit: Path) -> None:
    directives = _directives(unit, "Service")
    credentials = [v.partition(":")[0] for k, v in directives if k == "LoadCredential"]
    files = {
        value.partition("=")[2]: value.partition("=")[0]
        for key, value in directives
        if key == "Environment" and value.partition("=")[0].endswith("_FILE")
    }
    assert sorted(files) == sorted(f"%d/{name}" for name in credentials)
    assert "records-url" in credentials
    assert ("ari-password" in credentials) == (unit == CONTROL)  # workers have no ARI


def _verify(unit: Path, tmp_path: Path) -> list[str]:
    shutil.copy(unit, tmp_path / unit.name)
    name = unit.name.replace("@.", "@1.")  # a template is verified through an instance
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / name)],
        capture_output=True,
        text=True,
        check=False,
    )
    return [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable" not in line  # /opt/callbot is not here
    ]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
@pytest.mark.parametrize("unit", [CONTROL, WORKER], ids=lambda p: p.name)
def test_systemd_analyze_verifies_the_unit(unit: Path, tmp_path: Path) -> None:
    assert _verify(unit, tmp_path) == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_would_see_a_mistake(tmp_path: Path) -> None:
    """The check above can fail: a misspelt key and a bad specifier are reported."""
    broken = tmp_path / "broken" / WORKER.name
    broken.parent.mkdir()
    text = WORKER.read_text(encoding="utf-8").replace("Restart=always", "Restartt=always")
    broken.write_text(text.replace("%H-worker-%i", "%Q-worker"), encoding="utf-8")
    problems = _verify(broken, tmp_path)
    assert any("Restartt" in line for line in problems)
    assert any("specifier" in line for line in problems)

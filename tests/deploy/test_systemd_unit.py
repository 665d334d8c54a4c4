"""The shipped systemd unit: restarts for ever, drains on stop with room to spare, JSON
logs, secrets as credentials; ``systemd-analyze verify`` finds nothing wrong with it."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

import pytest

from callbot.config import Settings, load_settings

UNIT = Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "callbot.service"


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def _environment(service: configparser.SectionProxy) -> dict[str, str]:
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    pairs = [line.split("=", 1)[1] for line in lines if line.startswith("Environment=")]
    return dict(pair.split("=", 1) for pair in pairs)


def test_the_unit_restarts_for_ever_and_drains_on_stop() -> None:
    unit = _unit()
    service = unit["Service"]
    assert service["Restart"] == "always"
    assert float(service["RestartSec"]) <= 1
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"
    assert service["KillSignal"] == "SIGTERM"
    drain_s = Settings().server.drain_timeout_s
    # Drain, then the hand-over of each remaining call (apology + transfer), then stop.
    assert float(service["TimeoutStopSec"]) >= drain_s + 15


def test_the_unit_logs_json_and_reads_the_ari_password_from_a_credential(
    tmp_path: Path,
) -> None:
    service = _unit()["Service"]
    env = _environment(service)
    assert env["CALLBOT_LOG_FORMAT"] == "json"
    assert env["CALLBOT_ARI_PASSWORD_FILE"] == "%d/ari-password"
    assert service["LoadCredential"].startswith("ari-password:")
    # The variables are callbot settings it accepts (unknown keys would be errors).
    secret = tmp_path / "ari-password"
    secret.write_text("s3cret\n", encoding="utf-8")
    env["CALLBOT_ARI_PASSWORD_FILE"] = str(secret)
    settings = load_settings(env=env)
    assert settings.log_format == "json" and settings.ari.password == "s3cret"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verifies_the_unit() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(UNIT)], capture_output=True, text=True, check=False
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if line.strip() and "is not executable" not in line  # /opt/callbot is not here
    ]
    assert problems == []


def test_the_commented_credentials_name_real_settings(tmp_path: Path) -> None:
    """Uncommenting them must work: each variable is a setting callbot knows."""
    lines = UNIT.read_text(encoding="utf-8").splitlines()
    names = [line.split("=", 2)[1] for line in lines if line.startswith("#Environment=CALLBOT_")]
    assert len(names) >= 4
    env = {}
    for name in names:
        secret = tmp_path / name
        secret.write_text("$scrypt$unused" if "HASH" in name else "tok-123456", encoding="utf-8")
        env[name] = str(secret)
    load_settings(env=env)  # raises ConfigError on an unknown setting

"""``callbot backoffice serve|openapi`` as ops run them: the real process, its one-line
errors, the secret shared with the bot through the settings."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from callbot.loadtest.postgres import free_port

REPO = Path(__file__).resolve().parents[2]
OPENAPI = REPO / "dialplans" / "backoffice" / "openapi.json"
NIR, BORN = "285067599900116", "1985-06-12"


def callbot(*args: str, env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The command line of ``python -m callbot`` and an environment with only ``env`` set
    among the CALLBOT_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
    return [sys.executable, "-m", "callbot", *args], {**base, **(env or {})}


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command, full_env = callbot(*args, env=env)
    return subprocess.run(
        command, cwd=REPO, env=full_env, capture_output=True, text=True, timeout=60
    )


def test_openapi_prints_the_committed_description() -> None:
    done = run("backoffice", "openapi")
    assert done.returncode == 0, done.stderr
    assert done.stdout == OPENAPI.read_text(encoding="utf-8")


def test_beyond_loopback_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run("backoffice", "serve", "--host", "0.0.0.0", "--database", str(tmp_path / "o.db"))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "callbot: error: the sample back-office listens on loopback only, not on '0.0.0.0'"
    )


def test_serve_expects_the_bot_s_authorization_and_stops_on_sigterm(tmp_path: Path) -> None:
    port = free_port()
    secret = tmp_path / "authorization"
    secret.write_text("Bearer from-a-file\n", encoding="utf-8")
    command, env = callbot(
        "backoffice", "serve", "--port", str(port), "--database", str(tmp_path / "office.db"),
        env={"CALLBOT_BACKOFFICE_AUTHORIZATION_FILE": str(secret)},
    )  # fmt: skip
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True)
    try:
        url = f"http://127.0.0.1:{port}/api/v1/assures/{NIR}/remboursements/dernier"
        deadline = time.monotonic() + 30
        while True:
            try:
                anonymous = httpx.get(url, params={"date_naissance": BORN})
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert anonymous.status_code == 401
        headers = {"Authorization": "Bearer from-a-file"}
        reply = httpx.get(url, params={"date_naissance": BORN}, headers=headers)
        assert reply.json()["remboursement"]["montant"] == 21.0
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors
    assert "invented data" in errors and "Bearer" not in errors  # the secret is not shown
    assert (tmp_path / "office.db").is_file()


@pytest.mark.parametrize("args", [["backoffice"], ["backoffice", "nonsense"]])
def test_a_subcommand_is_required(args: list[str]) -> None:
    assert run(*args).returncode == 2

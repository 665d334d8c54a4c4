"""The command line as ops use it: `callbot serve` (the embedded default) and errors."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from callbot.audio.formats import ULAW_8K
from callbot.cli.main import main
from callbot.loadtest.postgres import free_port
from callbot.simulator.run import Target, open_peer, simulate
from callbot.simulator.script import DtmfTurn

REPO = Path(__file__).resolve().parents[2]
DIALPLAN = REPO / "tests/pipeline/dialplans/call-fr.yaml"


def test_missing_wav_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "/nonexistent/call.wav"]) == 1
    assert "no such WAV file: /nonexistent/call.wav" in capsys.readouterr().err


def test_bad_setting_is_a_clear_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBOT_SERVER_PORT", "http")
    assert main(["serve"]) == 1
    assert "server.port: expected int" in capsys.readouterr().err


@pytest.fixture
def served(models_dir: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """`callbot serve` in its own process, on free ports; SIGTERM at the end."""
    port, audiosocket_port = free_port(), free_port()
    env = {**os.environ, "CALLBOT_MODELS_DIR": str(models_dir)}
    command = [sys.executable, "-m", "callbot", "serve", "--port", str(port)]
    command += ["--audiosocket-port", str(audiosocket_port), "--dialplan", str(DIALPLAN)]
    server = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield server, port
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        server.communicate(timeout=30)


async def wait_healthy(server: subprocess.Popen[str], base: str) -> dict[str, object]:
    async with httpx.AsyncClient() as client:
        deadline = time.monotonic() + 90
        while True:
            assert server.poll() is None, "callbot serve exited during start-up"
            try:
                health: dict[str, object] = (await client.get(f"{base}/healthz")).json()
                return health
            except httpx.TransportError:
                assert time.monotonic() < deadline, "callbot serve never came up"
                await asyncio.sleep(0.3)


async def call_record(client: httpx.AsyncClient, base: str, call_id: str) -> dict[str, Any]:
    """The server's record of a call, once the call has ended there."""
    async with asyncio.timeout(10):
        while True:
            for record in (await client.get(f"{base}/api/calls")).json():
                if record["call_id"] == call_id:
                    return dict(record)
            await asyncio.sleep(0.1)


@pytest.mark.models
async def test_serve_answers_calls_and_stops_on_sigterm(
    served: tuple[subprocess.Popen[str], int],
) -> None:
    server, port = served
    base = f"http://127.0.0.1:{port}"
    health = await wait_healthy(server, base)
    assert health["status"] == "ok" and health["dialplan"] == "call-fr"
    async with httpx.AsyncClient() as client:
        page = await client.get(f"{base}/")
        assert page.status_code == 200 and "softphone" in page.text.lower()
        assert (await client.get(f"{base}/readyz")).status_code == 200
        target = Target(media_url=f"ws://127.0.0.1:{port}/media")
        trace = await simulate(open_peer(target, "chan_websocket", ULAW_8K), [DtmfTurn("1")])
        assert trace.greeting_at_s is not None and trace.turns[0].answered
        record = await call_record(client, base, trace.call_id)
        assert record["turns"][0]["intent"] == "mot_de_passe"
    server.send_signal(signal.SIGTERM)
    output, _ = await asyncio.to_thread(server.communicate, timeout=30)
    assert server.returncode == 0, output
    assert "NO NEURAL VOICE for fr_FR" in output  # the espeak fallback is announced


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real ``python -m callbot`` with only ``env`` set among CALLBOT_* variables."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("CALLBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "callbot", *args],
        cwd=REPO,
        env={**base, "CALLBOT_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], expected: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stderr.splitlines() == [f"callbot: error: {expected}"], result.stderr
    assert "Traceback" not in result.stderr and "never retrieved" not in result.stderr


@pytest.mark.parametrize(
    ("option", "setting"),
    [("--port", "server.port"), ("--audiosocket-port", "server.audiosocket_port")],
)
def test_port_in_use_is_one_line_before_any_model_loads(
    tmp_path: Path, option: str, setting: str
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {"--port": "0", "--audiosocket-port": "0", option: str(port)}
        # An empty models dir: a check made after the model load would report the model.
        result = run_cli(
            "serve",
            *(part for item in ports.items() for part in item),
            env={"CALLBOT_MODELS_DIR": str(tmp_path)},
        )
    env = "CALLBOT_" + setting.replace(".", "_").upper()
    assert_one_error_line(result, f"port {port} is already in use ({setting}; set {env})")


def test_unreadable_secret_file_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "ari-password"
    result = run_cli("serve", env={"CALLBOT_ARI_PASSWORD_FILE": str(missing)})
    assert_one_error_line(
        result,
        f"CALLBOT_ARI_PASSWORD_FILE: cannot read {missing}: "
        f"[Errno 2] No such file or directory: '{missing}'",
    )


def test_missing_whisper_model_is_one_line_naming_the_dir_and_the_fix(tmp_path: Path) -> None:
    result = run_cli(
        "serve", "--port", "0", "--audiosocket-port", "0", "--dialplan", str(DIALPLAN),
        env={"CALLBOT_MODELS_DIR": str(tmp_path)},
    )  # fmt: skip
    expected = f"no Whisper model in {tmp_path / 'whisper-base'}: run `callbot models pull`"
    assert_one_error_line(result, expected)


def test_missing_or_broken_dialplan_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "absent.yaml"
    result = run_cli(
        "serve", "--port", "0", "--audiosocket-port", "0", "--dialplan", str(missing), env={}
    )
    assert_one_error_line(
        result,
        f"{missing}: cannot read dialplan: No such file or directory "
        "(set dialplan, CALLBOT_DIALPLAN or --dialplan)",
    )
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: broken\nintents: [\n", encoding="utf-8")
    result = run_cli(
        "serve", "--port", "0", "--audiosocket-port", "0", "--dialplan", str(broken), env={}
    )
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith(f"callbot: error: {broken}:3:1: ")
    assert "Traceback" not in result.stderr

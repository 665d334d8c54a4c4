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
from callbot.cli import main
from callbot.simulator.run import Target, open_peer, simulate
from callbot.simulator.script import DtmfTurn

REPO = Path(__file__).resolve().parent.parent
DIALPLAN = REPO / "tests/pipeline/dialplans/call-fr.yaml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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

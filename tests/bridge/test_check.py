"""``callbot asterisk check`` end to end: the real command line (settings from the
environment) against the simulated Asterisk over loopback HTTP and websockets."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from callbot.bridge.check import MODULES, check_sounds_dir
from callbot.cli.main import main
from callbot.simulator.ari_server import SimulatedAri
from tests.conftest import ARI_PASSWORD as PASSWORD

REPO = Path(__file__).resolve().parents[2]
DIALPLAN = REPO / "dialplans" / "assurance-maladie.yaml"


@pytest.fixture(autouse=True)
def settings_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CALLBOT_CONFIG", raising=False)
    monkeypatch.setenv("CALLBOT_ARI_PASSWORD", PASSWORD)
    monkeypatch.setenv("CALLBOT_ARI_REQUEST_TIMEOUT_S", "3")
    monkeypatch.setenv("CALLBOT_ARI_SOUNDS_DIR", str(tmp_path))


async def run_check(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, list[str]]:
    """The command in a worker thread (it runs its own event loop), the simulator here."""
    argv = ["asterisk", "check", "--dialplan", str(DIALPLAN), *args]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CALLBOT_ARI_URL", sim.url)
        status = await asyncio.to_thread(main, argv)
    return status, capsys.readouterr().out.splitlines()


async def test_all_present(sim: SimulatedAri, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot&api_key=callbot:{PASSWORD}"
    async with connect(url):  # callbot serve is connected
        await sim.wait_for(lambda: "callbot" in sim.registered_apps)
        status, lines = await run_check(sim, capsys)
    assert status == 0, lines
    assert lines == [
        "OK   asterisk: version 23.2.0",
        "OK   modules: 23 required modules running",
        "OK   websocket_client callbot: ws://127.0.0.1:8080/media (per_call_config)",
        "OK   ARI app callbot: registered: callbot serve is connected",
        "OK   queue conseillers: defined "
        "(default transfer, intent trop_percu, intent deces, intent conseiller)",
        "OK   queue fraude: defined (intent fraude)",
        "OK   queue reclamations: defined (intent reclamation)",
        "OK   queue accueil: defined (ari.fallback_extension, CALLBOT_FALLBACK_QUEUE)",
        lines[-1],
    ]
    assert lines[-1].startswith("OK   sounds_dir: ") and lines[-1].endswith(": writable")


async def test_probe_leaves_nothing_behind(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str]
) -> None:
    await run_check(sim, capsys)
    (probe,) = sim.channels.values()
    assert probe.name.startswith("Local/probe@callbot-check-") and probe.hung_up
    assert (
        "POST",
        "/ari/channels/create",
        {"endpoint": probe.name.rsplit("-", 1)[0], "app": "callbot-check"},
    ) in sim.requests
    assert sim.registered_apps == set()


async def test_missing_queue_fails(sim: SimulatedAri, capsys: pytest.CaptureFixture[str]) -> None:
    sim.system.queues.discard("fraude")
    status, lines = await run_check(sim, capsys)
    assert status == 1
    assert "FAIL queue fraude: not defined in queues.conf (intent fraude): transfers fail" in lines
    assert [line for line in lines if line.startswith("FAIL")] == [
        "FAIL queue fraude: not defined in queues.conf (intent fraude): transfers fail"
    ]
    not_registered = "not registered: callbot serve is not connected (Stasis() fails meanwhile)"
    assert f"WARN ARI app callbot: {not_registered}" in lines


async def test_fallback_global(sim: SimulatedAri, capsys: pytest.CaptureFixture[str]) -> None:
    sim.system.global_variables["CALLBOT_FALLBACK_QUEUE"] = "standard"
    status, lines = await run_check(sim, capsys)
    assert status == 1
    assert (
        "FAIL queue standard: not defined in queues.conf (CALLBOT_FALLBACK_QUEUE): "
        "transfers fail" in lines
    )
    sim.system.global_variables.clear()
    status, lines = await run_check(sim, capsys)
    assert status == 0
    assert any(line.startswith("WARN CALLBOT_FALLBACK_QUEUE: not set") for line in lines)


async def test_missing_modules(sim: SimulatedAri, capsys: pytest.CaptureFixture[str]) -> None:
    sim.system.modules.pop("chan_websocket.so")
    sim.system.modules["res_musiconhold.so"] = "Not Running"
    sim.system.modules.pop("codec_resample.so")
    status, lines = await run_check(sim, capsys)
    assert status == 1
    assert (
        "FAIL modules: not running: chan_websocket.so (the bot's media leg), "
        "res_musiconhold.so (hold music)"
    ) in lines
    assert "WARN modules: not running: codec_resample.so (16 kHz bot audio to 8 kHz trunks)" in (
        lines
    )


async def test_app_queue_missing_fails_every_queue(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.system.modules.pop("app_queue.so")
    status, lines = await run_check(sim, capsys)
    assert status == 1
    queue_lines = [line for line in lines if line.split()[1] == "queue"]
    assert len(queue_lines) == 4
    assert all(" QUEUE_EXISTS() failed: " in line for line in queue_lines)


async def test_websocket_client_connection(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.system.websocket_clients["callbot"].update(
        uri="ws://asterisk:pw-in-uri@10.0.0.5:8080/media", password="s3cret-media"
    )
    status, lines = await run_check(sim, capsys, "--connection", "callbot-direct")
    assert status == 1
    assert "OK   websocket_client callbot: ws://10.0.0.5:8080/media (per_call_config)" in lines
    expected = "no [callbot-direct] in websocket_client.conf (externalMedia answers 400)"
    assert f"FAIL websocket_client callbot-direct: {expected}" in lines
    output = "\n".join(lines)
    assert "s3cret-media" not in output and "pw-in-uri" not in output and PASSWORD not in output


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("22.5.0", "FAIL asterisk: version 22.5.0: chan_websocket needs 20.16+, 22.6+ or 23+"),
        ("22.7.1", "WARN asterisk: version 22.7.1: f(json) needs 20.18+, 22.8+ or 23.2+"),
        ("20.18.0", "OK   asterisk: version 20.18.0"),
        ("24.0.0", "OK   asterisk: version 24.0.0"),
        ("GIT-master-abc123", "OK   asterisk: version GIT-master-abc123 (release not compared)"),
    ],
)
async def test_version(
    version: str, expected: str, sim: SimulatedAri, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.system.version = version
    _, lines = await run_check(sim, capsys)
    assert lines[0].startswith(expected), lines[0]


async def test_control_characters_cannot_forge_lines(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str]
) -> None:
    sim.system.version = "23.2.0\nOK   queue forged: defined"
    _, lines = await run_check(sim, capsys)
    assert lines[0] == "OK   asterisk: version 23.2.0?OK   queue forged: defined"


async def test_wrong_password(
    sim: SimulatedAri, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CALLBOT_ARI_PASSWORD", "Xq9-not-it")
    status, lines = await run_check(sim, capsys)
    assert status == 1
    assert lines[0] == f"FAIL ARI: {sim.url}: user 'callbot' refused (ari.conf)"
    assert len(lines) == 2 and "Xq9-not-it" not in "\n".join(lines)


async def test_unreachable(sim: SimulatedAri, capsys: pytest.CaptureFixture[str]) -> None:
    url = sim.url
    await sim.stop()
    status, lines = await run_check(sim, capsys)
    assert status == 1
    assert lines[0] == f"FAIL ARI: {url}: unreachable (http.conf, res_ari.so?)"


def test_sounds_dir(tmp_path: Path) -> None:
    assert str(check_sounds_dir(tmp_path)) == f"OK   sounds_dir: {tmp_path}: writable"
    assert list(tmp_path.iterdir()) == []  # the test file is gone
    missing = tmp_path / "nope"
    assert str(check_sounds_dir(missing)) == f"FAIL sounds_dir: {missing}: no such directory"
    assert check_sounds_dir(None).status == "WARN"


def test_readme_lists_every_module() -> None:
    readme = (REPO / "asterisk" / "README.md").read_text(encoding="utf-8")
    missing = [m.name for m in MODULES if f"`{m.name.removesuffix('.so')}`" not in readme]
    assert missing == []

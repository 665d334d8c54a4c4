"""A callback asked out of hours, a whole call through the simulated Asterisk with the real
pipeline and models: the number typed on the keypad reaches the records store as a work
item (with the call's record), the agent consoles and the hand-over webhook; the call's
outcome says a callback is owed."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from callbot.app.service import Callbot, Engines
from callbot.audio.formats import ULAW_8K
from callbot.config import Settings
from callbot.handover.hub import HandoverHub
from callbot.records.settings import RecordsSettings
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.run import wait_for_record
from callbot.web.serving import serve_app
from tests.conftest import bot_settings
from tests.dialplan.flows import NIGHT
from tests.handover.test_hub import STEP_TIMEOUT_S, Crm

pytestmark = pytest.mark.models

DIALPLAN = Path(__file__).parent / "dialplans" / "callback-fr.yaml"
QUIET_S = 0.8


async def heard_then_quiet(peer: SimulatedChanWebsocketCall, since_s: float) -> None:
    """Until the bot has said something after ``since_s`` and then been quiet."""
    async with asyncio.timeout(30):
        while True:
            last = peer.recording.last_audio_at()
            heard = peer.recording.first_audio_after(since_s) is not None
            if heard and last is not None and time.monotonic() - last >= QUIET_S:
                return
            await asyncio.sleep(0.02)


async def press(peer: SimulatedChanWebsocketCall, keys: str) -> float:
    pressed_s = time.monotonic()
    for key in keys:
        await peer.send_dtmf(key)
        await asyncio.sleep(0.05)
    return pressed_s


@pytest.fixture
async def crm() -> AsyncIterator[tuple[Crm, str]]:
    endpoint = Crm()
    server = await serve_app(endpoint.app())
    yield endpoint, f"http://127.0.0.1:{server.port}/hook"
    await server.stop()


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(models_dir, DIALPLAN)


@pytest.fixture
async def bot(
    settings: Settings, engines: Engines, tmp_path: Path, crm: tuple[Crm, str]
) -> AsyncIterator[Callbot]:
    records = RecordsSettings(url=str(tmp_path / "records.sqlite3"))
    hub = HandoverHub(None, crm[1])
    local = dataclasses.replace(settings, records=records)
    running = await Callbot.start(local, engines=engines, hub=hub, now=NIGHT)
    yield running
    await running.stop()


async def test_a_callback_asked_on_the_keypad_becomes_a_work_item(
    bot: Callbot, crm: tuple[Crm, str]
) -> None:
    endpoint, _ = crm
    live = bot.hub.subscribe()
    peer = SimulatedChanWebsocketCall(bot.media_url, media_format=ULAW_8K, call_id="cb-call")
    async with peer:
        await heard_then_quiet(peer, 0.0)  # the greeting
        for keys in ("0", "1", "0612345678", "1", "#"):  # agent, yes, number, right, any time
            await heard_then_quiet(peer, await press(peer, keys))
        assert await peer.wait_closed(15)
    record = await wait_for_record(bot.records, "cb-call")
    assert record is not None
    assert (record["outcome"], record["callback_queue"]) == ("callback_requested", "rappels")
    assert "0612345678" not in str(record)  # the number travels apart from the record
    assert bot.ops.writer is not None and bot.ops.store is not None
    assert await asyncio.to_thread(bot.ops.writer.wait_settled, 10)
    [stored] = await asyncio.to_thread(bot.ops.store.callbacks)
    assert (stored.call_id, stored.number, stored.queue) == ("cb-call", "0612345678", "rappels")
    assert (stored.status, stored.language, stored.intent) == ("open", "fr-FR", "conseiller")
    assert stored.preferred_time is None and stored.summary
    async with asyncio.timeout(STEP_TIMEOUT_S):
        event = await anext(aiter(live))
    assert (event["type"], event["event"]) == ("callback", "requested")
    assert event["callback"]["callback_id"] == stored.callback_id
    await bot.hub.flush_webhook(STEP_TIMEOUT_S)
    [(kind, body)] = endpoint.received
    assert kind == "callback.requested" and body["number"] == "0612345678"

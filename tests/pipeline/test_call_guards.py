"""No call left hanging, and true outcomes: whole calls through the simulated Asterisk.

Issue 10: a line that confirmed nothing and sent nothing after MEDIA_START held its call
(and its slot) for ``max_call_s`` (900 s), so seven of them refused every real caller;
refused callers left no record; a protocol error the server detected was recorded as the
caller hanging up. The time-outs are short here (settings); the defaults are measured in
the report of the change.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect

from callbot.app.bridge import build_bridge
from callbot.app.service import Callbot, Engines
from callbot.audio.formats import SLIN_16K, ULAW_8K
from callbot.bridge.settings import AriSettings
from callbot.config import Settings
from callbot.media.types import CallEnded, CallInfo, InboundEvent
from callbot.pipeline.ending import CAPACITY_REASON
from callbot.simulator.ari_server import SimulatedAri
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.external_media import ExternalMediaDialer
from callbot.simulator.run import Target, open_peer, simulate, wait_for_record
from callbot.simulator.script import DtmfTurn, SilenceTurn
from callbot.simulator.websocket_client import WebsocketClientConnection
from tests.conftest import bot_settings
from tests.pipeline.doubles import LineRecorder

pytestmark = pytest.mark.models

DIALPLAN = Path(__file__).parent / "dialplans" / "call-fr.yaml"
GUARDS = {"no_input_timeout_s": 1.0, "media_timeout_s": 3.0, "mark_grace_s": 0.5}


@pytest.fixture(scope="module")
def settings(models_dir: Path) -> Settings:
    return bot_settings(models_dir, DIALPLAN, call=GUARDS, security={"max_concurrent_calls": 7})


def tuned(settings: Settings, *, max_calls: int | None = None, **call: float) -> Settings:
    security = settings.security
    if max_calls is not None:
        security = dataclasses.replace(security, max_concurrent_calls=max_calls)
    return dataclasses.replace(
        settings, call=dataclasses.replace(settings.call, **call), security=security
    )


def stalled_line(bot: Callbot, call_id: str) -> SimulatedChanWebsocketCall:
    """Asterisk that sends MEDIA_START, then nothing: no audio, no mark confirmation."""
    return SimulatedChanWebsocketCall(bot.media_url, call_id=call_id, stalled=True)


async def real_call(bot: Callbot, turns: list[Any]) -> tuple[dict[str, Any], Any]:
    peer = open_peer(Target(media_url=bot.media_url), "chan_websocket", ULAW_8K)
    trace = await simulate(peer, turns)
    record = await wait_for_record(bot.records, trace.call_id)
    assert record is not None, "the call left no record"
    return record, trace


async def test_a_stalled_line_is_ended_politely_and_recorded(bot: Callbot) -> None:
    line = stalled_line(bot, f"stalled-{uuid.uuid4().hex[:8]}")
    async with line:
        started = time.monotonic()
        assert await line.wait_closed(20), "a line that sends nothing is never let go"
        gone_after_s = time.monotonic() - started
    record = await wait_for_record(bot.records, line.call_id)
    assert record is not None
    assert record["outcome"] == "media_timeout" and record["hung_up_by"] == "bot"
    assert record["outcome_detail"] == "no media from the line for 3 s"
    assert "HANGUP" in line.recording.command_names()
    # Greeting (never confirmed) + its grace, then the apology (never confirmed either).
    assert gone_after_s < 20, gone_after_s
    assert bot.runner.active_calls == 0


async def test_a_line_that_suppresses_silence_is_never_cut_off(bot: Callbot) -> None:
    """Nothing comes from such a line while the caller is quiet; each prompt is still
    confirmed, so the no-input policy (not the no-media guard) ends this silent call,
    although it lasts well past ``media_timeout_s`` with no caller media at all."""
    peer = SimulatedChanWebsocketCall(
        bot.media_url, call_id=f"dtx-{uuid.uuid4().hex[:8]}", send_silence=False
    )
    trace = await simulate(peer, [SilenceTurn(8.0)])
    record = await wait_for_record(bot.records, trace.call_id)
    assert record is not None and record["outcome"] == "no_input", record
    assert [t["intent"] for t in record["turns"]] == ["no_input"]  # then the goodbye
    # The caller sent nothing at all, and heard more than media_timeout_s of prompts.
    assert peer.recording.audible_seconds() > GUARDS["media_timeout_s"]
    assert record["duration_s"] > 2 * GUARDS["media_timeout_s"]


async def test_seven_stalled_lines_never_block_a_real_call(
    settings: Settings, engines: Engines
) -> None:
    """The slots of lines that never showed life go to real callers (here the no-media
    guard is slow, so only the hand-over of slots can let the real call in)."""
    local = tuned(settings, max_calls=7, media_timeout_s=60.0, no_input_timeout_s=4.0)
    bot = await Callbot.start(local, engines=engines)
    lines = [stalled_line(bot, f"stuck-{n}-{uuid.uuid4().hex[:8]}") for n in range(7)]
    try:
        for line in lines:
            await line.__aenter__()
        sessions = bot.runner.sessions.values
        async with asyncio.timeout(20):
            while sum(s.stalled for s in sessions()) < 7:  # noqa: ASYNC110 - their greetings
                await asyncio.sleep(0.05)
        assert bot.ops.admission.active == 7 and bot.ops.admission.full
        dialled = time.monotonic()
        record, trace = await real_call(bot, [DtmfTurn("1")])
        assert trace.greeting_ms is not None and trace.greeting_ms < 3000, trace.greeting_ms
        assert record["turns"][0]["intent"] == "mot_de_passe", record
        assert time.monotonic() - dialled < 20
        assert bot.ops.admission.refused == 0
        for line in lines:  # the others end on their own (no-input policy, no media)
            assert await line.wait_closed(30)
        stuck = [await wait_for_record(bot.records, line.call_id) for line in lines]
        outcomes = [(r or {}).get("outcome") for r in stuck]
        assert outcomes == ["media_timeout"] * 7, [(r or {}).get("outcome_detail") for r in stuck]
        reclaimed = "nothing from the line; its slot went to a new caller"
        assert [r["outcome_detail"] for r in stuck if r].count(reclaimed) == 1
    finally:
        for line in lines:
            await line.__aexit__(None, None, None)
        await bot.stop()


async def test_a_call_over_the_limit_leaves_a_capacity_record(
    settings: Settings, engines: Engines
) -> None:
    bot = await Callbot.start(tuned(settings, max_calls=1), engines=engines)
    try:
        first = open_peer(Target(media_url=bot.media_url), "chan_websocket", ULAW_8K)
        async with first:
            assert await first.wait_for_bot_silence(0.3, 20), "no greeting"
            refused = open_peer(Target(media_url=bot.media_url), "chan_websocket", ULAW_8K)
            async with refused:
                assert await refused.wait_closed(5), "a refused call is let go at once"
            assert "HANGUP" in refused.recording.command_names()
            assert refused.recording.last_audio_at() is None  # the bot never answered it
        record = await wait_for_record(bot.records, refused.call_id)
    finally:
        await bot.stop()
    assert record is not None and record["outcome"] == "capacity"
    assert record["hung_up_by"] == "bot" and record["transfer_queue"] is None
    assert record["outcome_detail"].startswith("refused at the concurrent-call limit: hung up")
    assert record["greeting_ms"] is None and record["turns"] == []


async def test_over_the_limit_with_ari_the_caller_goes_to_a_human(
    settings: Settings, engines: Engines
) -> None:
    sim = SimulatedAri(password="secret")
    await sim.start()
    ari = AriSettings(url=f"http://127.0.0.1:{sim.port}", password="secret")
    local = dataclasses.replace(tuned(settings, max_calls=1), ari=ari)
    bridge = build_bridge(local)
    bot = await Callbot.start(local, engines=engines, control=bridge.control)
    dialer = ExternalMediaDialer(
        sim, {"callbot": WebsocketClientConnection("callbot", bot.media_url)}
    )
    sim.on_external_media = dialer
    bridge.start()
    try:
        await sim.wait_for(lambda: "callbot" in sim.registered_apps)
        first = sim.place_call("0611111111", ["3949"])
        await sim.wait_for(lambda: bot.runner.active_calls == 1, 10)
        second = sim.place_call("0622222222", ["3949"])
        caller = sim.channels[second]
        await sim.wait_for(lambda: caller.continued_to is not None, 10)
        assert caller.continued_to == ("callbot-queues", "conseillers", 1)
        assert not caller.hung_up
        assert caller.variables["__CALLBOT_MOTIF"] == CAPACITY_REASON["fr"]
        record = await wait_for_record(bot.records, second)
        assert record is not None and record["outcome"] == "capacity"
        assert record["transfer_queue"] == "conseillers"
        assert record["outcome_detail"] == (
            "refused at the concurrent-call limit: handed to queue conseillers"
        )
        assert not sim.channels[first].hung_up  # the call in progress goes on
    finally:
        await bridge.stop()
        await bot.stop()
        await dialer.aclose()
        await sim.stop()


async def test_an_oversize_message_is_a_protocol_error(bot: Callbot) -> None:
    """callbot's server refuses messages over 128 KiB (close 1009): recorded as a protocol
    error the bot detected, not as the caller hanging up."""
    start = (
        "MEDIA_START connection_id:c channel:WebSocket/c/0x1 channel_id:1.1 "
        "format:slin16 optimal_frame_size:640 ptime:20"
    )
    call_id = f"oversize-{uuid.uuid4().hex[:8]}"
    url = f"{bot.media_url}?call_id={call_id}"
    async with connect(url, subprotocols=["media"]) as ws:  # type: ignore[list-item]
        await ws.send(start)
        for _ in range(25):  # half a second of caller silence: the call is up
            await ws.send(bytes(SLIN_16K.frame_bytes))
        await asyncio.sleep(0.3)
        await ws.send(b"\x00" * 200_000)
        with pytest.raises(Exception):  # noqa: B017 - closed under us, any way
            while True:
                await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code == 1009
    record = await wait_for_record(bot.records, call_id)
    assert record is not None and record["outcome"] == "protocol_error"
    assert record["hung_up_by"] == "bot"
    assert record["outcome_detail"] == "protocol error: close 1009 by bot"


async def test_a_call_cancelled_before_it_could_record_its_end_is_not_left_in_progress(
    bot: Callbot,
) -> None:
    """Soak of issue 10, 1,000 calls on a loaded machine: the edge cancelled calls whose
    pipeline had not stopped 2 s after the caller hung up, and their records stayed
    ``in_progress`` for good (150 of 1,000; the process was alive, so no sweep closed
    them). The caller's hang-up, queued but never read, is the outcome."""
    call_id = f"cancelled-{uuid.uuid4().hex[:8]}"
    info = CallInfo(call_id, "chan_websocket", ULAW_8K)
    inbound: asyncio.Queue[InboundEvent] = asyncio.Queue()
    call = asyncio.create_task(bot.runner(info, inbound, LineRecorder()))
    await asyncio.sleep(0.5)  # the call is up: its in-progress record exists
    inbound.put_nowait(CallEnded("hang-up", by="caller"))
    call.cancel()  # before the pipeline reads the hang-up, as the edge's drain timeout does
    with pytest.raises(asyncio.CancelledError):
        await call
    record = await wait_for_record(bot.records, call_id)
    assert record is not None
    assert (record["outcome"], record["hung_up_by"]) == ("hung_up_by_caller", "caller")

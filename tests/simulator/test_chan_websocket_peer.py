"""The simulated Asterisk against a tiny tone/echo bot built on the real edge (uvicorn)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
import numpy.typing as npt
import pytest
from fastapi import FastAPI, WebSocket
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.typing import Subprotocol

from callbot.audio.formats import SLIN_16K, ULAW_8K, AudioFormat
from callbot.media.call_identity import CallIdRegistry
from callbot.media.chan_websocket_edge import ChanWebsocketSettings, serve_call
from callbot.media.session import SessionSettings
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallInfo,
    InboundEvent,
    MarkPlayed,
    MediaSink,
)
from callbot.simulator.chan_websocket_peer import SimulatedChanWebsocketCall
from callbot.simulator.websocket_client import WebsocketClientConnection
from callbot.web.serving import serve_app

SETTINGS = ChanWebsocketSettings(
    start_timeout_s=1.0, session=SessionSettings(handler_drain_timeout_s=0.5)
)
SPEED = 4.0


def tone(seconds: float, rate_hz: int = 16_000, amplitude: int = 8000) -> npt.NDArray[np.int16]:
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    return (np.sin(2 * np.pi * 440 * t) * amplitude).astype(np.int16)


@dataclass
class Bot:
    """Greets with a 0.4 s tone and a mark; echoes caller audio when '#' is pressed;
    hangs up on '0'. Records what it saw."""

    greeting_s: float = 0.4
    info: CallInfo | None = None
    events: list[InboundEvent] = field(default_factory=list)
    mark_played_at: float | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        self.info = info
        try:
            await self._run(queue, sink)
        finally:
            self.done.set()

    async def _run(self, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        if self.greeting_s:
            await sink.send_audio(tone(self.greeting_s, 22_050), 22_050)
            await sink.mark("greeting")
        heard: list[npt.NDArray[np.int16]] = []
        while not isinstance(event := await queue.get(), CallEnded):
            self.events.append(event)
            if isinstance(event, CallerAudio):
                heard.append(event.pcm)
            elif isinstance(event, MarkPlayed):
                self.mark_played_at = time.monotonic()
            elif event == CallerDtmf("#"):
                await sink.send_audio(np.concatenate(heard), 16_000)
                heard.clear()
            elif event == CallerDtmf("0"):
                await sink.hangup()
        self.events.append(event)


@dataclass
class Server:
    port: int
    handler: Callable[..., Awaitable[None]] = field(default_factory=Bot)
    settings: ChanWebsocketSettings = SETTINGS
    call_ids: CallIdRegistry = field(default_factory=CallIdRegistry)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/media"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(port=0)
    app = FastAPI()

    @app.websocket("/media")
    async def media(ws: WebSocket) -> None:
        await serve_call(ws, state.handler, state.settings, call_ids=state.call_ids)

    running = await serve_app(app)
    state.port = running.port
    yield state
    await running.stop()


async def test_greeting_is_played_out_and_the_mark_fires_after_it(server: Server) -> None:
    bot = Bot()
    server.handler = bot
    # slin16: the recording is not resampled, so its times are exact to the tick.
    call = SimulatedChanWebsocketCall(server.url, media_format=SLIN_16K, call_id="c-1", speed=SPEED)
    async with call:
        assert await call.wait_for_bot_silence(quiet_s=0.2, timeout_s=5)
        async with asyncio.timeout(2):
            while bot.mark_played_at is None:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert bot.info is not None and bot.info.call_id == "c-1"
    assert bot.info.media_format == SLIN_16K
    assert call.recording.audible_seconds() == pytest.approx(0.4, abs=0.03)
    assert call.recording.commands[0].name == "MARK_MEDIA"
    assert call.recording.commands[0].detail == "greeting"
    last_audible = call.recording.last_audio_at()
    assert last_audible is not None and bot.mark_played_at >= last_audible
    assert call.recording.dropped_frames == 0


@pytest.mark.parametrize(
    ("media_format", "control"), [(ULAW_8K, "json"), (SLIN_16K, "plain"), (SLIN_16K, "json")]
)
async def test_caller_speech_is_echoed(
    server: Server, media_format: AudioFormat, control: Literal["plain", "json"]
) -> None:
    bot = Bot(greeting_s=0)
    server.handler = bot
    call = SimulatedChanWebsocketCall(
        server.url, media_format=media_format, call_id="e", control_format=control, speed=SPEED
    )
    async with call:
        started = time.monotonic()
        ended = await call.play(tone(0.6), 16_000)
        assert ended - started == pytest.approx(0.6 / SPEED, abs=0.1)
        await call.send_dtmf("#")
        assert await call.wait_for_bot_silence(quiet_s=0.2, timeout_s=5)
        echoed = call.recording.audible_seconds(since_s=ended)
    assert echoed == pytest.approx(0.6, abs=0.1)
    assert bot.info is not None and bot.info.media_format == media_format


async def test_call_id_and_caller_in_channel_variables(server: Server) -> None:
    bot = Bot(greeting_s=0)
    server.handler = bot
    call = SimulatedChanWebsocketCall(
        server.url,
        call_id="var-id",
        caller_number="+33612345678",
        channel_variables={"MOTIF": "carte grise"},
        call_id_in_query=False,
    )
    async with call:
        await call.send_dtmf("7")
        await asyncio.sleep(0.1)
    async with asyncio.timeout(3):
        await bot.done.wait()
    assert bot.info is not None
    assert bot.info.call_id == "var-id" and bot.info.caller_number == "+33612345678"
    assert bot.info.variables["MOTIF"] == "carte grise"
    assert CallerDtmf("7") in bot.events


async def test_a_dial_through_a_connection_is_direct_mode_and_its_v_sticks(
    server: Server,
) -> None:
    """Dial(WebSocket/callbot/...v(call_id=..,caller=..)): the id is in the query only,
    MEDIA_START names the connection, and the next call through it inherits the v()."""
    connection = WebsocketClientConnection("callbot-direct", server.url)
    bots = []
    for call_id, in_query in (("d-1", True), ("d-2", False)):
        bot = Bot(greeting_s=0)
        server.handler = bot
        call = SimulatedChanWebsocketCall(
            connection,
            call_id=call_id,
            caller_number="0612345678",
            call_id_in_query=in_query,
            call_id_in_variables=False,
            channel_id=f"1763700000.{len(bots) + 1}",
        )
        async with call:
            await call.send_dtmf("1")
            await asyncio.sleep(0.1)
        async with asyncio.timeout(3):
            await bot.done.wait()
        bots.append(bot)
    first, second = (b.info for b in bots)
    assert first is not None and second is not None
    assert (first.call_id, first.caller_number) == ("d-1", "0612345678")
    assert "CALLBOT_CALL_ID" not in first.variables
    assert first.variables["MEDIA_WEBSOCKET_CONNECTION_ID"] == "callbot-direct"
    assert first.channel_id == "1763700000.1"
    assert connection.uri_params == "call_id=d-1&caller=0612345678"
    # The second Dial had no v(): it arrived with d-1's query, and got its channel's id.
    assert (second.call_id, second.caller_number) == ("1763700000.2", None)


async def test_caller_hangs_up(server: Server) -> None:
    bot = Bot(greeting_s=0)
    server.handler = bot
    async with SimulatedChanWebsocketCall(server.url, call_id="h") as call:
        await call.hangup()
        assert call.closed and call.close_code == 1000
        with pytest.raises(ConnectionError):
            await call.send_dtmf("1")
        with pytest.raises(ConnectionError):
            await call.play(tone(0.1), 16_000)
    async with asyncio.timeout(3):
        await bot.done.wait()
    assert isinstance(bot.events[-1], CallEnded)


async def test_bot_hangs_up(server: Server) -> None:
    server.handler = Bot(greeting_s=0)
    async with SimulatedChanWebsocketCall(server.url, call_id="b", speed=SPEED) as call:
        await call.send_dtmf("0")
        assert await call.wait_closed(3)
        assert call.close_code == 1000
        assert "HANGUP" in call.recording.command_names()


async def test_silence_is_optional(server: Server) -> None:
    for send_silence, expect_audio in ((False, False), (True, True)):
        bot = Bot(greeting_s=0)
        server.handler = bot
        async with SimulatedChanWebsocketCall(
            server.url, call_id="s", send_silence=send_silence, speed=SPEED
        ):
            await asyncio.sleep(0.2)
        async with asyncio.timeout(3):
            await bot.done.wait()
        assert any(isinstance(e, CallerAudio) for e in bot.events) is expect_audio


async def test_basic_auth(server: Server) -> None:
    server.settings = replace(SETTINGS, username="asterisk", password="pw")
    async with SimulatedChanWebsocketCall(
        server.url, call_id="a", username="asterisk", password="pw", speed=SPEED
    ) as call:
        assert await call.wait_for_bot_silence(0.1, 5)


async def test_edge_respects_xoff_nothing_dropped(server: Server) -> None:
    bot = Bot(greeting_s=19.0)  # 950 frames: over the 900-frame XOFF level
    server.handler = bot
    server.settings = replace(SETTINGS, max_lead_s=60)
    async with SimulatedChanWebsocketCall(server.url, call_id="x", speed=12) as call:
        assert await call.wait_for_bot_silence(quiet_s=0.1, timeout_s=10)
    assert call.recording.dropped_frames == 0
    assert call.recording.audible_seconds() == pytest.approx(19.0, abs=0.1)


async def test_queue_thresholds_and_oversize_against_a_raw_app() -> None:
    """A careless app: 32 s of audio at once, then one message over 65,535 bytes."""
    texts: list[str] = []
    closed = asyncio.Event()

    async def app(ws: ServerConnection) -> None:
        start = json.loads(await ws.recv())
        assert start["event"] == "MEDIA_START" and start["format"] == "ulaw"
        for _ in range(4):  # 1600 frames; the 4th message meets a full queue
            await ws.send(b"\x00" * 160 * 400)
        with contextlib.suppress(ConnectionClosed):
            async for message in ws:
                if isinstance(message, str):
                    texts.append(message)
                    if json.loads(message)["event"] == "MEDIA_XON":
                        await ws.send(b"\x00" * 65_532)
        closed.set()

    media = [Subprotocol("media")]
    async with serve(app, "127.0.0.1", 0, subprotocols=media) as srv:
        port = srv.sockets[0].getsockname()[1]
        call = SimulatedChanWebsocketCall(f"ws://127.0.0.1:{port}/", call_id="q", speed=25)
        async with call:
            assert await call.wait_closed(15)
            async with asyncio.timeout(3):
                await closed.wait()
    assert [json.loads(t)["event"] for t in texts] == ["MEDIA_XOFF", "MEDIA_XON"]
    assert call.close_code == 1009
    assert call.recording.dropped_frames == 400  # the message that met a full queue


async def test_wait_for_bot_silence_times_out_when_the_bot_says_nothing(server: Server) -> None:
    server.handler = Bot(greeting_s=0)
    async with SimulatedChanWebsocketCall(server.url, call_id="q", speed=SPEED) as call:
        assert not await call.wait_for_bot_silence(0.1, 0.3)

"""The chan_websocket edge over a real uvicorn server and a websockets client on loopback.

The client plays Asterisk by hand (texts as chan_websocket.c writes them), so each test
controls exactly what the edge sees.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

import numpy as np
import pytest
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from callbot.audio.formats import SLIN_16K, ULAW_8K
from callbot.media import chan_websocket_edge as edge
from callbot.media.call_identity import CallIdRegistry
from callbot.media.chan_websocket_edge import ChanWebsocketSettings, dial_in, serve_call
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
from callbot.observability.throttle import ThrottledWarning
from callbot.web.serving import serve_app

CHAN = "1763700000.7"
SETTINGS = ChanWebsocketSettings(
    start_timeout_s=1.0, session=SessionSettings(handler_drain_timeout_s=0.5)
)

Handler = Callable[[CallInfo, "asyncio.Queue[InboundEvent]", MediaSink], Awaitable[None]]


def start_plain(fmt: str = "ulaw", frame: int = 160) -> str:
    return (
        f"MEDIA_START connection_id:media1 channel:WebSocket/media1/0x1 channel_id:{CHAN} "
        f"format:{fmt} optimal_frame_size:{frame} ptime:20"
    )


def start_json(variables: dict[str, str], fmt: str = "slin16", frame: int = 640) -> str:
    return json.dumps(
        {
            "event": "MEDIA_START",
            "connection_id": "media1",
            "channel": "WebSocket/media1/0x1",
            "channel_id": CHAN,
            "format": fmt,
            "optimal_frame_size": frame,
            "ptime": 20,
            "channel_variables": variables,
        },
        separators=(",", ":"),
    )


@dataclass
class Recorder:
    """A handler that records its call and events, then runs ``script`` (if any)."""

    script: Callable[[asyncio.Queue[InboundEvent], MediaSink], Awaitable[None]] | None = None
    info: CallInfo | None = None
    events: list[InboundEvent] = field(default_factory=list)
    started: asyncio.Event = field(default_factory=asyncio.Event)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        self.info = info
        self.started.set()
        try:
            if self.script is not None:
                await self.script(queue, sink)
            else:
                await self.collect(queue)
        finally:
            self.finished.set()

    async def collect(self, queue: asyncio.Queue[InboundEvent]) -> None:
        """What the line sent, up to the end (silence the edge filled in left out)."""
        while not isinstance(event := await from_line(queue), CallEnded):
            self.events.append(event)
        self.events.append(event)


async def from_line(queue: asyncio.Queue[InboundEvent]) -> InboundEvent:
    """The next event the line sent: silence the edge filled in (the hand-driven Asterisk
    sends no audio) is skipped."""
    while isinstance(event := await queue.get(), CallerAudio) and not event.by_line:
        pass
    return event


async def until_end(queue: asyncio.Queue[InboundEvent]) -> None:
    while not isinstance(await queue.get(), CallEnded):
        pass


@dataclass
class Server:
    port: int
    handler: Handler | None = None
    settings: ChanWebsocketSettings = SETTINGS
    call_ids: CallIdRegistry = field(default_factory=CallIdRegistry)

    def url(self, query: str = "") -> str:
        return f"ws://127.0.0.1:{self.port}/media{query}"


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server(port=0)
    app = FastAPI()

    @app.websocket("/media")
    async def media(ws: WebSocket) -> None:
        assert state.handler is not None
        await serve_call(ws, state.handler, state.settings, call_ids=state.call_ids)

    running = await serve_app(app)
    state.port = running.port
    yield state
    await running.stop()


@contextlib.asynccontextmanager
async def asterisk(
    url: str, start: str | None, headers: dict[str, str] | None = None
) -> AsyncIterator[ClientConnection]:
    """A hand-driven Asterisk: connects like res_websocket_client, sends MEDIA_START."""
    media = [Subprotocol("media")]
    async with connect(url, subprotocols=media, additional_headers=headers, close_timeout=1) as ws:
        if start is not None:
            await ws.send(start)
        yield ws


async def next_text(ws: ClientConnection) -> str:
    while isinstance(message := await asyncio.wait_for(ws.recv(), 3), bytes):
        pass
    return message


async def closed_code(ws: ClientConnection) -> int | None:
    with contextlib.suppress(ConnectionClosed):
        async with asyncio.timeout(3):
            while True:
                await ws.recv()
    return ws.close_code


async def test_call_id_from_query_plain_ulaw(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url("?call_id=abc-1&caller=%2B33123"), start_plain()) as ws:
        assert ws.subprotocol == "media"
        for _ in range(10):
            await ws.send(b"\xff" * 160)  # mu-law silence
        await asyncio.sleep(0.2)
    async with asyncio.timeout(3):
        await rec.finished.wait()
    assert rec.info is not None
    assert rec.info.call_id == "abc-1" and rec.info.caller_number == "+33123"
    assert rec.info.transport == "chan_websocket" and rec.info.media_format == ULAW_8K
    assert rec.info.channel_id == CHAN and rec.info.variables["call_id"] == "abc-1"
    audio = [e.pcm for e in rec.events if isinstance(e, CallerAudio)]
    assert audio and all(pcm.size for pcm in audio)  # no empty events from the resampler
    samples = np.concatenate(audio)
    # 16 kHz silence, less the resampler's start-up delay
    assert 1000 <= samples.size <= 3200 and np.abs(samples).max() < 50
    assert isinstance(rec.events[-1], CallEnded)


async def test_call_id_from_channel_variables_slin16(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    variables = {"__CALLBOT_CALL_ID": "from-var", "CALLBOT_CALLER": "0612", "MOTIF": "rdv"}
    tone = (np.sin(np.arange(320) / 5) * 8000).astype("<i2")
    async with asterisk(server.url(), start_json(variables)) as ws:
        await ws.send(tone.tobytes())
        await asyncio.sleep(0.2)
    async with asyncio.timeout(3):
        await rec.finished.wait()
    assert rec.info is not None
    assert rec.info.call_id == "from-var" and rec.info.caller_number == "0612"
    assert rec.info.media_format == SLIN_16K and rec.info.variables["MOTIF"] == "rdv"
    first = rec.events[0]
    assert isinstance(first, CallerAudio)
    assert np.array_equal(first.pcm, tone)  # slin16 is the pipeline format: untouched


async def test_call_id_falls_back_to_channel_id(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url(), start_json({})):
        async with asyncio.timeout(3):
            await rec.started.wait()
    assert rec.info is not None and rec.info.call_id == CHAN and rec.info.caller_number is None


async def test_ari_variables_win_over_a_query_left_by_a_direct_call(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """The v() of an earlier Dial rides on the shared connection: not this call's id."""
    rec = Recorder()
    server.handler = rec
    variables = {"CALLBOT_CALL_ID": "1763700000.5", "CALLBOT_CALLER": "0611111111"}
    query = "?call_id=1763699999.1&caller=%2B33699999999"
    with caplog.at_level(logging.INFO, logger="callbot.media"):
        async with asterisk(server.url(query), start_json(variables)):
            async with asyncio.timeout(3):
                await rec.started.wait()
    assert rec.info is not None
    assert (rec.info.call_id, rec.info.caller_number) == ("1763700000.5", "0611111111")
    assert "call_id" not in rec.info.variables and "caller" not in rec.info.variables
    assert any("query call_id 1763699999.1 ignored" in r.getMessage() for r in caplog.records)


async def test_direct_mode_query_id_used_once_then_the_channel_id(server: Server) -> None:
    seen: list[str] = []
    for channel_id in ("1763700000.8", "1763700000.9"):
        rec = Recorder()
        server.handler = rec
        start = start_plain().replace(CHAN, channel_id)
        async with asterisk(server.url("?call_id=1763699999.1&caller=0612"), start):
            async with asyncio.timeout(3):
                await rec.started.wait()
        assert rec.info is not None
        seen.append(f"{rec.info.call_id} {rec.info.caller_number}")
    assert seen == ["1763699999.1 0612", "1763700000.9 None"]


@pytest.mark.parametrize("bad", ["ok%0AWARNING%20callbot:%20call%20x%20transferred", "y" * 500])
async def test_a_malformed_query_id_gives_a_safe_id_and_no_forged_log_line(
    server: Server, caplog: pytest.LogCaptureFixture, bad: str
) -> None:
    rec = Recorder()
    server.handler = rec
    with caplog.at_level(logging.DEBUG, logger="callbot"):
        async with asterisk(server.url(f"?call_id={bad}&token=t0k3n"), start_plain()) as ws:
            await ws.send(b"\xff" * 160)
        async with asyncio.timeout(3):
            await rec.finished.wait()
    assert rec.info is not None and rec.info.call_id == CHAN
    assert "token" not in rec.info.variables
    lines = [r.getMessage() for r in caplog.records]
    assert lines and all("\n" not in line and len(line) < 400 for line in lines)
    assert not any(line.startswith("WARNING") for line in lines)
    if "%0A" in bad:
        assert any("ok\\nWARNING callbot" in line for line in lines)


async def test_dtmf_and_mark(server: Server) -> None:
    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert await from_line(queue) == CallerDtmf("5")
        await sink.send_audio(np.full(1600, 1000, dtype=np.int16), 16_000)  # 100 ms + ...
        await sink.send_audio(np.full(100, 1000, dtype=np.int16), 16_000)  # ... a partial frame
        await sink.mark("prompt-1")
        assert await from_line(queue) == MarkPlayed("prompt-1")
        await sink.hangup()

    server.handler = Recorder(script)
    async with asterisk(server.url("?call_id=d"), start_json({})) as ws:
        await ws.send(json.dumps({"event": "DTMF_END", "channel_id": CHAN, "digit": "5"}))
        media = b""
        while isinstance(message := await asyncio.wait_for(ws.recv(), 3), bytes):
            media += message
        assert len(media) == 640 * 6  # the partial frame was padded before the mark
        assert json.loads(message) == {"command": "MARK_MEDIA", "correlation_id": "prompt-1"}
        await ws.send(
            f'{{"event":"MEDIA_MARK_PROCESSED","channel_id":"{CHAN}","correlation_id":"prompt-1"}}'
        )
        assert await next_text(ws) == '{"command":"HANGUP"}'
        assert await closed_code(ws) == 1000


async def test_audio_is_chunked_in_whole_frames(server: Server) -> None:
    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        await sink.send_audio(np.zeros(22_050 * 3, dtype=np.int16), 22_050)  # 3 s of a voice
        await sink.mark("end")
        await until_end(queue)

    server.handler = Recorder(script)
    server.settings = replace(SETTINGS, max_chunk_ms=200)
    async with asterisk(server.url(), start_plain()) as ws:
        sizes = []
        while isinstance(message := await asyncio.wait_for(ws.recv(), 3), bytes):
            sizes.append(len(message))
        assert message == "MARK_MEDIA end"  # plain Asterisk, plain commands
    assert max(sizes) == 1600 and all(size % 160 == 0 for size in sizes)
    assert sum(sizes) == 8000 * 3


async def test_xoff_blocks_until_xon(server: Server) -> None:
    sent = asyncio.Event()

    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert await from_line(queue) == CallerDtmf("9")  # sent after MEDIA_XOFF
        await sink.send_audio(np.ones(8000, dtype=np.int16), 8000)
        sent.set()
        await until_end(queue)

    server.handler = Recorder(script)
    async with asterisk(server.url(), start_plain()) as ws:
        await ws.send("MEDIA_XOFF")
        await ws.send(f"DTMF_END digit:9 channel_id:{CHAN}")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)
        assert not sent.is_set()
        await ws.send("MEDIA_XON")
        received = 0
        while received < 8000:
            received += len(await asyncio.wait_for(ws.recv(), 3))
        async with asyncio.timeout(3):
            await sent.wait()


async def test_flush_drops_local_audio_and_tells_asterisk(server: Server) -> None:
    returned = asyncio.Event()

    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert await from_line(queue) == CallerDtmf("0")  # sent after MEDIA_XOFF
        speaking = asyncio.create_task(sink.send_audio(np.ones(80_000, dtype=np.int16), 8000))
        assert await from_line(queue) == CallerDtmf("1")  # the barge-in trigger
        await sink.flush()
        await asyncio.wait_for(speaking, 1)
        returned.set()
        await until_end(queue)

    server.handler = Recorder(script)
    async with asterisk(server.url(), start_plain()) as ws:
        await ws.send("MEDIA_XOFF")  # the bot's audio piles up locally
        await ws.send(f"DTMF_END digit:0 channel_id:{CHAN}")
        await asyncio.sleep(0.1)
        await ws.send(f"DTMF_END digit:1 channel_id:{CHAN}")
        assert await asyncio.wait_for(ws.recv(), 3) == "FLUSH_MEDIA"  # and no audio before
        async with asyncio.timeout(3):
            await returned.wait()
        await ws.send("MEDIA_XON")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.3)  # nothing left to send


async def test_caller_hangs_up(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url(), start_plain()) as ws:
        async with asyncio.timeout(3):
            await rec.started.wait()
        await ws.close(1000)
    async with asyncio.timeout(3):
        await rec.finished.wait()
    assert rec.events == [CallEnded("closed by Asterisk (1000)")]


async def test_handler_return_hangs_up(server: Server) -> None:
    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        return None

    server.handler = Recorder(script)
    async with asterisk(server.url(), start_plain()) as ws:
        assert await next_text(ws) == "HANGUP"
        assert await closed_code(ws) == 1000


async def test_slow_handler_is_cancelled_after_drain_timeout(server: Server) -> None:
    cancelled = asyncio.Event()

    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        try:
            await asyncio.sleep(30)  # ignores CallEnded
        except asyncio.CancelledError:
            cancelled.set()
            raise

    server.handler = Recorder(script)
    async with asterisk(server.url(), start_plain()) as ws:
        await asyncio.sleep(0.1)
        await ws.close(1000)
    async with asyncio.timeout(3):
        await cancelled.wait()


async def test_handler_error_ends_only_that_call(server: Server) -> None:
    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        raise RuntimeError("boom")

    server.handler = Recorder(script)
    async with asterisk(server.url(), start_plain()) as ws:
        assert await next_text(ws) == "HANGUP"
        assert await closed_code(ws) == 1011
    await test_handler_return_hangs_up(server)  # the server still takes calls


async def test_malformed_text_is_skipped(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url(), start_plain()) as ws:
        await ws.send("{broken json")
        await ws.send("DTMF_END channel_id:x")  # no digit
        await ws.send("SOMETHING_NEW a:b")
        await ws.send(f"DTMF_END digit:# channel_id:{CHAN}")
        await asyncio.sleep(0.2)
    async with asyncio.timeout(3):
        await rec.finished.wait()
    assert rec.events[0] == CallerDtmf("#")


async def test_oversize_binary_closes_1009(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url(), start_plain()) as ws:
        await ws.send(b"\xff" * 70_000)
        assert await closed_code(ws) == 1009
    async with asyncio.timeout(3):
        await rec.finished.wait()
    assert isinstance(rec.events[-1], CallEnded) and "protocol error" in rec.events[-1].reason
    assert rec.events[-1].protocol_error and rec.events[-1].by == "bot"


async def test_a_message_over_the_servers_limit_is_a_protocol_error() -> None:
    """Issue 10, item 5: uvicorn closes 1009 on a message over ``ws_max_size`` (as callbot
    serves); the call was recorded as the caller hanging up."""
    rec = Recorder()
    app = FastAPI()

    @app.websocket("/media")
    async def media(ws: WebSocket) -> None:
        await serve_call(ws, rec, SETTINGS, call_ids=CallIdRegistry())

    running = await serve_app(app, ws="websockets-sansio", ws_max_size=128 * 1024)
    try:
        url = f"ws://127.0.0.1:{running.port}/media"
        async with asterisk(url, start_plain(), {}) as ws:
            async with asyncio.timeout(3):
                await rec.started.wait()
            await ws.send(b"\xff" * 200_000)
            assert await closed_code(ws) == 1009
        async with asyncio.timeout(3):
            await rec.finished.wait()
    finally:
        await running.stop()
    ended = rec.events[-1]
    assert ended == CallEnded("protocol error: close 1009 by bot", "bot", protocol_error=True)


async def test_idle_connections_log_no_warning_each(
    server: Server, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10, item 6: each connection that never sent MEDIA_START logged a WARNING
    (3,300 a minute under a probe); now one INFO line each and one WARNING a minute."""
    tally = ThrottledWarning(edge.logger, "media websocket(s) closed before a call started")
    monkeypatch.setattr(edge, "UNSTARTED", tally)
    server.handler = Recorder()
    server.settings = replace(SETTINGS, start_timeout_s=0.1)
    with caplog.at_level(logging.INFO, logger=edge.logger.name):
        for _ in range(5):
            async with asterisk(server.url(), None) as ws:
                assert await closed_code(ws) == 1002
    idle = [r for r in caplog.records if "closed before the call started" in r.message]
    assert len(idle) == 5 and {r.levelno for r in idle} == {logging.INFO}
    assert all("no MEDIA_START within 0.1 s" in r.message for r in idle)
    assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1


async def test_missing_media_start_closes_1002(server: Server) -> None:
    server.handler = Recorder()
    server.settings = replace(SETTINGS, start_timeout_s=0.2)
    async with asterisk(server.url(), None) as ws:
        await ws.send(b"\xff" * 160)
        assert await closed_code(ws) == 1002


async def test_unsupported_codec_closes_1003(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    async with asterisk(server.url(), start_plain("opus", 0)) as ws:
        assert await closed_code(ws) == 1003
    assert not rec.started.is_set()


async def test_basic_auth(server: Server) -> None:
    rec = Recorder()
    server.handler = rec
    server.settings = replace(SETTINGS, username="asterisk", password="s3cret")
    with pytest.raises(InvalidStatus):
        async with asterisk(server.url(), start_plain()):
            pass
    token = base64.b64encode(b"asterisk:s3cret").decode()
    headers = {"Authorization": f"Basic {token}"}
    async with asterisk(server.url(), start_plain(), headers):
        async with asyncio.timeout(3):
            await rec.started.wait()


async def test_dial_in_to_asterisk() -> None:
    """The app dials in: Asterisk is the server at /media/<connection_id>."""
    paths: list[str] = []

    async def fake_asterisk(ws: ServerConnection) -> None:
        assert ws.request is not None
        paths.append(ws.request.path)
        await ws.send(start_json({"CALLBOT_CALL_ID": "in-1"}, "ulaw", 160))
        for _ in range(10):
            await ws.send(b"\xff" * 160)
        assert json.loads(await ws.recv()) == {"command": "HANGUP"}
        await ws.wait_closed()

    async def script(queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        assert isinstance(await queue.get(), CallerAudio)

    rec = Recorder(script)
    async with serve(fake_asterisk, "127.0.0.1", 0, subprotocols=[Subprotocol("media")]) as srv:
        port = srv.sockets[0].getsockname()[1]
        await asyncio.wait_for(
            dial_in(f"ws://127.0.0.1:{port}/media/abc", rec, SETTINGS, call_ids=CallIdRegistry()), 5
        )
    assert paths == ["/media/abc"]
    assert rec.info is not None and rec.info.call_id == "in-1"


async def test_dial_in_asterisk_closing_1009_is_its_protocol_error() -> None:
    """Dialled in, the close frames tell who failed the connection: here Asterisk did
    (what it does with a message over 65,535 bytes)."""

    async def fake_asterisk(ws: ServerConnection) -> None:
        await ws.send(start_json({"CALLBOT_CALL_ID": "in-2"}, "ulaw", 160))
        await ws.send(b"\xff" * 160)
        await asyncio.sleep(0.1)
        await ws.close(1009, "")

    rec = Recorder()
    async with serve(fake_asterisk, "127.0.0.1", 0, subprotocols=[Subprotocol("media")]) as srv:
        port = srv.sockets[0].getsockname()[1]
        url = f"ws://127.0.0.1:{port}/media/abc"
        await asyncio.wait_for(dial_in(url, rec, SETTINGS, call_ids=CallIdRegistry()), 5)
    assert rec.events[-1] == CallEnded(
        "protocol error: close 1009 by asterisk", "asterisk", protocol_error=True
    )

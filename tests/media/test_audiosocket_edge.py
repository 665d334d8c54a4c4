"""The AudioSocket server on real loopback TCP, against a raw byte-level Asterisk stand-in.

The edge's time (its 20 ms pacer, gap-fill, drain) runs on a :class:`ManualClock` the
tests move by hand: frame counts are exact, and nothing depends on how busy the machine
is. Waits on the socket are event waits with a generous real-time bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest

from callbot.audio.formats import SLIN_8K, SLIN_16K
from callbot.errors import ConfigError, PortUnavailable
from callbot.logs import CallIdFilter
from callbot.media import audiosocket_edge
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings
from callbot.media.clock import ManualClock
from callbot.media.pacing import FRAME_S
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
from callbot.protocols.audiosocket import (
    Audio,
    Direction,
    FrameParser,
    HangupMessage,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
)

CALL_UUID = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
TONE_16K = (8000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.int16)
WAIT_S = 3.0
"""Real-time bound on an event wait (never reached unless the test fails)."""

Behaviour = Callable[[CallInfo, "asyncio.Queue[InboundEvent]", MediaSink], Awaitable[None]]


async def until(changed: asyncio.Event, done: Callable[[], bool]) -> None:
    """Wait, each time ``changed`` is set, until ``done()``."""
    async with asyncio.timeout(WAIT_S):
        while not done():
            changed.clear()
            await changed.wait()


class Handler:
    """Records every call; ``behaviour`` decides what the bot does (default: read until the end)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour
        self.infos: list[CallInfo] = []
        self.events: list[InboundEvent] = []
        self.changed = asyncio.Event()
        self.started = asyncio.Event()
        self.finished = asyncio.Event()

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        self.infos.append(info)
        self.started.set()
        try:
            if self.behaviour is not None:
                await self.behaviour(info, queue, sink)
            else:
                await drain_until_end(queue, self)
        finally:
            self.finished.set()

    def record(self, event: InboundEvent) -> None:
        self.events.append(event)
        self.changed.set()

    def of(self, kind: type) -> list[InboundEvent]:
        return [e for e in self.events if isinstance(e, kind)]

    async def wait_for(self, kind: type) -> InboundEvent:
        await until(self.changed, lambda: bool(self.of(kind)))
        return self.of(kind)[0]


async def drain_until_end(queue: asyncio.Queue[InboundEvent], handler: Handler) -> None:
    while True:
        event = await queue.get()
        handler.record(event)
        if isinstance(event, CallEnded):
            return


class FakeAsterisk:
    """Asterisk's side at byte level: what it sends is scripted, what it gets is parsed
    with Asterisk's own acceptance rules."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = FrameParser(Direction.TO_ASTERISK)
        self.received: list[Audio | HangupMessage] = []
        self.changed = asyncio.Event()
        self.eof = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, address: tuple[str, int]) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection(*address)
        return cls(reader, writer)

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            self.received += self.parser.feed(data)  # type: ignore[arg-type]
            self.changed.set()
        self.eof.set()

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def audio(self) -> list[Audio]:
        return [e for e in self.received if isinstance(e, Audio)]

    def audible_frames(self) -> int:
        return sum(any(e.payload) for e in self.audio())

    async def frames(self, count: int) -> None:
        """Until ``count`` audio frames have come in."""
        await until(self.changed, lambda: len(self.audio()) >= count)

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def slin_frame(rate_hz: int = 8000, value: int = 1000) -> bytes:
    return np.full(rate_hz // 50, value, dtype="<i2").tobytes()


FAST = AudioSocketSettings(
    port=0,
    uuid_timeout_s=0.3,
    first_audio_timeout_s=0.1,
    session=SessionSettings(handler_drain_timeout_s=0.5),
)


@contextlib.asynccontextmanager
async def serving(
    handler: Handler, settings: AudioSocketSettings = FAST, clock: ManualClock | None = None
) -> AsyncIterator[tuple[AudioSocketServer, tuple[str, int]]]:
    server = AudioSocketServer(handler, settings, clock or ManualClock())
    address = await server.start()
    try:
        yield server, address
    finally:
        await server.stop()


async def start_call(address: tuple[str, int], rate_hz: int = 8000) -> FakeAsterisk:
    peer = await FakeAsterisk.connect(address)
    # 200 ms of caller audio: soxr's streaming resampler releases its output in ~100 ms blocks.
    peer.send(encode_uuid(CALL_UUID) + encode_audio(slin_frame(rate_hz), rate_hz) * 10)
    return peer


class TestCall:
    async def test_8k_call_info_audio_both_ways(self) -> None:
        queued = asyncio.Event()

        async def echo_tone(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            assert sink.format == SLIN_8K
            handler.record(await queue.get())
            await sink.send_audio(TONE_16K[:3200], 16000)  # 200 ms: 10 frames
            queued.set()
            await drain_until_end(queue, handler)

        clock = ManualClock()
        handler = Handler(echo_tone)
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(queued.wait(), WAIT_S)
            await peer.frames(1)  # the pacer's first tick, as the call started
            await clock.advance(0.5 + FRAME_S / 2)
            await peer.frames(26)
            assert handler.infos == [CallInfo(str(CALL_UUID), "audiosocket", SLIN_8K)]
            first = handler.events[0]
            assert isinstance(first, CallerAudio) and first.by_line
            assert first.pcm.dtype == np.int16
            assert all(e.sample_rate_hz == 8000 and len(e.payload) == 320 for e in peer.audio())
            assert len(peer.audio()) == 26 and peer.audible_frames() == 10
            await peer.close()

    async def test_16k_call_uses_slin16_kind_and_640_byte_frames(self) -> None:
        clock = ManualClock()
        handler = Handler()
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address, rate_hz=16000)
            await handler.wait_for(CallerAudio)
            await clock.advance(0.1 + FRAME_S / 2)
            await peer.frames(6)
            assert handler.infos[0].media_format == SLIN_16K
            assert all(e.sample_rate_hz == 16000 and len(e.payload) == 640 for e in peer.audio())
            await peer.close()

    async def test_no_caller_audio_defaults_to_8k(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            peer.send(encode_uuid(CALL_UUID))
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            assert handler.infos[0].media_format == SLIN_8K
            await peer.close()

    async def test_dtmf_reaches_the_handler(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            peer.send(encode_dtmf("7") + encode_dtmf("#"))
            await until(handler.changed, lambda: CallerDtmf("#") in handler.events)
            digits = [e.digit for e in handler.events if isinstance(e, CallerDtmf)]
            assert digits == ["7", "#"]
            await peer.close()

    async def test_silence_is_filled_in_when_the_line_sends_nothing(self) -> None:
        """A line that suppresses silence: after ``gap_fill_ms`` without caller audio the
        session hands the handler that much silence, marked as not from the line."""
        clock = ManualClock()
        handler = Handler()
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await handler.wait_for(CallerAudio)
            await clock.advance(0.39)
            assert not any(isinstance(e, CallerAudio) and not e.by_line for e in handler.events)
            await clock.advance(0.02)
            filled = [e for e in handler.events if isinstance(e, CallerAudio) and not e.by_line]
            assert len(filled) == 1
            assert filled[0].pcm.size == 6400 and not filled[0].pcm.any()  # 400 ms at 16 kHz
            await peer.close()


class TestPacing:
    async def test_fifty_silent_frames_per_second_when_idle(self) -> None:
        clock = ManualClock()
        handler = Handler()
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            await peer.frames(1)
            await clock.advance(1.0 + FRAME_S / 2)
            await peer.frames(51)
            await clock.advance(0)  # nothing more is due: nothing more comes
            assert len(peer.audio()) == 51
            assert peer.audible_frames() == 0
            await peer.close()

    async def test_a_long_prompt_is_sent_at_real_time_not_at_once(self) -> None:
        queued = asyncio.Event()

        async def speak(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(np.tile(TONE_16K, 3), 16000)  # 3 s queued at once
            queued.set()
            await drain_until_end(queue, handler)

        clock = ManualClock()
        handler = Handler(speak)
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(queued.wait(), WAIT_S)
            await peer.frames(1)
            before = peer.audible_frames()
            await clock.advance(0.5 + FRAME_S / 2)
            await peer.frames(26)
            await clock.advance(0)
            assert peer.audible_frames() == before + 25
            await peer.close()

    async def test_flush_drops_queued_audio(self) -> None:
        queued, flush, flushed = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def barge(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(np.tile(TONE_16K, 2), 16000)
            queued.set()
            await flush.wait()
            await sink.flush()
            flushed.set()
            await drain_until_end(queue, handler)

        clock = ManualClock()
        handler = Handler(barge)
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(queued.wait(), WAIT_S)
            await peer.frames(1)
            before = peer.audible_frames()
            await clock.advance(0.1 + FRAME_S / 2)
            await peer.frames(6)
            assert peer.audible_frames() == before + 5
            flush.set()
            await asyncio.wait_for(flushed.wait(), WAIT_S)
            await clock.advance(0.5)
            await peer.frames(31)
            assert peer.audible_frames() == before + 5  # silence keeps flowing after the flush
            await peer.close()

    async def test_mark_is_played_with_the_last_frame_of_the_audio_before_it(self) -> None:
        queued = asyncio.Event()
        marks: list[tuple[str, float]] = []

        async def prompt(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(TONE_16K[:4800], 16000)  # 300 ms = 15 frames
            await sink.mark("after-prompt")
            queued.set()
            while not isinstance(event := await queue.get(), CallEnded):
                if isinstance(event, MarkPlayed):
                    marks.append((event.mark_id, clock.monotonic()))

        clock = ManualClock()
        handler = Handler(prompt)
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(queued.wait(), WAIT_S)
            await peer.frames(1)
            await clock.advance(FRAME_S / 2)  # from here on, mid-way between two frames
            sent = 1
            while not marks and sent < 30:
                await clock.advance(FRAME_S)
                sent += 1
                await peer.frames(sent)
            assert [mark_id for mark_id, _ in marks] == ["after-prompt"]
            # It came with the 15th frame of tone: not before, and not with a silent one.
            assert peer.audible_frames() == 15 and any(peer.audio()[-1].payload)
            await clock.advance(10 * FRAME_S)
            assert len(marks) == 1
            await peer.close()


class TestHangup:
    async def test_bot_hangup_sends_the_hangup_frame_and_closes(self) -> None:
        async def bye(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
            await sink.hangup()
            await drain_until_end(queue, handler)

        handler = Handler(bye)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            assert isinstance(peer.received[-1], HangupMessage)
            assert handler.events[-1] == CallEnded("hung up by the bot", by="bot")
            await peer.close()

    async def test_caller_closing_the_socket_ends_the_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (server, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            await peer.close()
            ended = await handler.wait_for(CallEnded)
            assert "closed the socket" in ended.reason  # type: ignore[union-attr]
            for _ in range(1000):  # the server forgets the call as its connection closes
                if server.active_calls == 0:
                    break
                await asyncio.sleep(0)
            assert server.active_calls == 0

    async def test_hangup_frame_from_asterisk_ends_the_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            peer.send(encode_hangup())
            ended = await handler.wait_for(CallEnded)
            assert ended == CallEnded("Asterisk sent hang-up frame")
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            await peer.close()

    async def test_handler_returning_hangs_up(self) -> None:
        async def quick(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await queue.get()

        async with serving(Handler(quick)) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            assert isinstance(peer.received[-1], HangupMessage)
            await peer.close()

    async def test_stop_ends_calls_politely(self) -> None:
        handler = Handler()
        server = AudioSocketServer(handler, FAST, ManualClock())
        address = await server.start()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), WAIT_S)
        await server.stop()
        assert handler.finished.is_set()
        assert handler.events[-1] == CallEnded("server stopping", by="bot")
        await asyncio.wait_for(peer.eof.wait(), WAIT_S)
        assert isinstance(peer.received[-1], HangupMessage)
        await peer.close()

    async def test_stop_cancels_a_handler_that_ignores_the_end(self) -> None:
        told, cancelled = asyncio.Event(), asyncio.Event()

        async def stubborn(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            try:
                while not isinstance(await queue.get(), CallEnded):
                    pass
                told.set()
                await asyncio.Event().wait()  # told the call is over, and stays
            except asyncio.CancelledError:
                cancelled.set()
                raise

        clock = ManualClock()
        handler = Handler(stubborn)
        server = AudioSocketServer(handler, FAST, clock)
        address = await server.start()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), WAIT_S)
        stopping = asyncio.create_task(server.stop())
        await asyncio.wait_for(told.wait(), WAIT_S)
        await clock.advance(0.49)  # the drain time (0.5 s) is not up
        assert not cancelled.is_set() and not stopping.done()
        await clock.advance(0.02)
        await asyncio.wait_for(stopping, WAIT_S)
        assert cancelled.is_set() and handler.finished.is_set()
        await asyncio.wait_for(peer.eof.wait(), WAIT_S)
        assert isinstance(peer.received[-1], HangupMessage)
        await peer.close()


class TestFaults:
    async def test_garbage_after_uuid_ends_only_that_call(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        handler = Handler()
        caplog.handler.addFilter(CallIdFilter())
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            with caplog.at_level(logging.WARNING):
                peer.send(b"\x02\x00\x01x")
                ended = await handler.wait_for(CallEnded)
            assert "protocol error" in ended.reason  # type: ignore[union-attr]
            [malformed] = [r for r in caplog.records if "malformed frame" in r.getMessage()]
            assert malformed.call_id == str(CALL_UUID)  # type: ignore[attr-defined]
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            assert isinstance(peer.received[-1], HangupMessage)
            await peer.close()
            await self._server_still_answers(handler, address)

    async def test_garbage_before_uuid_is_dropped_without_a_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            peer.send(encode_audio(slin_frame()))
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            assert isinstance(peer.received[-1], HangupMessage)
            assert not handler.started.is_set()
            await peer.close()

    async def test_silent_connection_times_out_without_a_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            await asyncio.wait_for(peer.eof.wait(), WAIT_S)  # uuid_timeout_s is 0.3
            assert not handler.started.is_set()
            await peer.close()

    async def test_oversize_frame_ends_the_call(self) -> None:
        handler = Handler()
        settings = AudioSocketSettings(port=0, max_frame_bytes=640, first_audio_timeout_s=0.1)
        async with serving(handler, settings) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            peer.send(b"\x10\x04\x00")  # announces 1024 bytes
            ended = await handler.wait_for(CallEnded)
            assert "640-byte limit" in ended.reason  # type: ignore[union-attr]
            # Issue 10, item 5: a protocol error, not the caller hanging up.
            assert ended == CallEnded(ended.reason, "bot", protocol_error=True)  # type: ignore[union-attr]
            await peer.close()

    async def test_a_time_out_before_the_uuid_logs_why_and_no_warning_each(
        self, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Issue 10, items 5 and 6: the reason was logged empty (``str(TimeoutError())``),
        and each idle connection wrote a WARNING."""
        tally = ThrottledWarning(audiosocket_edge.logger, "AudioSocket connection(s) closed")
        monkeypatch.setattr(audiosocket_edge, "UNSTARTED", tally)
        handler = Handler()
        async with serving(handler) as (_, address):
            with caplog.at_level(logging.INFO, logger=audiosocket_edge.logger.name):
                peers = [await FakeAsterisk.connect(address) for _ in range(4)]
                for peer in peers:
                    await asyncio.wait_for(peer.eof.wait(), WAIT_S)  # uuid_timeout_s is 0.3
                    await peer.close()
        dropped = [r for r in caplog.records if "dropped before the call started" in r.message]
        assert len(dropped) == 4 and {r.levelno for r in dropped} == {logging.INFO}
        assert all(r.message.endswith(": no call UUID within 0.3 s") for r in dropped)
        assert [r.levelno for r in caplog.records].count(logging.WARNING) == 1
        assert tally.total == 4 and not handler.started.is_set()

    async def test_marks_the_edge_counts_played_are_not_from_the_line(self) -> None:
        async def prompt(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(TONE_16K[:1600], 16000)
            await sink.mark("m")
            await drain_until_end(queue, handler)

        clock = ManualClock()
        handler = Handler(prompt)
        async with serving(handler, clock=clock) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), WAIT_S)
            await clock.advance(0.2)
            mark = await handler.wait_for(MarkPlayed)
            assert mark == MarkPlayed("m", by_line=False)
            await peer.close()

    async def test_handler_raising_ends_only_its_call(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            raise RuntimeError("boom")

        handler = Handler(broken)
        caplog.handler.addFilter(CallIdFilter())
        async with serving(handler) as (_, address):
            with caplog.at_level(logging.ERROR):
                peer = await start_call(address)
                await asyncio.wait_for(peer.eof.wait(), WAIT_S)
            assert isinstance(peer.received[-1], HangupMessage)
            failed = [r for r in caplog.records if "handler failed" in r.getMessage()]
            assert [r.call_id for r in failed] == [str(CALL_UUID)]  # type: ignore[attr-defined]
            await peer.close()
            handler.behaviour = None
            await self._server_still_answers(handler, address)

    @staticmethod
    async def _server_still_answers(handler: Handler, address: tuple[str, int]) -> None:
        handler.started.clear()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), WAIT_S)
        await peer.frames(1)
        await peer.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"default_sample_rate_hz": 11025},
        {"max_frame_bytes": 0},
        {"max_frame_bytes": 70000},
        {"uuid_timeout_s": 0},
        {"max_late_frames": 0},
    ],
)
def test_settings_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        AudioSocketSettings(**kwargs)  # type: ignore[arg-type]


async def test_taken_port_is_a_port_unavailable_error() -> None:
    async with serving(Handler()) as (_, (host, port)):
        second = AudioSocketServer(Handler(), AudioSocketSettings(host=host, port=port))
        with pytest.raises(PortUnavailable, match=f"^port {port} is already in use$"):
            await second.start()

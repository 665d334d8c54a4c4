"""The AudioSocket server on real loopback TCP, against a raw byte-level Asterisk stand-in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import numpy as np
import pytest

from callbot.audio.formats import SLIN_8K, SLIN_16K
from callbot.errors import ConfigError, PortUnavailable
from callbot.media import audiosocket_edge
from callbot.media.audiosocket_edge import AudioSocketServer, AudioSocketSettings, PlayoutQueue
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
    Hangup,
    encode_audio,
    encode_dtmf,
    encode_hangup,
    encode_uuid,
)

CALL_UUID = uuid.UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
TONE_16K = (8000 * np.sin(2 * np.pi * 440 * np.arange(16000) / 16000)).astype(np.int16)

Behaviour = Callable[[CallInfo, "asyncio.Queue[InboundEvent]", MediaSink], Awaitable[None]]


class Handler:
    """Records every call; ``behaviour`` decides what the bot does (default: read until the end)."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour
        self.infos: list[CallInfo] = []
        self.events: list[InboundEvent] = []
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
                await drain_until_end(queue, self.events)
        finally:
            self.finished.set()

    async def wait_for(self, kind: type, timeout_s: float = 2.0) -> InboundEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.events:
                    if isinstance(event, kind):
                        return event
                await asyncio.sleep(0.005)


async def drain_until_end(queue: asyncio.Queue[InboundEvent], into: list[InboundEvent]) -> None:
    while True:
        event = await queue.get()
        into.append(event)
        if isinstance(event, CallEnded):
            return


class FakeAsterisk:
    """Asterisk's side at byte level: what it sends is scripted, what it gets is parsed
    with Asterisk's own acceptance rules."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.parser = FrameParser(Direction.TO_ASTERISK)
        self.received: list[tuple[float, Audio | Hangup]] = []
        self.eof = asyncio.Event()
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, address: tuple[str, int]) -> FakeAsterisk:
        reader, writer = await asyncio.open_connection(*address)
        return cls(reader, writer)

    async def _read(self) -> None:
        while data := await self.reader.read(65536):
            now = time.monotonic()
            self.received += [(now, e) for e in self.parser.feed(data)]  # type: ignore[misc]
        self.eof.set()

    def send(self, data: bytes) -> None:
        self.writer.write(data)

    def audio(self) -> list[Audio]:
        return [e for _, e in self.received if isinstance(e, Audio)]

    def audible_frames(self) -> int:
        return sum(any(e.payload) for e in self.audio())

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):
            await self.writer.wait_closed()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


def slin_frame(rate_hz: int = 8000, value: int = 1000) -> bytes:
    return np.full(rate_hz // 50, value, dtype="<i2").tobytes()


FAST = AudioSocketSettings(
    port=0, uuid_timeout_s=0.3, first_audio_timeout_s=0.1, handler_drain_timeout_s=0.5
)


@contextlib.asynccontextmanager
async def serving(
    handler: Handler, settings: AudioSocketSettings = FAST
) -> AsyncIterator[tuple[AudioSocketServer, tuple[str, int]]]:
    server = AudioSocketServer(handler, settings)
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
        async def echo_tone(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            assert sink.format == SLIN_8K
            first = await queue.get()
            handler.events.append(first)
            await sink.send_audio(TONE_16K[:3200], 16000)  # 200 ms
            await drain_until_end(queue, handler.events)

        handler = Handler(echo_tone)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.sleep(0.35)
            assert handler.infos == [CallInfo(str(CALL_UUID), "audiosocket", SLIN_8K)]
            first = handler.events[0]
            assert isinstance(first, CallerAudio)
            assert first.pcm.dtype == np.int16
            assert all(e.sample_rate_hz == 8000 and len(e.payload) == 320 for e in peer.audio())
            assert 8 <= peer.audible_frames() <= 11  # 200 ms of tone, frame-aligned
            await peer.close()

    async def test_16k_call_uses_slin16_kind_and_640_byte_frames(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address, rate_hz=16000)
            await handler.wait_for(CallerAudio)
            await asyncio.sleep(0.1)
            assert handler.infos[0].media_format == SLIN_16K
            assert peer.audio()
            assert all(e.sample_rate_hz == 16000 and len(e.payload) == 640 for e in peer.audio())
            await peer.close()

    async def test_no_caller_audio_defaults_to_8k(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            peer.send(encode_uuid(CALL_UUID))
            await asyncio.wait_for(handler.started.wait(), 1.0)
            assert handler.infos[0].media_format == SLIN_8K
            await peer.close()

    async def test_dtmf_reaches_the_handler(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            peer.send(encode_dtmf("7") + encode_dtmf("#"))
            await handler.wait_for(CallerDtmf)
            await asyncio.sleep(0.05)
            digits = [e.digit for e in handler.events if isinstance(e, CallerDtmf)]
            assert digits == ["7", "#"]
            await peer.close()


class TestPacing:
    async def test_about_fifty_silent_frames_a_second_when_idle(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), 1.0)
            await asyncio.sleep(0.1)
            before = len(peer.audio())
            t0 = time.monotonic()
            await asyncio.sleep(1.0)
            count = len(peer.audio()) - before
            elapsed_s = time.monotonic() - t0
            assert 0.85 * elapsed_s * 50 <= count <= 1.15 * elapsed_s * 50 + 1
            assert peer.audible_frames() == 0
            await peer.close()

    async def test_a_long_prompt_is_sent_at_real_time_not_at_once(self) -> None:
        async def speak(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(np.tile(TONE_16K, 3), 16000)  # 3 s queued at once
            await drain_until_end(queue, handler.events)

        handler = Handler(speak)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), 1.0)
            await asyncio.sleep(0.5)
            assert 20 <= peer.audible_frames() <= 30
            await peer.close()

    async def test_flush_drops_queued_audio(self) -> None:
        async def barge(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(np.tile(TONE_16K, 2), 16000)
            await asyncio.sleep(0.1)
            await sink.flush()
            await drain_until_end(queue, handler.events)

        handler = Handler(barge)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.sleep(0.6)
            assert 3 <= peer.audible_frames() <= 8
            assert len(peer.audio()) >= 20  # silence keeps flowing after the flush
            await peer.close()

    async def test_mark_is_played_after_the_audio_before_it(self) -> None:
        marks: list[tuple[float, str, int]] = []

        async def prompt(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await sink.send_audio(TONE_16K[:4800], 16000)  # 300 ms = 15 frames
            await sink.mark("after-prompt")
            while not isinstance(event := await queue.get(), CallEnded):
                if isinstance(event, MarkPlayed):
                    marks.append((time.monotonic(), event.mark_id, peer.audible_frames()))

        handler = Handler(prompt)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            t0 = time.monotonic()
            await asyncio.sleep(0.5)
            assert [m[1] for m in marks] == ["after-prompt"]
            at_s, _, audible_then = marks[0]
            assert at_s - t0 >= 0.25
            assert audible_then >= 14  # all 15 frames were sent (the last may be in flight)
            await peer.close()

    def test_playout_queue_frames_padding_and_marks(self) -> None:
        queue = PlayoutQueue(frame_bytes=4)
        queue.push_mark("m0")
        queue.push_audio(b"abcdef")
        queue.push_mark("m1")
        queue.push_audio(b"gh")
        queue.push_mark("m2")
        assert queue.queued_bytes == 8
        assert queue.next_frame() == (b"abcd", True, ["m0"])
        assert queue.next_frame() == (b"efgh", True, ["m1", "m2"])
        assert queue.next_frame() == (b"\x00" * 4, False, [])
        queue.push_audio(b"xyz")
        queue.push_mark("gone")
        queue.clear()
        assert queue.next_frame() == (b"\x00" * 4, False, [])
        queue.push_audio(b"xy")
        assert queue.next_frame() == (b"xy\x00\x00", True, [])


class TestHangup:
    async def test_bot_hangup_sends_the_hangup_frame_and_closes(self) -> None:
        async def bye(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
            await asyncio.sleep(0.1)
            await sink.hangup()
            await drain_until_end(queue, handler.events)

        handler = Handler(bye)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(peer.eof.wait(), 1.0)
            assert isinstance(peer.received[-1][1], Hangup)
            assert handler.events[-1] == CallEnded("hung up by the bot", by="bot")
            await peer.close()

    async def test_caller_closing_the_socket_ends_the_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (server, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), 1.0)
            await peer.close()
            ended = await handler.wait_for(CallEnded)
            assert "closed the socket" in ended.reason  # type: ignore[union-attr]
            await asyncio.sleep(0.05)
            assert server.active_calls == 0

    async def test_hangup_frame_from_asterisk_ends_the_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            peer.send(encode_hangup())
            ended = await handler.wait_for(CallEnded)
            assert "hang-up frame" in ended.reason  # type: ignore[union-attr]
            await asyncio.wait_for(peer.eof.wait(), 1.0)
            await peer.close()

    async def test_handler_returning_hangs_up(self) -> None:
        async def quick(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await asyncio.sleep(0.05)

        async with serving(Handler(quick)) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(peer.eof.wait(), 1.0)
            assert isinstance(peer.received[-1][1], Hangup)
            await peer.close()

    async def test_stop_ends_calls_politely(self) -> None:
        handler = Handler()
        server = AudioSocketServer(handler, FAST)
        address = await server.start()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), 1.0)
        await server.stop()
        assert handler.finished.is_set()
        assert handler.events[-1] == CallEnded("server stopping", by="bot")
        await asyncio.wait_for(peer.eof.wait(), 1.0)
        assert isinstance(peer.received[-1][1], Hangup)
        await peer.close()

    async def test_stop_cancels_a_handler_that_ignores_the_end(self) -> None:
        async def stubborn(
            info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
        ) -> None:
            await asyncio.sleep(60)

        handler = Handler(stubborn)
        server = AudioSocketServer(handler, FAST)
        address = await server.start()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), 1.0)
        t0 = time.monotonic()
        await server.stop()
        assert 0.4 <= time.monotonic() - t0 < 2.0
        assert handler.finished.is_set()
        await peer.close()


class TestFaults:
    async def test_garbage_after_uuid_ends_only_that_call(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), 1.0)
            with caplog.at_level(logging.WARNING):
                peer.send(b"\x02\x00\x01x")
                ended = await handler.wait_for(CallEnded)
            assert "protocol error" in ended.reason  # type: ignore[union-attr]
            assert str(CALL_UUID) in caplog.text
            await asyncio.wait_for(peer.eof.wait(), 1.0)
            assert isinstance(peer.received[-1][1], Hangup)
            await peer.close()
            await self._server_still_answers(handler, address)

    async def test_garbage_before_uuid_is_dropped_without_a_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            peer.send(encode_audio(slin_frame()))
            await asyncio.wait_for(peer.eof.wait(), 1.0)
            assert isinstance(peer.received[-1][1], Hangup)
            assert not handler.started.is_set()
            await peer.close()

    async def test_silent_connection_times_out_without_a_call(self) -> None:
        handler = Handler()
        async with serving(handler) as (_, address):
            peer = await FakeAsterisk.connect(address)
            await asyncio.wait_for(peer.eof.wait(), 1.0)  # uuid_timeout_s is 0.3
            assert not handler.started.is_set()
            await peer.close()

    async def test_oversize_frame_ends_the_call(self) -> None:
        handler = Handler()
        settings = AudioSocketSettings(port=0, max_frame_bytes=640, first_audio_timeout_s=0.1)
        async with serving(handler, settings) as (_, address):
            peer = await start_call(address)
            await asyncio.wait_for(handler.started.wait(), 1.0)
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
                    await asyncio.wait_for(peer.eof.wait(), 2.0)  # uuid_timeout_s is 0.3
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
            await drain_until_end(queue, handler.events)

        handler = Handler(prompt)
        async with serving(handler) as (_, address):
            peer = await start_call(address)
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
        async with serving(handler) as (_, address):
            with caplog.at_level(logging.ERROR):
                peer = await start_call(address)
                await asyncio.wait_for(peer.eof.wait(), 1.0)
            assert isinstance(peer.received[-1][1], Hangup)
            assert f"call {CALL_UUID}: handler failed" in caplog.text
            await peer.close()
            handler.behaviour = None
            await self._server_still_answers(handler, address)

    @staticmethod
    async def _server_still_answers(handler: Handler, address: tuple[str, int]) -> None:
        handler.started.clear()
        peer = await start_call(address)
        await asyncio.wait_for(handler.started.wait(), 1.0)
        await asyncio.sleep(0.05)
        assert peer.audio()
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

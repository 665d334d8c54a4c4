"""The media session both edges run a call in: queue bound, gap-fill, drain, one end.

A fake line stands for the edge's connection; the session's time is a ManualClock.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import numpy as np
import pytest

from callbot.audio.formats import SLIN_16K
from callbot.errors import ConfigError
from callbot.logs import CallIdFilter, bind_call_id
from callbot.media.clock import ManualClock
from callbot.media.session import MediaSession, SessionSettings
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallInfo,
    InboundEvent,
    MarkPlayed,
    MediaSink,
)

INFO = CallInfo("s-1", "audiosocket", SLIN_16K)
FRAME = np.full(320, 1000, dtype="<i2").tobytes()  # 20 ms of slin16
SETTINGS = SessionSettings(inbound_queue_max=1500, handler_drain_timeout_s=5.0, gap_fill_ms=400)


class FakeLine:
    """The edge's connection: read until told the line is gone (or fail); record hang-ups."""

    def __init__(self, *, fails: bool = False) -> None:
        self.gone = asyncio.Event()
        self.fails = fails
        self.hung_up: list[bool] = []

    async def read(self) -> None:
        if self.fails:
            raise RuntimeError("reader bug")
        await self.gone.wait()

    async def hang_up(self, *, failed: bool) -> None:
        self.hung_up.append(failed)


class Collector:
    def __init__(self) -> None:
        self.events: list[InboundEvent] = []
        self.started = asyncio.Event()

    async def __call__(
        self, info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink
    ) -> None:
        self.started.set()
        while not isinstance(event := await queue.get(), CallEnded):
            self.events.append(event)
        self.events.append(event)


def start(
    handler: Any, line: FakeLine, clock: ManualClock, settings: SessionSettings = SETTINGS
) -> tuple[MediaSession, asyncio.Task[None]]:
    session = MediaSession(INFO, settings, clock=clock)

    async def edge_task() -> None:  # as an edge runs its call: the call id bound first
        bind_call_id(INFO.call_id)
        await session.run(handler, sink=None, line=line)  # type: ignore[arg-type]

    return session, asyncio.create_task(edge_task())


async def test_the_handler_gets_audio_keys_marks_and_one_end() -> None:
    clock, line, handler = ManualClock(), FakeLine(), Collector()
    session, running = start(handler, line, clock)
    session.caller_audio(FRAME)
    session.put(CallerDtmf("5"))
    session.put(MarkPlayed("m1"))
    session.end("caller hung up")
    session.end("a second reason is ignored", by="bot")
    session.put(CallerDtmf("6"))  # nothing after the end
    await asyncio.wait_for(running, 1.0)
    audio, key, mark, end = handler.events
    assert isinstance(audio, CallerAudio) and audio.by_line and audio.pcm.size == 320
    assert (key, mark, end) == (CallerDtmf("5"), MarkPlayed("m1"), CallEnded("caller hung up"))
    assert line.hung_up == [False]  # the edge's no-op when its wire is already down


async def test_caller_audio_past_the_bound_is_dropped_but_not_keys_or_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    handler = Collector()

    async def slow(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        await release.wait()
        await handler(info, queue, sink)

    settings = SessionSettings(inbound_queue_max=3)
    session, running = start(slow, FakeLine(), ManualClock(), settings)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            session.caller_audio(FRAME)
        session.put(CallerDtmf("1"))
        session.end("caller hung up")
    release.set()
    await asyncio.wait_for(running, 1.0)
    kinds = [type(e).__name__ for e in handler.events]
    assert kinds == ["CallerAudio"] * 3 + ["CallerDtmf", "CallEnded"]
    assert caplog.text.count("handler too slow, dropping caller audio") == 1


async def test_silence_fills_the_time_the_line_sent_no_audio() -> None:
    clock, line, handler = ManualClock(), FakeLine(), Collector()
    session, running = start(handler, line, clock)
    await asyncio.wait_for(handler.started.wait(), 1.0)
    for _ in range(10):  # a line that sends audio every 100 ms is never filled in
        await clock.advance(0.1)
        session.caller_audio(FRAME)
    await clock.advance(0.399)
    assert all(e.by_line for e in handler.events if isinstance(e, CallerAudio))
    await clock.advance(0.002)
    await clock.advance(0.5)  # then 400 ms more with nothing: filled again
    session.end("caller hung up")
    await asyncio.wait_for(running, 1.0)
    filled = [e for e in handler.events if isinstance(e, CallerAudio) and not e.by_line]
    assert [e.pcm.size for e in filled] == [6400, 6400]  # 400 ms at 16 kHz, each
    assert not any(e.pcm.any() for e in filled)


async def test_a_handler_that_returns_hangs_up_from_the_bot_side() -> None:
    async def quick(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        return None

    line = FakeLine()
    session, running = start(quick, line, ManualClock())
    await asyncio.wait_for(running, 1.0)
    assert line.hung_up == [False]
    assert session.inbound.get_nowait() == CallEnded("hung up by the bot", by="bot")


async def test_a_failing_handler_is_logged_once_and_hangs_up_as_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def broken(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        raise RuntimeError("boom")

    line = FakeLine()
    caplog.handler.addFilter(CallIdFilter())
    with caplog.at_level(logging.ERROR):
        session, running = start(broken, line, ManualClock())
        await asyncio.wait_for(running, 1.0)
    assert line.hung_up == [True]
    assert session.inbound.get_nowait() == CallEnded("handler failed", by="bot")
    failed = [r for r in caplog.records if r.getMessage() == "handler failed; ending the call"]
    assert [r.call_id for r in failed] == ["s-1"]  # type: ignore[attr-defined]
    assert "RuntimeError: boom" in caplog.text


async def test_a_handler_that_ignores_the_end_is_cancelled_after_the_drain_time() -> None:
    told, cancelled = asyncio.Event(), asyncio.Event()

    async def stubborn(info: CallInfo, queue: asyncio.Queue[InboundEvent], sink: MediaSink) -> None:
        try:
            while not isinstance(await queue.get(), CallEnded):
                pass
            told.set()
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    clock, line = ManualClock(), FakeLine()
    session, running = start(stubborn, line, clock)
    session.end("caller hung up")
    await asyncio.wait_for(told.wait(), 1.0)
    await clock.advance(4.9)
    assert not cancelled.is_set() and line.hung_up == []
    await clock.advance(0.2)
    await asyncio.wait_for(running, 1.0)
    assert cancelled.is_set() and line.hung_up == [False]


async def test_a_failing_reader_ends_that_call() -> None:
    handler = Collector()
    _, running = start(handler, FakeLine(fails=True), ManualClock())
    await asyncio.wait_for(running, 1.0)
    assert handler.events[-1] == CallEnded("media edge failed", by="bot")


@pytest.mark.parametrize(
    "kwargs",
    [{"inbound_queue_max": 0}, {"gap_fill_ms": 0}, {"handler_drain_timeout_s": 0}],
)
def test_settings_are_validated(kwargs: dict[str, float]) -> None:
    with pytest.raises(ConfigError):
        SessionSettings(**kwargs)  # type: ignore[arg-type]

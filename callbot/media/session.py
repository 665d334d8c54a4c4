"""One call's media lifecycle, the same on every edge (chan_websocket, AudioSocket).

An edge turns a connection into a call (handshake, call id, format: its own business),
then hands it to a :class:`MediaSession`, which runs the rest alike for every line:

* caller audio is normalised once (:class:`~callbot.audio.convert.InboundConverter`) and
  queued for the handler, at most ``inbound_queue_max`` events; past that caller audio
  is dropped (one warning) while keys, marks and the end still go through;
* gap-fill: a line that suppresses silence sends nothing while the caller is quiet; after
  ``gap_fill_ms`` without audio the session queues that much silence
  (``CallerAudio(by_line=False)``), so that the turn detector's time still passes;
* the end, whoever comes first (the line, the bot, the server stopping): the handler gets
  one :class:`~callbot.media.types.CallEnded` and ``handler_drain_timeout_s`` to return,
  then is cancelled. A handler that returns or fails while the line is up ends the call
  from the bot's side (:meth:`Line.hang_up`): chan_websocket sends HANGUP and closes 1000,
  or 1011 "handler failed"; AudioSocket, which has no close codes, sends its hang-up
  frame and closes. Either way a failure is logged once, with its traceback, here.

Time (gap-fill, drain) is read on an injected :class:`~callbot.media.clock.Clock`. The
session runs in the edge's task for the call, which has bound the call id for the log
lines (:func:`~callbot.logs.bind_call_id`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from callbot.audio.convert import InboundConverter
from callbot.audio.formats import PIPELINE_RATE_HZ, AudioFormat
from callbot.errors import ConfigError
from callbot.logs import call_log
from callbot.media.clock import SYSTEM_CLOCK, Clock, wait_done
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallHandler,
    CallInfo,
    InboundEvent,
    MarkPlayed,
    MediaSink,
)

logger = logging.getLogger(__name__)

_EPSILON_S = 1e-9
"""Float sums of clock times: a gap due now is not re-slept for a rounding error."""


@dataclass(frozen=True, slots=True)
class SessionSettings:
    """What every media edge does alike. Example: ``SessionSettings(gap_fill_ms=400)``."""

    inbound_queue_max: int = 1500
    """Inbound events kept for a slow handler (~30 s of caller audio), then caller audio
    is dropped."""
    handler_drain_timeout_s: float = 5.0
    """Time a handler gets to return after :class:`~callbot.media.types.CallEnded` (to
    stop its pipeline and record the call) before it is cancelled."""
    gap_fill_ms: int = 400
    """Caller audio missing this long (silence suppression) is filled with silence.

    Well above network and scheduling jitter: filling a mere late burst with silence
    would cut the caller's words in two."""

    def __post_init__(self) -> None:
        if self.inbound_queue_max < 1 or self.gap_fill_ms < 1:
            raise ConfigError("inbound_queue_max and gap_fill_ms must be at least 1")
        if self.handler_drain_timeout_s <= 0:
            raise ConfigError("handler_drain_timeout_s must be positive")


class Line(Protocol):
    """What the session needs of an edge's connection."""

    async def read(self) -> None:
        """Read the connection until the line's side is over, handing caller audio, keys
        and marks to the session, and ending it (:meth:`MediaSession.end`) with why."""

    async def hang_up(self, *, failed: bool) -> None:
        """The bot ends the call, if the line is still up; ``failed``: its handler raised."""


class MediaSession:
    """One call on one line: the handler's inbound queue, gap-fill, the end."""

    def __init__(
        self,
        info: CallInfo,
        settings: SessionSettings,
        *,
        clock: Clock = SYSTEM_CLOCK,
        on_end: Callable[[], None] | None = None,
    ) -> None:
        self.info = info
        self.inbound: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self._settings = settings
        self._clock = clock
        self._on_end = on_end
        """Told once, when the call ends (an edge stops sending bot audio)."""
        self._converter = InboundConverter(info.media_format)
        self._ended = asyncio.Event()
        self._last_audio_s = clock.monotonic()
        self._dropping = False

    @property
    def ended(self) -> bool:
        return self._ended.is_set()

    @property
    def caller_format(self) -> AudioFormat:
        return self._converter.format

    def set_caller_format(self, fmt: AudioFormat) -> None:
        """The line's caller audio changed format (AudioSocket labels each frame's rate)."""
        self._converter = InboundConverter(fmt)

    # --- from the line -----------------------------------------------------------------------

    def caller_audio(self, payload: bytes) -> None:
        """Caller audio in the line's format: normalised and queued, unless over the bound."""
        self._last_audio_s = self._clock.monotonic()
        if self.ended or not self._room_for_audio():
            return
        pcm = self._converter.convert(payload)
        if pcm.size:  # the resampler may hold a frame back
            self.inbound.put_nowait(CallerAudio(pcm))

    def put(self, event: CallerDtmf | MarkPlayed) -> None:
        """A key or a played mark: never dropped, nothing after the end."""
        if not self.ended:
            self.inbound.put_nowait(event)

    def end(self, reason: str, *, by: str = "caller", protocol_error: bool = False) -> None:
        """The call is over (the first reason wins): the handler gets :class:`CallEnded`."""
        if self.ended:
            return
        # May be called from outside the call's task (the server stopping).
        call_log(logger, self.info.call_id).info("ended (%s)", reason)
        self._ended.set()
        self.inbound.put_nowait(CallEnded(reason, by, protocol_error))
        if self._on_end is not None:
            self._on_end()

    def _room_for_audio(self) -> bool:
        if self.inbound.qsize() < self._settings.inbound_queue_max:
            return True
        if not self._dropping:
            logger.warning("handler too slow, dropping caller audio")
            self._dropping = True
        return False

    # --- the call --------------------------------------------------------------------------

    async def run(
        self,
        handler: CallHandler,
        sink: MediaSink,
        line: Line,
        *workers: Coroutine[Any, Any, None],
    ) -> None:
        """Run the call to its end: the handler, the line's reader, gap-fill and the edge's
        own ``workers`` (AudioSocket's pacer). A failing worker ends this call only."""
        self._last_audio_s = self._clock.monotonic()
        handler_task = asyncio.create_task(self._run_handler(handler, sink))
        tasks = [asyncio.create_task(self._read(line)), asyncio.create_task(self._fill_gaps())]
        tasks += [asyncio.create_task(self._guard(worker)) for worker in workers]
        ended = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({handler_task, ended}, return_when=asyncio.FIRST_COMPLETED)
            failed = False
            if handler_task.done():
                failed = handler_task.cancelled() or handler_task.result()
                self.end("handler failed" if failed else "hung up by the bot", by="bot")
            else:
                await self._drain(handler_task)
            await line.hang_up(failed=failed)
        finally:
            for task in (*tasks, handler_task, ended):
                task.cancel()
            await asyncio.gather(*tasks, handler_task, ended, return_exceptions=True)

    async def _run_handler(self, handler: CallHandler, sink: MediaSink) -> bool:
        """Runs the handler; True if it failed (logged here, never raised to the edge)."""
        try:
            await handler(self.info, self.inbound, sink)
        except Exception:
            logger.exception("handler failed; ending the call")
            return True
        return False

    async def _drain(self, handler_task: asyncio.Task[bool]) -> None:
        """The call ended under the handler: let it wrap up, within bounds."""
        timeout_s = self._settings.handler_drain_timeout_s
        if not await wait_done(self._clock, handler_task, timeout_s):
            logger.warning(
                "handler still running %.1f s after the call ended; cancelling it", timeout_s
            )
            handler_task.cancel()

    async def _read(self, line: Line) -> None:
        await self._guard(line.read())
        self.end("the line stopped without a reason", by="asterisk")  # a no-op normally

    async def _guard(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            await work
        except Exception:
            logger.exception("media edge failed")
            self.end("media edge failed", by="bot")

    async def _fill_gaps(self) -> None:
        """Silence for the time the line sent no audio: the VAD's clock must still run."""
        gap_s = self._settings.gap_fill_ms / 1000
        while not self.ended:
            now_s = self._clock.monotonic()
            quiet_s = now_s - self._last_audio_s
            if quiet_s < gap_s - _EPSILON_S:
                await self._clock.sleep(gap_s - quiet_s)
                continue
            self._last_audio_s = now_s
            if self._room_for_audio():
                silence = np.zeros(round(quiet_s * PIPELINE_RATE_HZ), dtype=np.int16)
                self.inbound.put_nowait(CallerAudio(silence, by_line=False))

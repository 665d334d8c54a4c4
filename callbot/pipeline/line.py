"""The caller's line as the pipeline's input: the media session's events become frames.

:class:`LineInput` is the pipeline's first processor, the input half of a pipecat
transport. In a task of its own it reads the call's inbound queue (filled by the edge's
:class:`~callbot.media.session.MediaSession`, gap-fill silence included) and pushes
caller audio (``InputAudioRawFrame``, 16 kHz), keys (``InputDTMFFrame``) and the end
(:class:`~callbot.pipeline.frames.CallerGoneFrame`) downstream, and hands each played
mark straight to the output (``on_mark``: the only processor that needs it), telling the
call's :class:`~callbot.pipeline.watchdog.LineWatch` of each sign of life on the way.

Caller audio is converted once, here, from the edge's array to the frame's bytes; the
turn detector reads it back as a view (``np.frombuffer``), without a copy.

Not pipecat's ``BaseInputTransport``: that one queues every audio frame a second time
and waits on that queue with a ``wait_for`` per frame for a VAD of its own, which callbot
does not use (turns are :class:`~callbot.pipeline.turns.TurnProcessor`'s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from pipecat.audio.dtmf.types import KeypadEntry
from pipecat.frames.frames import (
    CancelFrame,
    EndFrame,
    Frame,
    InputAudioRawFrame,
    InputDTMFFrame,
    StartFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.media.types import CallEnded, CallerAudio, CallerDtmf, InboundEvent, MarkPlayed
from callbot.pipeline.frames import CallerGoneFrame
from callbot.pipeline.watchdog import LineWatch

logger = logging.getLogger(__name__)


class LineInput(FrameProcessor):
    """Feeds the line's inbound events into the pipeline until the line ends.

    ``on_end`` is told the :class:`~callbot.media.types.CallEnded` (who ended the call and
    why) before the :class:`CallerGoneFrame` goes down; nothing is read after it, and
    :attr:`ended` is set.
    """

    def __init__(
        self,
        inbound: asyncio.Queue[InboundEvent],
        watch: LineWatch,
        *,
        on_mark: Callable[[str], Awaitable[None]],
        on_end: Callable[[CallEnded], None],
    ) -> None:
        super().__init__(name="line-in")
        self._inbound = inbound
        self._watch = watch
        self._on_mark = on_mark
        self._on_end = on_end
        self._reader: asyncio.Task[None] | None = None
        self.ended = asyncio.Event()
        """The line ended (its CallerGoneFrame went down)."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, CancelFrame | EndFrame):
            await self.stop()
        await self.push_frame(frame, direction)
        if isinstance(frame, StartFrame) and self._reader is None:
            self._reader = self.create_task(self._read(), "read")

    async def stop(self) -> None:
        """Stop reading the line (the call runner reads it itself from then on)."""
        reader, self._reader = self._reader, None
        if reader is not None and not reader.done():
            await self.cancel_task(reader)

    async def cleanup(self) -> None:
        await self.stop()
        await super().cleanup()  # type: ignore[no-untyped-call]

    async def _read(self) -> None:
        try:
            while await self._forward(await self._inbound.get()):
                pass
        except Exception as exc:  # a bug: the call then ends as for any processor's failure
            await self.push_error(f"line input failed: {exc}", exc)

    async def _forward(self, event: InboundEvent) -> bool:
        """One event into the pipeline; False once it was the end."""
        if from_line(event):
            self._watch.line_event(time.monotonic())
        if isinstance(event, CallerAudio):
            audio = event.pcm.tobytes()
            frame = InputAudioRawFrame(audio=audio, sample_rate=PIPELINE_RATE_HZ, num_channels=1)
            await self.push_frame(frame)
        elif isinstance(event, CallerDtmf):
            await self._key(event.digit)
        elif isinstance(event, MarkPlayed):
            await self._on_mark(event.mark_id)
        elif isinstance(event, CallEnded):
            self._on_end(event)
            await self.push_frame(CallerGoneFrame(reason=event.reason))
            self.ended.set()
            return False
        return True

    async def _key(self, digit: str) -> None:
        try:
            button = KeypadEntry(digit)
        except ValueError:
            logger.info("ignoring DTMF %r", digit)
            return
        await self.push_frame(InputDTMFFrame(button=button))


def from_line(event: InboundEvent) -> bool:
    """Whether ``event`` is a sign of life from the line: caller audio it sent (not silence
    the edge filled in), a key, a mark it confirmed (not one the edge counted itself);
    never the end of the call."""
    if isinstance(event, CallerAudio | MarkPlayed):
        return event.by_line
    return isinstance(event, CallerDtmf)

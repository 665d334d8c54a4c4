"""The end of the pipeline: bot audio, marks and call actions onto the caller's line."""

from __future__ import annotations

import asyncio
import logging
import time

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.calls.journal import CallJournal
from callbot.media.types import MediaSink
from callbot.pipeline.ending import CallEnding
from callbot.pipeline.frames import (
    BargeInGateFrame,
    CallActionFrame,
    PromptEndFrame,
    PromptStartFrame,
)
from callbot.pipeline.watchdog import LineWatch

logger = logging.getLogger(__name__)


class LineOutput(FrameProcessor):
    """Writes bot audio to the :class:`MediaSink` and tracks what the caller has heard.

    The bot counts as speaking from its first audio until the line confirms the
    last mark (MARK_MEDIA / MEDIA_MARK_PROCESSED). The line delivers each confirmation
    here directly (:meth:`mark_played`), not as a frame through the pipeline. A transfer
    or hang-up waits for that confirmation, so the caller always hears the last sentence;
    then the call's :class:`~callbot.pipeline.ending.CallEnding` carries it out.

    A mark the line never confirms counts as played once the audio queued before it
    should have been played, plus ``watch.mark_grace_s`` (the :class:`LineWatch` keeps
    that playout clock): a line that lost or never sends MEDIA_MARK_PROCESSED cannot
    keep the bot "speaking" forever, which would hold off the no-input timer and every
    transfer.
    """

    def __init__(
        self,
        sink: MediaSink,
        journal: CallJournal,
        ending: CallEnding,
        *,
        mark_timeout_s: float = 30.0,
        watch: LineWatch | None = None,
    ) -> None:
        super().__init__(name="line")
        self._sink = sink
        self._journal = journal
        self._ending = ending
        self._mark_timeout_s = mark_timeout_s
        """Backstop: longest wait for the last prompt before a transfer or hang-up."""
        self.watch = watch or LineWatch(time.monotonic(), mark_grace_s=2.0)
        self._mark_timers: dict[str, asyncio.Task[None]] = {}
        """Pending mark -> the task that counts it played if the line stays silent."""
        self._pending_marks: set[str] = set()
        self._all_heard = asyncio.Event()
        self._all_heard.set()
        self._speaking = False
        self._unmarked_audio = False
        """Audio sent whose prompt has no mark yet (its PromptEndFrame is still to come)."""
        self._locked_marks: set[str] = set()
        """Prompts playing that caller speech must not cut (last words before an end)."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, OutputAudioRawFrame):
            await self._on_audio(frame)
        elif isinstance(frame, PromptStartFrame):
            if not frame.barge_in:
                self._locked_marks.add(frame.mark_id)
                await self.push_frame(BargeInGateFrame(open=False), FrameDirection.UPSTREAM)
        elif isinstance(frame, PromptEndFrame):
            self._unmarked_audio = False
            self._pending_marks.add(frame.mark_id)
            self._all_heard.clear()
            await self._sink.mark(frame.mark_id)
            self._start_mark_timer(frame.mark_id)
        elif isinstance(frame, InterruptionFrame):
            if self._speaking or self._pending_marks:
                await self._flush()
        elif isinstance(frame, CallActionFrame):
            await self._carry_out(frame)
        else:
            await self.push_frame(frame, direction)

    async def mark_played(self, mark_id: str) -> None:
        """The line confirmed that the audio up to ``mark_id`` was played."""
        self._cancel_mark_timer(mark_id)
        await self._heard(mark_id)

    def _start_mark_timer(self, mark_id: str) -> None:
        self._cancel_mark_timer(mark_id)
        wait_s = max(0.0, self.watch.mark_sent() - time.monotonic())
        self._mark_timers[mark_id] = self.create_task(
            self._count_played_after(mark_id, wait_s), name=f"mark-{mark_id}"
        )

    async def _count_played_after(self, mark_id: str, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._mark_timers.pop(mark_id, None)
        if mark_id not in self._pending_marks:
            return
        self.watch.mark_overdue()
        # Worth a warning on a line that works otherwise (once); a line that never
        # sent anything gets its own when the no-media guard ends the call.
        once = self.watch.alive and self.watch.overdue_marks == 1
        log = logger.warning if once else logger.info
        log(
            "the line never confirmed prompt %s; counted as heard %.1f s after its expected end",
            mark_id,
            self.watch.mark_grace_s,
        )
        await self._heard(mark_id)

    def _cancel_mark_timer(self, mark_id: str) -> None:
        timer = self._mark_timers.pop(mark_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    async def _heard(self, mark_id: str) -> None:
        """The caller heard the prompt up to ``mark_id`` (confirmed, or counted so)."""
        self._pending_marks.discard(mark_id)
        if mark_id in self._locked_marks:
            self._locked_marks.discard(mark_id)
            if not self._locked_marks:
                await self.push_frame(BargeInGateFrame(open=True), FrameDirection.UPSTREAM)
        if not self._pending_marks and not self._unmarked_audio:
            await self._stopped_speaking()

    async def _flush(self) -> None:
        """Barge-in (speech or key): drop what the line has not played yet.

        The marks sent with the dropped audio never fire (Asterisk discards them with the
        audio), so nothing waits for them: not a transfer, not the barge-in gate.
        """
        self._journal.barged_in()
        await self._sink.flush()
        self.watch.flushed(time.monotonic())
        for mark_id in list(self._mark_timers):
            self._cancel_mark_timer(mark_id)
        self._pending_marks.clear()
        self._unmarked_audio = False
        if self._locked_marks:
            self._locked_marks.clear()
            await self.push_frame(BargeInGateFrame(open=True), FrameDirection.UPSTREAM)
        await self._stopped_speaking()

    async def _on_audio(self, frame: OutputAudioRawFrame) -> None:
        now = time.monotonic()
        self._journal.bot_audio_out(now)
        if not self._speaking:
            self._speaking = True
            self._all_heard.clear()
            await self.push_frame(BotStartedSpeakingFrame(), FrameDirection.UPSTREAM)
        self._unmarked_audio = True
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        self.watch.audio_queued(pcm.size / frame.sample_rate / frame.num_channels, now)
        await self._sink.send_audio(pcm, frame.sample_rate)

    async def _stopped_speaking(self) -> None:
        self._all_heard.set()
        if self._speaking:
            self._speaking = False
            await self.push_frame(BotStoppedSpeakingFrame(), FrameDirection.UPSTREAM)

    async def _carry_out(self, frame: CallActionFrame) -> None:
        try:
            await asyncio.wait_for(self._all_heard.wait(), self._mark_timeout_s)
        except TimeoutError:
            logger.warning("line never confirmed the last prompt")
        await self._ending.carry_out(frame.action)

    async def cleanup(self) -> None:
        for mark_id in list(self._mark_timers):
            self._cancel_mark_timer(mark_id)
        await super().cleanup()  # type: ignore[no-untyped-call]

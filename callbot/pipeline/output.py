"""The end of the pipeline: bot audio, marks and call actions onto the caller's line."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterruptionFrame,
    OutputAudioRawFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.dialplan import Hangup, Transfer
from callbot.handover.build import build_context
from callbot.media.types import CallInfo, MediaSink
from callbot.pipeline.control import CallControl, can_transfer
from callbot.pipeline.frames import (
    BargeInGateFrame,
    CallActionFrame,
    MarkPlayedFrame,
    PromptEndFrame,
    PromptStartFrame,
)
from callbot.pipeline.journal import CallJournal, TurnRecord
from callbot.pipeline.watchdog import LineWatch

logger = logging.getLogger(__name__)


class LineOutput(FrameProcessor):
    """Writes bot audio to the :class:`MediaSink` and tracks what the caller has heard.

    The bot counts as speaking from its first audio until the line confirms the
    last mark (MARK_MEDIA / MEDIA_MARK_PROCESSED). A transfer or hang-up waits
    for that confirmation, so the caller always hears the last sentence.

    A mark the line never confirms counts as played once the audio queued before it
    should have been played, plus ``watch.mark_grace_s`` (the :class:`LineWatch` keeps
    that playout clock): a line that lost or never sends MEDIA_MARK_PROCESSED cannot
    keep the bot "speaking" forever, which would hold off the no-input timer and every
    transfer.
    """

    def __init__(
        self,
        sink: MediaSink,
        control: CallControl,
        journal: CallJournal,
        finished: asyncio.Event,
        *,
        mark_timeout_s: float = 30.0,
        language: str | None = None,
        intent_labels: Mapping[str, str] | None = None,
        watch: LineWatch | None = None,
    ) -> None:
        super().__init__(name="line")
        self._sink = sink
        self._control = control
        self._journal = journal
        self._finished = finished
        self._mark_timeout_s = mark_timeout_s
        """Backstop: longest wait for the last prompt before a transfer or hang-up."""
        self.watch = watch or LineWatch(time.monotonic(), mark_grace_s=2.0)
        self._mark_timers: dict[str, asyncio.Task[None]] = {}
        """Pending mark -> the task that counts it played if the line stays silent."""
        self._language = language
        self._intent_labels = intent_labels
        self._pending_marks: set[str] = set()
        self._all_heard = asyncio.Event()
        self._all_heard.set()
        self._speaking = False
        self._unmarked_audio = False
        """Audio sent whose prompt has no mark yet (its PromptEndFrame is still to come)."""
        self._locked_marks: set[str] = set()
        """Prompts playing that caller speech must not cut (last words before an end)."""
        self._playing_turn: TurnRecord | None = None
        """The turn whose answer was last sent to the line (None: the greeting)."""

    @property
    def info(self) -> CallInfo:
        return self._journal.info

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
        elif isinstance(frame, MarkPlayedFrame):
            if not self._mark_heard(frame):
                return
            if frame.mark_id in self._locked_marks:
                self._locked_marks.discard(frame.mark_id)
                if not self._locked_marks:
                    await self.push_frame(BargeInGateFrame(open=True), FrameDirection.UPSTREAM)
            if not self._pending_marks and not self._unmarked_audio:
                await self._stopped_speaking()
        elif isinstance(frame, InterruptionFrame):
            if self._speaking or self._pending_marks:
                await self._flush()
        elif isinstance(frame, CallActionFrame):
            await self._carry_out(frame)
        else:
            await self.push_frame(frame, direction)

    def _start_mark_timer(self, mark_id: str) -> None:
        self._cancel_mark_timer(mark_id)
        wait_s = max(0.0, self.watch.mark_sent() - time.monotonic())
        self._mark_timers[mark_id] = self.create_task(
            self._count_played_after(mark_id, wait_s), name=f"mark-{mark_id}"
        )

    async def _count_played_after(self, mark_id: str, wait_s: float) -> None:
        await asyncio.sleep(wait_s)
        self._mark_timers.pop(mark_id, None)
        await self.queue_frame(MarkPlayedFrame(mark_id=mark_id, assumed=True))

    def _cancel_mark_timer(self, mark_id: str) -> None:
        timer = self._mark_timers.pop(mark_id, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()

    def _mark_heard(self, frame: MarkPlayedFrame) -> bool:
        """Book a played mark; False when there is nothing to do (already heard, flushed)."""
        if frame.assumed:
            if frame.mark_id not in self._pending_marks:
                return False
            self.watch.mark_overdue()
            # Worth a warning on a line that works otherwise (once); a line that never
            # sent anything gets its own when the no-media guard ends the call.
            once = self.watch.alive and self.watch.overdue_marks == 1
            log = logger.warning if once else logger.info
            log(
                "call %s: the line never confirmed prompt %s; counted as heard %.1f s after "
                "its expected end",
                self.info.call_id,
                frame.mark_id,
                self.watch.mark_grace_s,
            )
        else:
            self._cancel_mark_timer(frame.mark_id)
        self._pending_marks.discard(frame.mark_id)
        return True

    async def _flush(self) -> None:
        """Barge-in (speech or key): drop what the line has not played yet.

        The marks sent with the dropped audio never fire (Asterisk discards them with the
        audio), so nothing waits for them: not a transfer, not the barge-in gate.
        """
        if self._playing_turn is not None:  # a key may already have opened the next turn
            self._playing_turn.barged_in = True
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
        if self._journal.greeting_first_audio_at_s is None:
            self._journal.greeting_first_audio_at_s = now
        turn = self._journal.current_turn
        self._playing_turn = turn
        if turn is not None and turn.first_audio_at_s is None:
            turn.first_audio_at_s = now
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
            logger.warning("call %s: line never confirmed the last prompt", self.info.call_id)
        action = frame.action
        if isinstance(action, Transfer):
            self._journal.transfer_queue = action.queue
            # Recorded first and shielded: handing the caller over closes the bot's media
            # leg, which may cancel this pipeline before the ARI requests have returned.
            self._journal.finish("transferred", action.reason, by="bot")
            context = build_context(
                self._journal,
                action,
                self.info,
                intent_labels=self._intent_labels,
                language=self._language,
            )
            if not can_transfer(self._control):
                # The caller heard the handover sentence; nobody can take the call here.
                self._journal.outcome = "transfer_unavailable"  # detail: the transfer's reason
                logger.warning(
                    "call %s: transfer to queue %r requested but no call control (ARI) is "
                    "configured: hanging up",
                    self.info.call_id,
                    action.queue,
                )
                await self._sink.hangup()
            elif not await asyncio.shield(self._control.transfer(self.info, action, context)):
                self._journal.outcome = "transfer_failed"
                await self._sink.hangup()
        elif isinstance(action, Hangup):
            self._journal.finish("answered", action.reason, by="bot")
            await self._sink.hangup()
        self._finished.set()

    async def cleanup(self) -> None:
        for mark_id in list(self._mark_timers):
            self._cancel_mark_timer(mark_id)
        await super().cleanup()  # type: ignore[no-untyped-call]

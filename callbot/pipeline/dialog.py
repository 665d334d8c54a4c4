"""The dialplan engine inside the pipeline: caller text and DTMF in, bot actions out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    InputDTMFFrame,
    StartFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.dialplan import Action, DialogEngine, Hangup, Say, Transfer, TurnResult
from callbot.pipeline.frames import BotSpeechFrame, CallActionFrame, CallerTextFrame
from callbot.pipeline.journal import CallJournal

logger = logging.getLogger(__name__)


class DialogProcessor(FrameProcessor):
    """Drives one call's :class:`DialogEngine`.

    Also owns the no-input timer: it starts when the bot has finished speaking
    and stops when the caller starts to speak or presses a key.
    """

    def __init__(
        self, engine: DialogEngine, journal: CallJournal, *, no_input_timeout_s: float
    ) -> None:
        super().__init__(name="dialog")
        self._engine = engine
        self._journal = journal
        self._no_input_timeout_s = no_input_timeout_s
        self._timer: asyncio.Task[None] | None = None
        self._ended = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._perform(self._engine.start(), turn=None)
            return
        if isinstance(frame, CallerTextFrame):
            turn = self._journal.new_turn()
            turn.caller_text = frame.text
            turn.caller_ended_at_s = frame.ended_at_s
            turn.asr_s = round(frame.asr_s, 3)
            result = self._engine.on_utterance(frame.text)
            turn.intent, turn.confidence = result.intent, _rounded(result.confidence)
            logger.info(
                "call %s turn %d: intent=%s confidence=%s",
                self._journal.info.call_id,
                turn.index,
                result.intent,
                turn.confidence,
            )
            await self._perform(result.actions, turn=turn.index)
            return
        if isinstance(frame, InputDTMFFrame):
            self._cancel_timer()
            turn = self._journal.new_turn()
            turn.dtmf = str(frame.button.value)
            result = self._engine.on_dtmf(turn.dtmf)
            turn.intent, turn.confidence = result.intent, _rounded(result.confidence)
            await self._perform(result.actions, turn=turn.index)
            return
        if isinstance(frame, UserStartedSpeakingFrame):
            self._cancel_timer()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._arm_timer()
        await self.push_frame(frame, direction)

    async def _perform(self, actions: Iterable[Action], *, turn: int | None) -> None:
        for action in actions:
            if isinstance(action, Say):
                if turn is not None:
                    self._journal.turns[turn - 1].bot_text.append(action.text)
                await self.push_frame(
                    BotSpeechFrame(
                        text=action.text, turn=turn or 0, interruptible=action.interruptible
                    )
                )
            elif isinstance(action, Transfer | Hangup):
                self._ended = True
                self._cancel_timer()
                await self.push_frame(CallActionFrame(action=action))

    def _arm_timer(self) -> None:
        self._cancel_timer()
        if not self._ended and self._no_input_timeout_s > 0:
            self._timer = self.create_task(self._no_input_after_timeout(), name="no-input")

    def _cancel_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _no_input_after_timeout(self) -> None:
        await asyncio.sleep(self._no_input_timeout_s)
        self._timer = None
        turn = self._journal.new_turn()
        result = self._engine.on_no_input()
        turn.intent = result.intent or "no_input"
        await self._perform(result.actions, turn=turn.index)

    async def cleanup(self) -> None:
        self._cancel_timer()
        await super().cleanup()  # type: ignore[no-untyped-call]


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


__all__ = ["DialogProcessor", "TurnResult"]

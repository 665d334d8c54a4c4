"""The dialplan engine inside the pipeline: caller text and DTMF in, bot actions out."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Protocol

from pipecat.frames.frames import (
    BotStoppedSpeakingFrame,
    Frame,
    InputDTMFFrame,
    InterruptionFrame,
    StartFrame,
    UserStartedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.calls.journal import CallJournal, TurnRecord
from callbot.dialplan import DialogEngine, Hangup, Say, Transfer, TurnResult
from callbot.dialplan.actions import Fetch, HookResult
from callbot.pipeline.frames import BotSpeechFrame, CallActionFrame, CallerTextFrame

logger = logging.getLogger(__name__)


class HookClient(Protocol):
    """The back-office client (:class:`callbot.dialplan.backoffice.BackOffice`)."""

    async def fetch(self, action: Fetch, call_id: str = "-") -> HookResult: ...


class DialogProcessor(FrameProcessor):
    """Drives one call's :class:`DialogEngine`.

    Also owns the no-input timer (it starts when the bot has finished speaking and
    stops when the caller starts to speak or presses a key) and the back-office
    look-ups the dialplan asks for, which run beside the pipeline so that a barge-in
    cannot cancel them and leave the caller without an answer.

    A key pressed while the dialog is open stops what the bot is saying before the key
    is handled: the prompt being synthesized and those queued behind it are dropped and
    LineOutput flushes the line (FLUSH_MEDIA), whatever the barge-in setting, since a key
    is deliberate where caller speech may be noise. Once the dialog has decided to end
    the call (transfer or hang-up), keys no longer interrupt: the last words (hand-over
    sentence, goodbye) play in full, as with speech, and the engine ignores the key.
    Every key interrupts, one digit of a keypad entry as well: once the prompt is gone,
    there is nothing left to flush and the entry goes on undisturbed.
    """

    def __init__(
        self,
        engine: DialogEngine,
        journal: CallJournal,
        *,
        no_input_timeout_s: float,
        backoffice: HookClient | None = None,
        audio_dir: Path | None = None,
        resumed: bool = False,
    ) -> None:
        super().__init__(name="dialog")
        self._resumed = resumed
        """The call moved here from a worker that failed: no second greeting."""
        self._engine = engine
        self._journal = journal
        self._no_input_timeout_s = no_input_timeout_s
        self._backoffice = backoffice
        self._audio_dir = audio_dir
        self._timer: asyncio.Task[None] | None = None
        self._fetching: asyncio.Task[None] | None = None
        self._ended = False

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, StartFrame):
            await self.push_frame(frame, direction)
            await self._perform(self._engine.start(resumed=self._resumed), turn=None)
            return
        if isinstance(frame, CallerTextFrame):
            turn = self._journal.new_turn(
                caller_text=frame.text,
                caller_ended_at_s=frame.ended_at_s,
                asr_s=round(frame.asr_s, 3),
            )
            await self._perform(
                self._engine.on_utterance(frame.text), turn=turn, cause=_heard(frame)
            )
            return
        if isinstance(frame, InputDTMFFrame):
            self._cancel_timer()
            if not self._engine.ended:
                # Downstream only: the bot's output is what a key stops. Ahead of the
                # key's own answer, which this interruption must not drop.
                await self.push_frame(InterruptionFrame())
            digit = str(frame.button.value)
            turn = self._journal.new_turn(dtmf=digit)
            await self._perform(self._engine.on_dtmf(digit), turn=turn, cause="key")
            return
        if isinstance(frame, UserStartedSpeakingFrame):
            self._cancel_timer()
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._arm_timer()
        await self.push_frame(frame, direction)

    async def _perform(
        self, result: TurnResult, *, turn: TurnRecord | None, cause: str = ""
    ) -> None:
        """Carry out the dialplan's answer to ``turn`` (None: the greeting), logged as the
        turn's one line: ``cause`` (what was heard, a key, no input, a back-office answer),
        then what the dialplan made of it."""
        self._journal.turn_decided(turn, result)
        if turn is not None:
            logger.info(
                "turn %d: %s: %s intent=%s confidence=%s%s",
                turn.index,
                cause,
                turn.outcome,
                turn.intent,
                "-" if turn.confidence is None else f"{turn.confidence:.2f}",
                " (call ends)" if result.ended else "",
            )
        for action in result.actions:
            if isinstance(action, Say):
                audio = self._audio_path(action.audio)
                await self.push_frame(
                    BotSpeechFrame(
                        text=action.text,
                        turn=turn.index if turn else 0,
                        interruptible=action.interruptible,
                        audio_path=audio,
                    )
                )
            elif isinstance(action, Fetch):
                self._cancel_timer()
                self._fetching = self.create_task(self._fetch(action, turn), name="backoffice")
            elif isinstance(action, Transfer | Hangup):
                self._ended = True
                self._cancel_timer()
                await self.push_frame(CallActionFrame(action=action))

    async def _fetch(self, action: Fetch, turn: TurnRecord | None) -> None:
        if self._backoffice is None:
            result = HookResult(action.hook, "error", detail="no back-office configured")
        else:
            result = await self._backoffice.fetch(action, self._journal.info.call_id)
        self._fetching = None
        cause = f"back-office {action.hook} {result.status}"
        await self._perform(self._engine.on_hook_result(result), turn=turn, cause=cause)

    def _audio_path(self, audio: str | None) -> Path | None:
        if audio is None:
            return None
        path = Path(audio)
        return path if path.is_absolute() or self._audio_dir is None else self._audio_dir / path

    def _arm_timer(self) -> None:
        self._cancel_timer()
        if not self._ended and self._fetching is None and self._no_input_timeout_s > 0:
            self._timer = self.create_task(self._no_input_after_timeout(), name="no-input")

    def _cancel_timer(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None

    async def _no_input_after_timeout(self) -> None:
        await asyncio.sleep(self._no_input_timeout_s)
        self._timer = None
        turn = self._journal.new_turn(intent="no_input")
        await self._perform(self._engine.on_no_input(), turn=turn, cause="no input")

    async def cleanup(self) -> None:
        self._cancel_timer()
        if self._fetching is not None:
            self._fetching.cancel()
        await super().cleanup()  # type: ignore[no-untyped-call]


def _heard(frame: CallerTextFrame) -> str:
    """What the caller said (redacted by the log handlers, like every line) and what
    recognising it took."""
    return (
        f"heard {frame.text!r} ({frame.speech_s:.1f} s of speech, recognised in "
        f"{frame.asr_s - frame.queued_s:.2f} s, queued {frame.queued_s:.2f} s"
        f"{', early' if frame.early else ''})"
    )

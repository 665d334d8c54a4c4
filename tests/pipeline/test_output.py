"""LineOutput alone: what reaches the line, and when a transfer or hang-up happens."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pytest
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InterruptionFrame,
    SystemFrame,
    TTSAudioRawFrame,
)
from pipecat.pipeline.pipeline import Pipeline
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.tests.utils import SleepFrame, run_test

from callbot.audio.formats import ULAW_8K
from callbot.calls.journal import CallJournal
from callbot.dialplan import Hangup, Transfer
from callbot.media.types import CallInfo
from callbot.pipeline.control import CallHandover, NoCallControl
from callbot.pipeline.ending import CallEnding
from callbot.pipeline.frames import (
    BargeInGateFrame,
    CallActionFrame,
    PromptEndFrame,
    PromptStartFrame,
)
from callbot.pipeline.output import LineOutput
from callbot.pipeline.watchdog import LineWatch
from tests.pipeline.doubles import Control, LineRecorder

INFO = CallInfo(call_id="c1", transport="chan_websocket", media_format=ULAW_8K)


def audio(seconds: float = 0.1) -> TTSAudioRawFrame:
    pcm = np.full(int(22050 * seconds), 1000, np.int16)
    return TTSAudioRawFrame(audio=pcm.tobytes(), sample_rate=22050, num_channels=1)


@dataclass
class MarkPlayedFrame(SystemFrame):
    """Stands for the line confirming a mark, in the order of the frames sent."""

    mark_id: str = ""


class Line(FrameProcessor):
    """Delivers each confirmation to LineOutput directly, as the call's line does."""

    def __init__(self, output: LineOutput) -> None:
        super().__init__()
        self._output = output

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, MarkPlayedFrame):
            await self._output.mark_played(frame.mark_id)
        else:
            await self.push_frame(frame, direction)


def output(
    control: Control | NoCallControl | None = None, watch: LineWatch | None = None
) -> tuple[Pipeline, LineRecorder, CallJournal]:
    """LineOutput behind the line that confirms its marks, with the call's ending."""
    sink, journal = LineRecorder(), CallJournal(INFO)
    watch = watch or LineWatch(time.monotonic(), mark_grace_s=2.0)
    handover = CallHandover(control or Control(True), journal, language="fr-FR")
    ending = CallEnding(journal, handover, sink, watch)
    line = LineOutput(sink, journal, ending, mark_timeout_s=2, watch=watch)
    return Pipeline([Line(line), line]), sink, journal


async def test_a_prompt_is_sent_marked_and_speaking_ends_when_heard() -> None:
    line, sink, _ = output()
    _, up = await run_test(
        line,
        frames_to_send=[
            PromptStartFrame(mark_id="p1"),
            audio(),
            PromptEndFrame(mark_id="p1"),
            SleepFrame(0.05),
            MarkPlayedFrame(mark_id="p1"),
        ],
        expected_down_frames=[],
    )
    assert sink.calls == ["audio@22050", "mark:p1"]
    assert [type(f) for f in up] == [BotStartedSpeakingFrame, BotStoppedSpeakingFrame]


async def test_hangup_waits_until_the_goodbye_was_heard() -> None:
    line, sink, journal = output()
    await run_test(
        line,
        frames_to_send=[
            PromptStartFrame(mark_id="bye", barge_in=False),
            audio(),
            PromptEndFrame(mark_id="bye"),
            CallActionFrame(action=Hangup("done")),
            SleepFrame(0.2),
            MarkPlayedFrame(mark_id="bye"),
            SleepFrame(0.1),
        ],
    )
    assert sink.calls == ["audio@22050", "mark:bye", "hangup"]
    assert journal.outcome == "answered"


def last_words_played(mark_id: str) -> list[Frame]:
    """A prompt the caller may not cut (the last words before an end), sent to the line."""
    return [
        PromptStartFrame(mark_id=mark_id, barge_in=False),
        audio(),
        PromptEndFrame(mark_id=mark_id),
        SleepFrame(0.05),
    ]


async def test_last_words_close_the_barge_in_gate_until_heard() -> None:
    line, _, _ = output()
    _, up = await run_test(
        line,
        frames_to_send=[
            *last_words_played("bye"),
            MarkPlayedFrame(mark_id="bye"),
        ],
    )
    gates = [f.open for f in up if isinstance(f, BargeInGateFrame)]
    assert gates == [False, True]


async def test_barge_in_flushes_the_line() -> None:
    line, sink, journal = output()
    journal.new_turn()
    await run_test(
        line,
        frames_to_send=[
            PromptStartFrame(mark_id="p1"),
            audio(),
            PromptEndFrame(mark_id="p1"),
            SleepFrame(0.05),
            InterruptionFrame(),
            SleepFrame(0.05),
        ],
    )
    assert sink.calls[-1] == "flush"
    assert journal.turns[0].barged_in is True


@pytest.mark.parametrize(
    ("accepted", "outcome", "last"),
    [(True, "transferred", "mark:p1"), (False, "transfer_failed", "hangup")],
)
async def test_transfer_outcomes(accepted: bool, outcome: str, last: str) -> None:
    control = Control(accepted)
    line, sink, journal = output(control)
    await run_test(
        line,
        frames_to_send=[
            audio(),
            PromptEndFrame(mark_id="p1"),
            CallActionFrame(action=Transfer("conseillers", "asked for a person")),
            SleepFrame(0.05),
            MarkPlayedFrame(mark_id="p1"),
            SleepFrame(0.1),
        ],
    )
    assert [t.queue for t in control.transfers] == ["conseillers"]
    # The agent's context goes with the transfer.
    context = control.contexts[0]
    assert context is not None and context.queue == "conseillers" and context.call_id == "c1"
    assert journal.outcome == outcome and journal.transfer_queue == "conseillers"
    assert sink.calls[-1] == last


async def test_flushed_marks_never_hold_up_a_transfer() -> None:
    """Asterisk drops the marks of flushed audio: only the hand-over sentence is awaited."""
    control = Control(True)
    line, sink, journal = output(control)
    await run_test(
        line,
        frames_to_send=[
            PromptStartFrame(mark_id="greeting"),
            audio(),
            PromptEndFrame(mark_id="greeting"),
            SleepFrame(0.05),
            InterruptionFrame(),  # a key: the greeting is flushed, its mark never fires
            PromptStartFrame(mark_id="handover", barge_in=False),
            audio(),
            PromptEndFrame(mark_id="handover"),
            CallActionFrame(action=Transfer("conseillers", "key 0")),
            SleepFrame(0.05),
            MarkPlayedFrame(mark_id="handover"),
            SleepFrame(0.1),
        ],
    )
    assert sink.calls == [
        "audio@22050", "mark:greeting", "flush", "audio@22050", "mark:handover"
    ]  # fmt: skip
    assert [t.queue for t in control.transfers] == ["conseillers"]
    assert journal.outcome == "transferred"


class KeyTurn(FrameProcessor):
    """Stands for the dialog: a key's turn is opened before LineOutput sees the interruption."""

    def __init__(self, journal: CallJournal) -> None:
        super().__init__()
        self._journal = journal

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InterruptionFrame):
            self._journal.new_turn()
        await self.push_frame(frame, direction)


async def test_the_cut_answer_is_the_one_marked_barged_in() -> None:
    line, _, journal = output()
    journal.new_turn()
    await run_test(
        Pipeline([KeyTurn(journal), line]),
        frames_to_send=[
            audio(),
            PromptEndFrame(mark_id="p1"),
            SleepFrame(0.05),
            InterruptionFrame(),
            SleepFrame(0.05),
        ],
    )
    assert [t.barged_in for t in journal.turns] == [True, False]


async def test_a_flushed_last_prompt_reopens_the_barge_in_gate() -> None:
    line, sink, _ = output()
    _, up = await run_test(
        line,
        frames_to_send=[
            *last_words_played("bye"),
            InterruptionFrame(),
            SleepFrame(0.05),
        ],
    )
    assert sink.calls[-1] == "flush"
    assert [f.open for f in up if isinstance(f, BargeInGateFrame)] == [False, True]


async def test_a_mark_the_line_never_confirms_counts_as_heard_after_its_audio() -> None:
    """Issue 10, item 2: without MEDIA_MARK_PROCESSED the bot stayed "speaking" for ever,
    so the no-input timer never started. Now the prompt counts as heard once its audio
    should have played (0.1 s here) plus the grace."""
    watch = LineWatch(0.0, mark_grace_s=0.2)
    line, sink, _ = output(watch=watch)
    _, up = await run_test(
        line,
        frames_to_send=[
            PromptStartFrame(mark_id="greeting", barge_in=False),
            audio(0.1),
            PromptEndFrame(mark_id="greeting"),
            SleepFrame(0.6),  # no MarkPlayedFrame: the line stays silent
        ],
    )
    assert sink.calls == ["audio@22050", "mark:greeting"]
    assert [type(f) for f in up if not isinstance(f, BargeInGateFrame)] == [
        BotStartedSpeakingFrame,
        BotStoppedSpeakingFrame,
    ]
    assert [f.open for f in up if isinstance(f, BargeInGateFrame)] == [False, True]
    assert watch.overdue_marks == 1 and watch.stalled


async def test_a_confirmed_mark_is_never_counted_overdue() -> None:
    watch = LineWatch(0.0, mark_grace_s=0.1)
    line, _, _ = output(watch=watch)
    _, up = await run_test(
        line,
        frames_to_send=[
            audio(0.05),
            PromptEndFrame(mark_id="p1"),
            SleepFrame(0.02),
            MarkPlayedFrame(mark_id="p1"),
            SleepFrame(0.4),
        ],
    )
    assert [type(f) for f in up] == [BotStartedSpeakingFrame, BotStoppedSpeakingFrame]
    assert watch.overdue_marks == 0


async def test_a_transfer_without_call_control_is_transfer_unavailable() -> None:
    """Issue 10, item 5: no ARI configured is not a failed transfer; the record says so."""
    line, sink, journal = output(NoCallControl())
    await run_test(
        line,
        frames_to_send=[
            audio(),
            PromptEndFrame(mark_id="p1"),
            CallActionFrame(action=Transfer("conseillers", "intent conseiller")),
            SleepFrame(0.05),
            MarkPlayedFrame(mark_id="p1"),
            SleepFrame(0.1),
        ],
    )
    assert journal.outcome == "transfer_unavailable"
    assert journal.outcome_detail == "intent conseiller" and journal.hung_up_by == "bot"
    assert journal.transfer_queue == "conseillers" and sink.calls[-1] == "hangup"

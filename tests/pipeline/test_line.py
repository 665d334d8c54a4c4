"""The line's input processor: the media session's events become pipeline frames."""

from __future__ import annotations

import asyncio

import numpy as np
from pipecat.frames.frames import InputAudioRawFrame, InputDTMFFrame
from pipecat.tests.utils import SleepFrame, run_test

from callbot.media.types import CallEnded, CallerAudio, CallerDtmf, InboundEvent, MarkPlayed
from callbot.pipeline.frames import CallerGoneFrame
from callbot.pipeline.line import LineInput, from_line
from callbot.pipeline.watchdog import LineWatch

SPEECH = np.arange(320, dtype=np.int16)


class Line:
    """An inbound queue filled in advance, and what the processor reported."""

    def __init__(self, *events: InboundEvent) -> None:
        self.inbound: asyncio.Queue[InboundEvent] = asyncio.Queue()
        for event in events:
            self.inbound.put_nowait(event)
        self.watch = LineWatch(0.0, mark_grace_s=1.0)
        self.marks: list[str] = []
        self.ended: list[CallEnded] = []

    def processor(self) -> LineInput:
        return LineInput(self.inbound, self.watch, on_mark=self._mark, on_end=self.ended.append)

    async def _mark(self, mark_id: str) -> None:
        self.marks.append(mark_id)


async def test_audio_keys_and_the_end_go_down_marks_go_to_the_output() -> None:
    line = Line(
        CallerAudio(SPEECH),
        CallerDtmf("5"),
        CallerDtmf("x"),  # not a key pipecat knows: dropped
        MarkPlayed("m1"),
        CallEnded("caller hung up"),
        CallerDtmf("9"),  # after the end: never read
    )
    processor = line.processor()
    down, _ = await run_test(
        processor,
        frames_to_send=[SleepFrame(0.1)],
        expected_down_frames=[InputAudioRawFrame, InputDTMFFrame, CallerGoneFrame],
    )
    audio, key, gone = down
    assert isinstance(audio, InputAudioRawFrame) and audio.sample_rate == 16_000
    assert np.array_equal(np.frombuffer(audio.audio, dtype=np.int16), SPEECH)
    assert isinstance(key, InputDTMFFrame) and key.button.value == "5"
    assert isinstance(gone, CallerGoneFrame) and gone.reason == "caller hung up"
    assert line.marks == ["m1"] and line.ended == [CallEnded("caller hung up")]
    assert processor.ended.is_set() and line.inbound.qsize() == 1
    assert line.watch.alive


async def test_filled_silence_keeps_time_but_is_no_sign_of_life() -> None:
    line = Line(CallerAudio(np.zeros(6400, np.int16), by_line=False), CallEnded("gone"))
    down, _ = await run_test(
        line.processor(),
        frames_to_send=[SleepFrame(0.1)],
        expected_down_frames=[InputAudioRawFrame, CallerGoneFrame],
    )
    assert down[0].num_frames == 6400  # type: ignore[attr-defined]
    assert not line.watch.alive


def test_signs_of_life() -> None:
    assert from_line(CallerAudio(SPEECH)) and from_line(CallerDtmf("1"))
    assert from_line(MarkPlayed("m"))
    assert not from_line(MarkPlayed("m", by_line=False))  # AudioSocket counts its own
    assert not from_line(CallerAudio(SPEECH, by_line=False))
    assert not from_line(CallEnded("gone"))

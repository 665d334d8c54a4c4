"""Voice activity, end of turn and barge-in, as a pipecat processor."""

from __future__ import annotations

import time

import numpy as np
from pipecat.frames.frames import (
    BotStartedSpeakingFrame,
    BotStoppedSpeakingFrame,
    Frame,
    InputAudioRawFrame,
    UserStartedSpeakingFrame,
    UserStoppedSpeakingFrame,
)
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.pipeline.frames import BargeInGateFrame, PausedUtteranceFrame, UtteranceFrame
from callbot.speech.settings import VadSettings
from callbot.speech.vad import SpeechEnded, SpeechPaused, SpeechStarted, TurnDetector


class TurnProcessor(FrameProcessor):
    """Turns 16 kHz caller audio into utterances.

    When the caller starts speaking while the bot is talking, the bot's audio is
    interrupted (barge-in): pipecat's interruption cancels the prompt being
    synthesized and LineOutput flushes what the line still holds.
    """

    def __init__(self, settings: VadSettings, *, barge_in: bool = True) -> None:
        super().__init__(name="turns")
        self._detector = TurnDetector(settings)
        self._barge_in = barge_in
        self._bot_speaking = False
        self._gate_open = True
        self._samples_in = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self._on_audio(frame)
            return
        if isinstance(frame, BotStartedSpeakingFrame):
            self._bot_speaking = True
        elif isinstance(frame, BotStoppedSpeakingFrame):
            self._bot_speaking = False
        elif isinstance(frame, BargeInGateFrame):
            self._gate_open = frame.open
            return
        await self.push_frame(frame, direction)

    async def _on_audio(self, frame: InputAudioRawFrame) -> None:
        pcm = np.frombuffer(frame.audio, dtype=np.int16)
        self._samples_in += pcm.size
        arrived_at = time.monotonic()
        for event in self._detector.feed(pcm):
            if isinstance(event, SpeechStarted):
                await self.push_frame(UserStartedSpeakingFrame())
                if self._barge_in and self._bot_speaking and self._gate_open:
                    await self.broadcast_interruption()  # type: ignore[no-untyped-call]
            elif isinstance(event, SpeechPaused):
                await self.push_frame(
                    PausedUtteranceFrame(pcm=event.pcm, voiced_frames=event.voiced_frames)
                )
            elif isinstance(event, SpeechEnded):
                # The stream position of the end of speech, mapped to wall time.
                behind_s = (self._samples_in - event.at_sample) / PIPELINE_RATE_HZ
                await self.push_frame(UserStoppedSpeakingFrame())
                await self.push_frame(
                    UtteranceFrame(
                        pcm=event.pcm,
                        ended_at_s=arrived_at - behind_s,
                        voiced_frames=event.voiced_frames,
                    )
                )
            else:
                await self.push_frame(UserStoppedSpeakingFrame())

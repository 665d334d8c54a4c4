"""Speech synthesis of the bot's sentences with the process-wide voice."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from pipecat.frames.frames import Frame, TTSAudioRawFrame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.audio.wavfile import read_wav
from callbot.errors import ConfigError
from callbot.pipeline.frames import BotSpeechFrame, PromptEndFrame, PromptStartFrame
from callbot.speech.tts import SpeechChunk, Synthesizer

logger = logging.getLogger(__name__)


class SpeechProcessor(FrameProcessor):
    """Each BotSpeechFrame becomes audio chunks followed by a PromptEndFrame.

    Running in pipecat's cancellable task, a barge-in stops synthesis mid-prompt.
    """

    def __init__(self, synthesizer: Synthesizer) -> None:
        super().__init__(name="tts")
        self._synthesizer = synthesizer
        self._prompts = 0

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, BotSpeechFrame):
            await self.push_frame(frame, direction)
            return
        self._prompts += 1
        mark_id = f"prompt-{self._prompts}"
        await self.push_frame(PromptStartFrame(mark_id=mark_id, barge_in=frame.interruptible))
        async for chunk in self._speech(frame):
            await self.push_frame(
                TTSAudioRawFrame(
                    audio=chunk.pcm.tobytes(), sample_rate=chunk.sample_rate_hz, num_channels=1
                )
            )
        await self.push_frame(PromptEndFrame(mark_id=mark_id))

    async def _speech(self, frame: BotSpeechFrame) -> AsyncIterator[SpeechChunk]:
        """The recording when the dialplan gives one (and it reads), else synthesis."""
        if frame.audio_path is not None:
            try:
                pcm, rate = await asyncio.to_thread(read_wav, frame.audio_path)
            except (OSError, ValueError, EOFError, ConfigError) as exc:
                logger.error("prompt %s unreadable, speaking its text: %s", frame.audio_path, exc)
            else:
                yield SpeechChunk(pcm, rate)
                return
        async for chunk in self._synthesizer.stream(frame.text):
            yield chunk

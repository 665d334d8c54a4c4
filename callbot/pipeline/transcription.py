"""Speech recognition of whole utterances with the process-wide Whisper model."""

from __future__ import annotations

import logging

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.pipeline.frames import CallerTextFrame, UtteranceFrame
from callbot.speech.asr import WhisperAsr

logger = logging.getLogger(__name__)

NO_SPEECH_THRESHOLD = 0.8
"""Above this no-speech probability the text is treated as nothing said."""


class TranscriptionProcessor(FrameProcessor):
    def __init__(self, asr: WhisperAsr, *, language: str, call_id: str) -> None:
        super().__init__(name="asr")
        self._asr = asr
        self._language = language
        self._call_id = call_id

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if not isinstance(frame, UtteranceFrame):
            await self.push_frame(frame, direction)
            return
        # AsrBusy / AsrTimeout propagate: the call then ends gracefully (apology, transfer).
        transcript = await self._asr.transcribe(frame.pcm, self._language)
        text = transcript.text if transcript.no_speech_prob < NO_SPEECH_THRESHOLD else ""
        logger.info(
            "call %s: recognised %.1f s of speech in %.2f s (queued %.2f s)",
            self._call_id,
            transcript.audio_s,
            transcript.decode_s,
            transcript.queued_s,
        )
        await self.push_frame(
            CallerTextFrame(
                text=text,
                ended_at_s=frame.ended_at_s,
                asr_s=transcript.decode_s + transcript.queued_s,
            )
        )

"""Speech recognition of whole utterances with the process-wide Whisper model."""

from __future__ import annotations

from pipecat.frames.frames import Frame
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor

from callbot.pipeline.frames import CallerTextFrame, PausedUtteranceFrame, UtteranceFrame
from callbot.speech.asr import Transcript, WhisperAsr

NO_SPEECH_THRESHOLD = 0.8
"""Above this no-speech probability the text is treated as nothing said."""


class TranscriptionProcessor(FrameProcessor):
    """Recognises each utterance; starts early when the caller pauses.

    When the caller has paused long enough that the turn may be over, the audio so
    far is recognised at once. If the caller then stays silent until the end of the
    turn, the final audio is the same (same voiced frames, same trailing silence) and
    that early result is used: the turn's end-of-silence wait and recognition overlap.
    Early recognition is skipped when the recogniser has no room for it
    (:attr:`WhisperAsr.accepts_early`) and yields to final turns.
    """

    def __init__(self, asr: WhisperAsr, *, language: str) -> None:
        super().__init__(name="asr")
        self._asr = asr
        self._language = language
        self._early: tuple[int, int, Transcript] | None = None
        """(voiced frames, samples, transcript) of the last early recognition."""

    async def process_frame(self, frame: Frame, direction: FrameDirection) -> None:
        await super().process_frame(frame, direction)
        if isinstance(frame, PausedUtteranceFrame):
            if self._asr.accepts_early:
                transcript = await self._asr.transcribe(frame.pcm, self._language, early=True)
                self._early = (frame.voiced_frames, frame.pcm.size, transcript)
            return
        if not isinstance(frame, UtteranceFrame):
            await self.push_frame(frame, direction)
            return
        early, self._early = self._early, None
        used_early = early is not None and early[:2] == (frame.voiced_frames, frame.pcm.size)
        if early is not None and used_early:
            transcript = early[2]
        else:
            # AsrBusy / AsrTimeout propagate: the call then ends gracefully (apology, transfer).
            transcript = await self._asr.transcribe(frame.pcm, self._language)
        text = transcript.text if transcript.no_speech_prob < NO_SPEECH_THRESHOLD else ""
        await self.push_frame(  # logged with the turn it opens (DialogProcessor)
            CallerTextFrame(
                text=text,
                ended_at_s=frame.ended_at_s,
                asr_s=transcript.decode_s + transcript.queued_s,
                speech_s=transcript.audio_s,
                queued_s=transcript.queued_s,
                early=used_early,
            )
        )

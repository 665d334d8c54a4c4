"""Voice activity and end of turn, sans I/O: 16 kHz PCM in, speech events out.

webrtcvad classifies each 20 ms frame; a turn starts after ``start_ms`` of
(mostly) voiced frames and ends after ``stop_ms`` of unvoiced ones. Frames just
before the start (``preroll_ms``) are kept so the first syllable is not cut. An
energy floor keeps line hiss and comfort noise from counting as speech.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import webrtcvad

from callbot.audio.formats import PIPELINE_RATE_HZ
from callbot.audio.levels import dbfs
from callbot.speech.settings import VadSettings

Pcm = npt.NDArray[np.int16]

FRAME_SAMPLES = PIPELINE_RATE_HZ * 20 // 1000


@dataclass(frozen=True, slots=True)
class SpeechStarted:
    at_sample: int
    """Stream position (16 kHz samples since the call started) of the first voiced frame."""


@dataclass(frozen=True, slots=True)
class SpeechEnded:
    pcm: Pcm
    """The whole utterance, pre-roll included."""
    at_sample: int
    """Stream position where the caller stopped speaking (the last voiced frame's end)."""
    speech_ms: int
    voiced_frames: int = 0


@dataclass(frozen=True, slots=True)
class SpeechPaused:
    """The caller has been silent ``speculative_ms``: the turn may be over."""

    pcm: Pcm
    """The utterance so far."""
    voiced_frames: int
    """Voiced frames so far; the turn's final :class:`SpeechEnded` has the same count
    when the caller did not speak again after this pause."""


@dataclass(frozen=True, slots=True)
class SpeechDiscarded:
    """A start that turned out to be too short to be speech (cough, click)."""

    at_sample: int


VadEvent = SpeechStarted | SpeechPaused | SpeechEnded | SpeechDiscarded


def _frames(duration_ms: int) -> int:
    return max(1, duration_ms // 20)


class TurnDetector:
    """Feed 16 kHz PCM of any length; get speech start and end events."""

    def __init__(self, settings: VadSettings) -> None:
        self.settings = settings
        self._vad = webrtcvad.Vad(settings.aggressiveness)
        self._pending = np.zeros(0, dtype=np.int16)
        self._position = 0  # samples consumed into whole frames
        self._start_frames = _frames(settings.start_ms)
        self._stop_frames = _frames(settings.stop_ms)
        self._pause_frames = (
            _frames(settings.speculative_ms)
            if 0 < settings.speculative_ms < settings.stop_ms
            else 0
        )
        self._max_frames = int(settings.max_utterance_s * 50)
        self._preroll: deque[Pcm] = deque(maxlen=_frames(settings.preroll_ms))
        self._recent: deque[bool] = deque(maxlen=self._start_frames)
        self._speaking = False
        self._started = False
        self._utterance: list[Pcm] = []
        self._voiced = 0
        self._silent_run = 0
        self._last_voiced_end = 0

    @property
    def in_speech(self) -> bool:
        return self._speaking

    def feed(self, pcm: Pcm) -> list[VadEvent]:
        events: list[VadEvent] = []
        data = np.concatenate([self._pending, pcm]) if self._pending.size else pcm
        whole = data.size - data.size % FRAME_SAMPLES
        for offset in range(0, whole, FRAME_SAMPLES):
            events.extend(self._frame(data[offset : offset + FRAME_SAMPLES]))
        self._pending = data[whole:].copy()
        return events

    def _is_voiced(self, frame: Pcm) -> bool:
        if dbfs(frame) < self.settings.energy_floor_dbfs:
            return False
        return bool(self._vad.is_speech(frame.tobytes(), PIPELINE_RATE_HZ))

    def _frame(self, frame: Pcm) -> list[VadEvent]:
        voiced = self._is_voiced(frame)
        start = self._position
        self._position += FRAME_SAMPLES
        if not self._speaking:
            self._preroll.append(frame)
            self._recent.append(voiced)
            # A start needs most of the last start_ms voiced (tolerates one dropout).
            if voiced and sum(self._recent) >= max(1, self._start_frames - 1):
                return self._begin(start)
            return []
        self._utterance.append(frame)
        if voiced:
            self._voiced += 1
            self._silent_run = 0
            self._last_voiced_end = self._position
        else:
            self._silent_run += 1
        if self._silent_run >= self._stop_frames or len(self._utterance) >= self._max_frames:
            return self._end()
        pausing = self._pause_frames > 0 and self._silent_run == self._pause_frames
        if pausing and self._voiced * 20 >= self.settings.min_speech_ms:
            return [SpeechPaused(self._speech_pcm(), self._voiced)]
        return []

    def _speech_pcm(self) -> Pcm:
        """The utterance, keeping a little trailing silence (it helps Whisper)."""
        keep = len(self._utterance) - max(0, self._silent_run - 10)
        return np.concatenate(self._utterance[:keep])

    def _begin(self, start: int) -> list[VadEvent]:
        self._speaking = True
        self._utterance = list(self._preroll)
        self._voiced = sum(self._recent)
        self._silent_run = 0
        self._last_voiced_end = self._position
        self._preroll.clear()
        self._recent.clear()
        first_voiced = start - (self._voiced - 1) * FRAME_SAMPLES
        return [SpeechStarted(max(0, first_voiced))]

    def _end(self) -> list[VadEvent]:
        self._speaking = False
        speech_ms = self._voiced * 20
        pcm = self._speech_pcm()
        self._utterance = []
        if speech_ms < self.settings.min_speech_ms:
            return [SpeechDiscarded(self._last_voiced_end)]
        return [SpeechEnded(pcm, self._last_voiced_end, speech_ms, self._voiced)]

"""What a simulated caller heard: bot audio as played out, and the commands received."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import PIPELINE_RATE_HZ


@dataclass(frozen=True, slots=True)
class PlayedFrame:
    at_s: float
    """``time.monotonic()`` when the frame was played to the caller."""
    pcm: npt.NDArray[np.int16]
    """The frame, decoded and resampled to 16 kHz."""
    silent: bool
    """True when the frame carries no audible energy (paced silence)."""


@dataclass(frozen=True, slots=True)
class ReceivedCommand:
    at_s: float
    name: str
    """Command or frame kind as received (``MARK_MEDIA``, ``FLUSH_MEDIA``, ``HANGUP``...)."""
    detail: str = ""


SILENCE_RMS = 50.0
"""Frames whose RMS (int16 units) is below this count as silence."""


def is_silent(pcm: npt.NDArray[np.int16]) -> bool:
    if pcm.size == 0:
        return True
    return float(np.sqrt(np.mean(pcm.astype(np.float64) ** 2))) < SILENCE_RMS


@dataclass
class BotRecording:
    """Everything the bot sent to one simulated call, in order."""

    frames: list[PlayedFrame] = field(default_factory=list)
    commands: list[ReceivedCommand] = field(default_factory=list)
    dropped_frames: int = 0
    """Bot frames lost to a full queue (audio sent during XOFF) or oversize messages."""
    underruns: int = 0
    """Ticks where a paced transport (AudioSocket) had no bot frame to play."""

    def add_frame(self, pcm: npt.NDArray[np.int16], at_s: float | None = None) -> None:
        now = time.monotonic() if at_s is None else at_s
        self.frames.append(PlayedFrame(now, pcm, is_silent(pcm)))

    def add_command(self, name: str, detail: str = "", at_s: float | None = None) -> None:
        now = time.monotonic() if at_s is None else at_s
        self.commands.append(ReceivedCommand(now, name, detail))

    def audio(self, since_s: float = 0.0) -> npt.NDArray[np.int16]:
        """All audible-or-not bot audio played at or after ``since_s``, 16 kHz."""
        chunks = [f.pcm for f in self.frames if f.at_s >= since_s]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)

    def first_audio_after(self, since_s: float) -> float | None:
        """Time of the first audible bot frame played after ``since_s``."""
        for frame in self.frames:
            if frame.at_s >= since_s and not frame.silent:
                return frame.at_s
        return None

    def last_audio_at(self) -> float | None:
        for frame in reversed(self.frames):
            if not frame.silent:
                return frame.at_s
        return None

    def audible_seconds(self, since_s: float = 0.0) -> float:
        samples = sum(f.pcm.size for f in self.frames if f.at_s >= since_s and not f.silent)
        return samples / PIPELINE_RATE_HZ

    def command_names(self) -> list[str]:
        return [c.name for c in self.commands]

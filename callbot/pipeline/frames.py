"""Frames callbot adds to pipecat's own.

Interruption rules live in the type, as in pipecat: ``SystemFrame`` subclasses are
never cancelled by barge-in, ``DataFrame`` subclasses are, and frames built with
``interruptible=False`` survive it: a decided transfer must happen even if the caller
talks over the handover sentence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt
from pipecat.frames.frames import ControlFrame, DataFrame, SystemFrame

from callbot.dialplan import Action


@dataclass
class UtteranceFrame(DataFrame):
    """One caller turn, ready for recognition."""

    pcm: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    ended_at_s: float = 0.0
    """``time.monotonic()`` when the caller stopped speaking (end of the last voiced frame)."""
    voiced_frames: int = 0


@dataclass
class PausedUtteranceFrame(DataFrame):
    """The caller paused: the turn so far, to recognise early (speculatively)."""

    pcm: npt.NDArray[np.int16] = field(default_factory=lambda: np.zeros(0, np.int16))
    voiced_frames: int = 0


@dataclass
class CallerTextFrame(DataFrame):
    """What the caller said, as recognised."""

    text: str = ""
    ended_at_s: float = 0.0
    asr_s: float = 0.0
    """Recognition time, queueing included (seconds)."""
    speech_s: float = 0.0
    """Length of the utterance (seconds)."""
    queued_s: float = 0.0
    """Of ``asr_s``, the time spent waiting for the recogniser (seconds)."""
    early: bool = False
    """Recognised as the caller paused, before the end of the turn."""


@dataclass
class BotSpeechFrame(DataFrame):
    """A sentence for the bot to say, tagged with the turn it answers."""

    text: str = ""
    turn: int = 0
    interruptible: bool = True
    """False for last words before a transfer or hang-up: caller speech does not cut them."""
    audio_path: Path | None = None
    """A pre-recorded WAV to play instead of synthesizing ``text``."""


@dataclass
class PromptStartFrame(DataFrame):
    """Opens one prompt's audio; LineOutput learns whether barge-in may cut it."""

    mark_id: str = ""
    barge_in: bool = True


@dataclass
class BargeInGateFrame(SystemFrame):
    """Upstream, from LineOutput: whether caller speech may interrupt what is playing."""

    open: bool = True


@dataclass
class PromptEndFrame(DataFrame):
    """Marks the end of one prompt's audio; LineOutput sends MARK_MEDIA for it."""

    mark_id: str = ""


@dataclass
class CallActionFrame(ControlFrame):
    """Transfer or hang-up, carried out once the audio before it has been heard."""

    action: Action | None = None
    interruptible: bool = field(default=False, init=False)


@dataclass
class CallerGoneFrame(SystemFrame):
    """The caller hung up or the line dropped."""

    reason: str = ""

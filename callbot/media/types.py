"""The transport-neutral contract between a media edge and the call runner.

A media edge (chan_websocket server, AudioSocket server, browser softphone) turns
one connection into:

* a :class:`CallInfo` describing the call,
* a stream of inbound :data:`InboundEvent` objects (caller audio already
  normalised to 16 kHz int16 PCM, silence where the line sent none, DTMF digits,
  confirmed marks, the end): :class:`~callbot.media.session.MediaSession`, alike for
  every edge,
* a :class:`MediaSink` the call runner uses to talk back.

and hands them to a :data:`CallHandler`. When the handler returns, the edge
ends the call (hangs up) if it is still up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from callbot.audio.formats import AudioFormat


@dataclass(frozen=True, slots=True)
class CallInfo:
    call_id: str
    """Stable id of the call (from the query string, channel variables or AudioSocket UUID)."""
    transport: str
    """``chan_websocket``, ``audiosocket`` or ``softphone``."""
    media_format: AudioFormat
    """The call's wire format."""
    caller_number: str | None = None
    channel_id: str | None = None
    variables: Mapping[str, str] = field(default_factory=dict)
    """Channel variables and query parameters handed over by Asterisk."""


@dataclass(frozen=True, slots=True)
class CallerAudio:
    """Caller audio, 16 kHz mono int16 (the pipeline format)."""

    pcm: npt.NDArray[np.int16]
    by_line: bool = True
    """False for silence the edge filled in while the line sent nothing (a line that
    suppresses silence): it keeps the turn detector's time running, but is no sign of
    life from the line."""


@dataclass(frozen=True, slots=True)
class CallerDtmf:
    digit: str
    """One of ``0-9 * # A-D``."""


@dataclass(frozen=True, slots=True)
class MarkPlayed:
    """Asterisk played all bot audio queued before the mark with this id."""

    mark_id: str
    by_line: bool = True
    """True when the line confirmed it (chan_websocket's MEDIA_MARK_PROCESSED); False when
    the edge counted it played itself (AudioSocket has no marks on the wire): that is no
    sign of life from the line."""


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The caller side is gone (hang-up, socket closed, protocol error)."""

    reason: str
    by: str = "caller"
    """Who ended it: ``caller`` (a hang-up on the line: Asterisk closed the media normally),
    ``asterisk`` (the media connection dropped without a hang-up), ``bot`` (callbot closed
    it, e.g. on a protocol error it detected)."""
    protocol_error: bool = False
    """The media connection broke the protocol (malformed or oversize message, close code
    1002/1003/1007/1009): the call's outcome is ``protocol_error``, whoever closed it."""


InboundEvent = CallerAudio | CallerDtmf | MarkPlayed | CallEnded


class MediaSink(Protocol):
    """What the call runner may do to the caller's line."""

    @property
    def format(self) -> AudioFormat: ...

    async def send_audio(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        """Queue bot audio (any rate; the edge converts, chunks, paces and honours XOFF)."""

    async def flush(self) -> None:
        """Barge-in: drop every bot audio sample not yet played."""

    async def mark(self, mark_id: str) -> None:
        """Ask to be told (:class:`MarkPlayed`) when the audio queued so far has been played."""

    async def hangup(self) -> None:
        """End the call from the bot's side."""


CallHandler = Callable[[CallInfo, "asyncio.Queue[InboundEvent]", MediaSink], Awaitable[None]]
"""Runs one call to its end. Given the call, its inbound events and its sink."""

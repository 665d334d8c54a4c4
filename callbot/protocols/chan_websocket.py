"""chan_websocket, Asterisk's websocket media channel: its messages, without any I/O.

Everything here is taken from the Asterisk source (``channels/chan_websocket.c`` and
``res/res_http_websocket.c``, identical on branches 20, 22, 23 and master) and is pure.
This module holds what both ends share: the limits, the events and commands as typed
values, the errors and their close codes. Each end has its own module:

* the **app side**, what callbot runs (:mod:`callbot.protocols.chan_websocket_app`): parse
  Asterisk's events, serialize commands in the call's control format, track
  MEDIA_XOFF/XON, cut bot audio into messages Asterisk keeps whole;
* the **Asterisk side**, what the simulated peer runs
  (:mod:`callbot.protocols.chan_websocket_asterisk`): parse commands, write events, the
  1000-frame playback queue.

How fast bot audio goes out is edge policy, not wire format: :mod:`callbot.media.pacing`.

Messages: BINARY is raw media, no header. TEXT is control, either ``plain-text`` (one
line: ``NAME`` or ``NAME key:value ...``) or ``json`` (``{"event":...}`` /
``{"command":...}``), chosen by Asterisk per call (``f(json)``, chan_websocket.conf).
Asterisk parses commands only in the call's own format, so the app must answer in it.

Protocol errors and what the edges do with them, in one place (:func:`close_code_for`)::

    ChanWebsocketError (callbot.errors)
    ├── MalformedMessage    None: log with the call id and skip the message
    ├── OversizeMessage     1009: what res_http_websocket does with a frame > 65,535 bytes
    ├── UnsupportedMedia    1003: a codec we cannot convert (opus...) or passthrough mode
    ├── MissingMediaStart   1002: no MEDIA_START within the start timeout
    └── CommandError        None: the app tried to build an invalid command (a bug: raised)
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callbot.audio.formats import AudioFormat, Codec
from callbot.errors import ChanWebsocketError

MAX_FRAME_BYTES = 65_535
"""res_http_websocket AST_WEBSOCKET_MAX_RX_PAYLOAD_SIZE: one frame, header included."""
MAX_COMMAND_BYTES = 128
"""chan_websocket MAX_TEXT_MESSAGE_LEN: longer control text is ignored (logged) by Asterisk."""
QUEUE_MAX_FRAMES = 1000
"""QUEUE_LENGTH_MAX: a binary message arriving at this queue length is dropped whole."""
XOFF_FRAMES = 900
"""QUEUE_LENGTH_XOFF_LEVEL: MEDIA_XOFF once the queue reaches this length."""
XON_FRAMES = 800
"""QUEUE_LENGTH_XON_LEVEL: MEDIA_XON once the queue falls below this length."""
MAX_EVENT_TEXT_BYTES = 65_535
"""App side: longest event text accepted (MEDIA_START carries every channel variable)."""

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001
CLOSE_INTERNAL_ERROR = 1011
"""The app failed (its call handler raised): the edge closes with this after HANGUP."""


class MalformedMessage(ChanWebsocketError):
    """Control text Asterisk would never send (bad JSON, missing fields...)."""


class OversizeMessage(ChanWebsocketError):
    """A message over the size limit."""


class UnsupportedMedia(ChanWebsocketError):
    """A codec callbot cannot convert, or passthrough mode."""


class MissingMediaStart(ChanWebsocketError):
    """The call never started."""


class CommandError(ChanWebsocketError):
    """The app tried to build a command Asterisk would not accept."""


_CLOSE_CODES: dict[type[ChanWebsocketError], int | None] = {
    MalformedMessage: None,
    OversizeMessage: 1009,
    UnsupportedMedia: 1003,
    MissingMediaStart: 1002,
    CommandError: None,
}


def close_code_for(exc: ChanWebsocketError) -> int | None:
    """The close code an edge uses for this error; None: log it and skip the message."""
    return _CLOSE_CODES.get(type(exc), 1002)


class ControlFormat(enum.Enum):
    """Values of ``control_message_format`` / dial option ``f()``."""

    PLAIN = "plain-text"
    JSON = "json"


# --- events (Asterisk -> app) ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MediaStart:
    connection_id: str
    channel: str
    channel_id: str
    format_name: str
    """Asterisk's name (``ulaw``, ``slin16``...)."""
    media_format: AudioFormat | None
    """None for a codec callbot does not convert (opus, speex, g729...)."""
    optimal_frame_size: int
    """Bytes in one ptime frame; 0 in passthrough mode (no re-framing, no media commands)."""
    ptime_ms: int
    channel_variables: Mapping[str, str] = field(default_factory=dict)
    """Every channel variable (JSON form only); inherited ones keep their ``__`` prefix."""


@dataclass(frozen=True, slots=True)
class Dtmf:
    digit: str
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Xoff:
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Xon:
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class QueueDrained:
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class MarkProcessed:
    correlation_id: str
    """Empty when the MARK_MEDIA had no id."""
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class BufferingCompleted:
    correlation_id: str
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Status:
    channel_id: str | None
    queue_length: int
    xon_level: int
    xoff_level: int
    queue_full: bool
    bulk_media: bool
    media_paused: bool


@dataclass(frozen=True, slots=True)
class AsteriskError:
    error_text: str
    channel_id: str | None = None


@dataclass(frozen=True, slots=True)
class Media:
    payload: bytes


@dataclass(frozen=True, slots=True)
class UnknownEvent:
    name: str
    text: str


Event = (
    MediaStart
    | Dtmf
    | Xoff
    | Xon
    | QueueDrained
    | MarkProcessed
    | BufferingCompleted
    | Status
    | AsteriskError
    | Media
    | UnknownEvent
)


# --- commands (app -> Asterisk) -------------------------------------------------------------


class CommandName(enum.StrEnum):
    ANSWER = "ANSWER"
    HANGUP = "HANGUP"
    START_MEDIA_BUFFERING = "START_MEDIA_BUFFERING"
    STOP_MEDIA_BUFFERING = "STOP_MEDIA_BUFFERING"
    MARK_MEDIA = "MARK_MEDIA"
    FLUSH_MEDIA = "FLUSH_MEDIA"
    REPORT_QUEUE_DRAINED = "REPORT_QUEUE_DRAINED"
    GET_STATUS = "GET_STATUS"
    PAUSE_MEDIA = "PAUSE_MEDIA"
    CONTINUE_MEDIA = "CONTINUE_MEDIA"
    SET_MEDIA_DIRECTION = "SET_MEDIA_DIRECTION"
    """JSON only; direction ``both``, ``in`` or ``out`` (from the app's point of view)."""


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    """A :class:`CommandName` value, or whatever an app sent (Asterisk side)."""
    correlation_id: str | None = None
    direction: str | None = None


def dump_json(obj: Mapping[str, Any]) -> str:
    # Asterisk dumps with AST_JSON_COMPACT (jansson: no spaces, UTF-8 kept, '/' unescaped).
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def ws_header_bytes(payload_bytes: int, *, masked: bool) -> int:
    """Size of a websocket frame header (RFC 6455 5.2) for this payload."""
    size = 2 if payload_bytes < 126 else 4 if payload_bytes <= 0xFFFF else 10
    return size + (4 if masked else 0)


def check_frame_size(payload_bytes: int, *, masked: bool) -> None:
    """Raise :class:`OversizeMessage` where Asterisk would close with 1009."""
    total = payload_bytes + ws_header_bytes(payload_bytes, masked=masked)
    if total > MAX_FRAME_BYTES:
        raise OversizeMessage(f"websocket frame of {total} bytes exceeds {MAX_FRAME_BYTES}")


MAX_SAFE_PAYLOAD_BYTES = MAX_FRAME_BYTES - ws_header_bytes(MAX_FRAME_BYTES, masked=True)
"""Largest payload that fits one Asterisk frame, masked or not (65,527 bytes)."""


def silence_frame(fmt: AudioFormat) -> bytes:
    """One 20 ms frame of digital silence in the wire format."""
    byte = {Codec.ULAW: b"\xff", Codec.ALAW: b"\xd5", Codec.SLIN: b"\x00"}[fmt.codec]
    return byte * fmt.frame_bytes

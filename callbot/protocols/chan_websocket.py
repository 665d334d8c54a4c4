"""chan_websocket, Asterisk's websocket media channel, without any I/O.

Everything here is taken from the Asterisk source (``channels/chan_websocket.c`` and
``res/res_http_websocket.c``, identical on branches 20, 22, 23 and master) and is pure:
text or bytes in, typed events or text out. Two roles:

* the **app side** (:class:`AppConnection`), what callbot runs: parse Asterisk's events,
  serialize commands in the call's control format, track MEDIA_XOFF/XON, and
  :class:`OutboundChunker` / :class:`PlayoutClock` to send bot audio safely;
* the **Asterisk side**, what the simulated peer runs (parse commands, build events, the
  1000-frame playback queue): :mod:`callbot.protocols.chan_websocket_asterisk`.

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
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from callbot.audio.formats import FRAME_MS, AudioFormat, Codec
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


_ID_RE = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no spaces: survives ast_strip().


def encode_command(command: Command, fmt: ControlFormat) -> str:
    """Serialize one command; raises :class:`CommandError` if Asterisk would not accept it."""
    name = CommandName(command.name).value
    cid = command.correlation_id
    if cid is not None and not _ID_RE.fullmatch(cid):
        raise CommandError(f"correlation id {cid!r} must be printable ASCII without spaces")
    if fmt is ControlFormat.JSON:
        obj: dict[str, str] = {"command": name}
        if cid is not None:
            obj["correlation_id"] = cid
        if command.direction is not None:
            obj["direction"] = command.direction
        text = dump_json(obj)
    elif command.name == CommandName.SET_MEDIA_DIRECTION:
        raise CommandError("SET_MEDIA_DIRECTION exists only in the JSON control format")
    else:
        text = name if cid is None else f"{name} {cid}"
    if len(text.encode()) > MAX_COMMAND_BYTES:
        raise CommandError(f"{name} is {len(text)} bytes; Asterisk ignores over 128")
    return text


def dump_json(obj: Mapping[str, Any]) -> str:
    # Asterisk dumps with AST_JSON_COMPACT (jansson: no spaces, UTF-8 kept, '/' unescaped).
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --- parsing events (app side) --------------------------------------------------------------

_NODATA: dict[str, type[Xoff | Xon | QueueDrained]] = {
    "MEDIA_XOFF": Xoff,
    "MEDIA_XON": Xon,
    "QUEUE_DRAINED": QueueDrained,
}
_WITH_ID: dict[str, type[MarkProcessed | BufferingCompleted]] = {
    "MEDIA_MARK_PROCESSED": MarkProcessed,
    "MEDIA_BUFFERING_COMPLETED": BufferingCompleted,
}


def parse_event(text: str, max_bytes: int = MAX_EVENT_TEXT_BYTES) -> Event:
    """One TEXT message from Asterisk; the format is recognised from the text itself."""
    if len(text) > max_bytes or len(text.encode()) > max_bytes:
        raise OversizeMessage(f"control text over {max_bytes} bytes")
    stripped = text.strip()
    if not stripped:
        raise MalformedMessage("empty control text")
    if stripped.startswith("{"):
        return _parse_json_event(stripped)
    return _parse_plain_event(stripped)


def _parse_plain_event(text: str) -> Event:
    name, _, rest = text.partition(" ")
    if name in _NODATA:
        return _NODATA[name]()
    if name in _WITH_ID:
        return _WITH_ID[name](correlation_id=rest)
    if name == "ERROR":
        # "ERROR channel_id:<id> error_text:<free text, may hold spaces>"
        head, sep, error_text = rest.partition("error_text:")
        fields = _plain_fields(head)
        return AsteriskError(error_text.strip() if sep else rest, fields.get("channel_id"))
    fields = _plain_fields(rest)
    if name == "MEDIA_START":
        return _media_start(fields, {})
    if name == "DTMF_END":
        return Dtmf(_required_str(fields, "digit"), fields.get("channel_id"))
    if name == "STATUS":
        return _status(fields)
    return UnknownEvent(name, text)


def _plain_fields(rest: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in rest.split():
        key, sep, value = token.partition(":")
        if not sep:
            raise MalformedMessage(f"expected key:value, got {token[:40]!r}")
        fields[key] = value
    return fields


def _parse_json_event(text: str) -> Event:
    try:
        obj = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise MalformedMessage(f"invalid JSON event: {exc}") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("event"), str):
        raise MalformedMessage("JSON event without an 'event' string")
    name: str = obj["event"]
    cid = obj.get("channel_id")
    channel_id = cid if isinstance(cid, str) else None
    if name in _NODATA:
        return _NODATA[name](channel_id)
    if name in _WITH_ID:
        corr = obj.get("correlation_id")
        return _WITH_ID[name](corr if isinstance(corr, str) else "", channel_id)
    if name == "MEDIA_START":
        variables = obj.get("channel_variables") or {}
        if not isinstance(variables, dict):
            raise MalformedMessage("channel_variables is not an object")
        return _media_start(obj, {str(k): str(v) for k, v in variables.items()})
    if name == "DTMF_END":
        return Dtmf(_required_str(obj, "digit"), channel_id)
    if name == "STATUS":
        return _status(obj)
    if name == "ERROR":
        error_text = obj.get("error_text")
        return AsteriskError(str(error_text or "").strip(), channel_id)
    return UnknownEvent(name, text)


def _required_str(fields: Mapping[str, Any], key: str) -> str:
    value = fields.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedMessage(f"missing {key}")
    return value


def _int(fields: Mapping[str, Any], key: str) -> int:
    value = fields.get(key)
    if isinstance(value, bool):
        raise MalformedMessage(f"{key} is not an integer")
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        raise MalformedMessage(f"{key} is not an integer: {value!r}") from None


def _bool(fields: Mapping[str, Any], key: str) -> bool:
    value = fields.get(key)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value in ("true", "false"):
        return value == "true"
    raise MalformedMessage(f"{key} is not a boolean: {value!r}")


def _media_start(fields: Mapping[str, Any], variables: dict[str, str]) -> MediaStart:
    format_name = _required_str(fields, "format")
    try:
        media_format: AudioFormat | None = AudioFormat.from_asterisk_name(format_name)
    except ValueError:
        media_format = None
    return MediaStart(
        connection_id=_required_str(fields, "connection_id"),
        channel=_required_str(fields, "channel"),
        channel_id=_required_str(fields, "channel_id"),
        format_name=format_name,
        media_format=media_format,
        optimal_frame_size=_int(fields, "optimal_frame_size"),
        ptime_ms=_int(fields, "ptime"),
        channel_variables=variables,
    )


def _status(fields: Mapping[str, Any]) -> Status:
    cid = fields.get("channel_id")
    return Status(
        channel_id=cid if isinstance(cid, str) else None,
        queue_length=_int(fields, "queue_length"),
        xon_level=_int(fields, "xon_level"),
        xoff_level=_int(fields, "xoff_level"),
        queue_full=_bool(fields, "queue_full"),
        bulk_media=_bool(fields, "bulk_media"),
        media_paused=_bool(fields, "media_paused"),
    )


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


# --- app side -------------------------------------------------------------------------------


class AppConnection:
    """callbot's end of one chan_websocket call: events in, commands out, flow control.

    With ``control_format=None`` the format follows Asterisk: plain until a JSON event
    (normally MEDIA_START, the first message) is seen.
    """

    def __init__(
        self,
        control_format: ControlFormat | None = None,
        max_event_bytes: int = MAX_EVENT_TEXT_BYTES,
    ) -> None:
        self._fixed_format = control_format
        self._seen_json = False
        self._max_event_bytes = max_event_bytes
        self.media_start: MediaStart | None = None
        self.may_send = True
        """False between MEDIA_XOFF and MEDIA_XON: Asterisk's queue is nearly full."""

    @property
    def control_format(self) -> ControlFormat:
        if self._fixed_format is not None:
            return self._fixed_format
        return ControlFormat.JSON if self._seen_json else ControlFormat.PLAIN

    def receive_text(self, text: str) -> Event:
        event = parse_event(text, self._max_event_bytes)
        if text.lstrip().startswith("{"):
            self._seen_json = True
        if isinstance(event, Xoff):
            self.may_send = False
        elif isinstance(event, Xon):
            self.may_send = True
        elif isinstance(event, MediaStart) and self.media_start is None:
            self.media_start = event
        return event

    def receive_binary(self, payload: bytes) -> Media:
        if len(payload) > MAX_FRAME_BYTES:
            raise OversizeMessage(f"binary message of {len(payload)} bytes")
        return Media(payload)

    def command(
        self, name: CommandName, correlation_id: str | None = None, direction: str | None = None
    ) -> str:
        return encode_command(Command(name, correlation_id, direction), self.control_format)


def silence_frame(fmt: AudioFormat) -> bytes:
    """One 20 ms frame of digital silence in the wire format."""
    byte = {Codec.ULAW: b"\xff", Codec.ALAW: b"\xd5", Codec.SLIN: b"\x00"}[fmt.codec]
    return byte * fmt.frame_bytes


class OutboundChunker:
    """Cuts bot audio into messages of whole frames, each at most ``max_chunk_ms``.

    Asterisk drops a message's partial trailing frame (outside START/STOP_MEDIA_BUFFERING),
    so the remainder is kept for the next call; :meth:`finish` pads it to a whole frame
    with silence (before a mark, so the mark follows every sample).
    """

    def __init__(self, fmt: AudioFormat, max_chunk_ms: int = 500) -> None:
        self.frame_bytes = fmt.frame_bytes
        frames = max(1, max_chunk_ms // FRAME_MS)
        frames = min(frames, MAX_SAFE_PAYLOAD_BYTES // self.frame_bytes)
        self.max_chunk_bytes = frames * self.frame_bytes
        self._silence = silence_frame(fmt)
        self._pending = b""

    def push(self, wire: bytes) -> list[bytes]:
        data = self._pending + wire
        usable = len(data) - len(data) % self.frame_bytes
        self._pending = data[usable:]
        step = self.max_chunk_bytes
        return [data[i : min(i + step, usable)] for i in range(0, usable, step)]

    def finish(self) -> bytes:
        """The held-back partial frame padded with silence, or ``b""``."""
        pending, self._pending = self._pending, b""
        if not pending:
            return b""
        return pending + self._silence[len(pending) :]

    def clear(self) -> None:
        self._pending = b""


class PlayoutClock:
    """Estimates how far bot audio sent so far runs ahead of Asterisk's playout.

    Asterisk plays one frame per ptime tick, so what was sent ends at ``ends_at_s``; the
    edge keeps the lead under a bound so that a barge-in never has much to flush and the
    queue stays below MEDIA_XOFF. Times are ``time.monotonic()`` seconds, passed in.
    """

    def __init__(self) -> None:
        self.ends_at_s = 0.0

    def sent(self, duration_s: float, now_s: float) -> None:
        self.ends_at_s = max(self.ends_at_s, now_s) + duration_s

    def lead_s(self, now_s: float) -> float:
        return max(0.0, self.ends_at_s - now_s)

    def reset(self) -> None:
        self.ends_at_s = 0.0

"""chan_websocket, callbot's side, sans I/O: Asterisk's events in, commands out.

:class:`AppConnection` is one call as the app sees it: each TEXT message parsed into an
event of :mod:`callbot.protocols.chan_websocket` (the format recognised from the text),
commands written in the call's control format, MEDIA_XOFF/XON tracked.
:class:`OutboundChunker` cuts bot audio into messages Asterisk keeps whole. The simulated
Asterisk runs the other side: :mod:`callbot.protocols.chan_websocket_asterisk`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from callbot.audio.formats import FRAME_MS, AudioFormat
from callbot.protocols.chan_websocket import (
    MAX_COMMAND_BYTES,
    MAX_EVENT_TEXT_BYTES,
    MAX_FRAME_BYTES,
    MAX_SAFE_PAYLOAD_BYTES,
    AsteriskError,
    BufferingCompleted,
    Command,
    CommandError,
    CommandName,
    ControlFormat,
    Dtmf,
    Event,
    MalformedMessage,
    MarkProcessed,
    Media,
    MediaStart,
    OversizeMessage,
    QueueDrained,
    Status,
    UnknownEvent,
    Xoff,
    Xon,
    dump_json,
    silence_frame,
)

# --- commands -------------------------------------------------------------------------------

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


# --- events ---------------------------------------------------------------------------------

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


# --- one call -------------------------------------------------------------------------------


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

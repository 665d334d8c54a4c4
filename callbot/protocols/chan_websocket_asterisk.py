"""chan_websocket, Asterisk's side, sans I/O: what the simulated Asterisk runs.

Events out (byte for byte as ``channels/chan_websocket.c`` writes them), commands in,
and the playback queue with its limits: 1000 frames, MEDIA_XOFF at 900, MEDIA_XON below
800, re-framing into ``optimal_frame_size``, marks fired when playout reaches them, a
partial trailing frame dropped outside START/STOP_MEDIA_BUFFERING. The messages both
sides share are in :mod:`callbot.protocols.chan_websocket`; the app's side is
:mod:`callbot.protocols.chan_websocket_app`.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass
from typing import Any

from callbot.protocols.chan_websocket import (
    MAX_COMMAND_BYTES,
    QUEUE_MAX_FRAMES,
    XOFF_FRAMES,
    XON_FRAMES,
    AsteriskError,
    BufferingCompleted,
    Command,
    CommandName,
    ControlFormat,
    Dtmf,
    Event,
    MalformedMessage,
    MarkProcessed,
    Media,
    MediaStart,
    QueueDrained,
    Status,
    UnknownEvent,
    UnsupportedMedia,
    Xoff,
    Xon,
    check_frame_size,
    dump_json,
)


def encode_event(event: Event, fmt: ControlFormat) -> str:
    """Asterisk's text for an event, byte for byte (chan_websocket.c ``_create_event_*``)."""
    if isinstance(event, Media | UnknownEvent):
        raise TypeError(f"{type(event).__name__} is not a control event")
    if fmt is ControlFormat.JSON:
        return dump_json(_event_json(event))
    return _event_plain(event)


def _event_json(event: Event) -> dict[str, Any]:
    cid = getattr(event, "channel_id", None) or ""
    if isinstance(event, MediaStart):
        return {
            "event": "MEDIA_START",
            "connection_id": event.connection_id,
            "channel": event.channel,
            "channel_id": event.channel_id,
            "format": event.format_name,
            "optimal_frame_size": event.optimal_frame_size,
            "ptime": event.ptime_ms,
            "channel_variables": dict(event.channel_variables),
        }
    head: dict[str, Any] = {"event": _EVENT_NAMES[type(event)], "channel_id": cid}
    if isinstance(event, MarkProcessed | BufferingCompleted):
        head["correlation_id"] = event.correlation_id
    elif isinstance(event, Dtmf):
        head["digit"] = event.digit
    elif isinstance(event, AsteriskError):
        head["error_text"] = event.error_text
    elif isinstance(event, Status):
        head.update(
            queue_length=event.queue_length,
            xon_level=event.xon_level,
            xoff_level=event.xoff_level,
            queue_full=event.queue_full,
            bulk_media=event.bulk_media,
            media_paused=event.media_paused,
        )
    return head


def _event_plain(event: Event) -> str:
    if isinstance(event, MediaStart):
        return (
            f"MEDIA_START connection_id:{event.connection_id} channel:{event.channel} "
            f"channel_id:{event.channel_id} format:{event.format_name} "
            f"optimal_frame_size:{event.optimal_frame_size} ptime:{event.ptime_ms}"
        )
    name = _EVENT_NAMES[type(event)]
    if isinstance(event, MarkProcessed | BufferingCompleted):
        return f"{name} {event.correlation_id}" if event.correlation_id else name
    if isinstance(event, Dtmf):
        return f"DTMF_END digit:{event.digit} channel_id:{event.channel_id}"
    if isinstance(event, AsteriskError):
        return f"ERROR channel_id:{event.channel_id} error_text:{event.error_text}"
    if isinstance(event, Status):
        flags = (event.queue_full, event.bulk_media, event.media_paused)
        full, bulk, paused = ("true" if f else "false" for f in flags)
        return (
            f"STATUS channel_id:{event.channel_id} queue_length:{event.queue_length} "
            f"xon_level:{event.xon_level} xoff_level:{event.xoff_level} queue_full:{full} "
            f"bulk_media:{bulk} media_paused:{paused}"
        )
    return name


_EVENT_NAMES: dict[type, str] = {
    MediaStart: "MEDIA_START",
    Dtmf: "DTMF_END",
    Xoff: "MEDIA_XOFF",
    Xon: "MEDIA_XON",
    QueueDrained: "QUEUE_DRAINED",
    MarkProcessed: "MEDIA_MARK_PROCESSED",
    BufferingCompleted: "MEDIA_BUFFERING_COMPLETED",
    Status: "STATUS",
    AsteriskError: "ERROR",
}


def parse_command(text: str, fmt: ControlFormat) -> Command | None:
    """A command as Asterisk reads it (``process_text_message``/``handle_command``).

    Returns None for what Asterisk ignores (empty, over 128 bytes); raises
    :class:`MalformedMessage` for JSON it cannot parse (Asterisk answers with ERROR).
    """
    size = len(text.encode())
    if size == 0 or size > MAX_COMMAND_BYTES:
        return None
    text = text.strip()
    if fmt is ControlFormat.PLAIN:
        name, sep, data = text.partition(" ")
        return Command(name, data if sep else None)
    try:
        obj = json.loads(text)
    except ValueError:
        raise MalformedMessage("Unable to parse JSON command") from None
    if not isinstance(obj, dict):
        return Command("")

    def text_of(key: str) -> str | None:
        value = obj.get(key)
        return value if isinstance(value, str) else None

    return Command(text_of("command") or "", text_of("correlation_id"), text_of("direction"))


@dataclass(frozen=True, slots=True)
class TickOutput:
    frame: bytes | None
    """The frame played this tick (may be a partial one), or None."""
    events: tuple[str, ...]
    """Event texts to send this tick, in order (MEDIA_XON, marks, QUEUE_DRAINED...)."""


_AUDIO_COMMANDS = {
    CommandName.START_MEDIA_BUFFERING,
    CommandName.STOP_MEDIA_BUFFERING,
    CommandName.MARK_MEDIA,
    CommandName.PAUSE_MEDIA,
    CommandName.CONTINUE_MEDIA,
}


class AsteriskChannel:
    """Asterisk's end of one call: the queue that re-frames and plays the app's audio.

    Mirrors chan_websocket.c: each binary message is cut into ``optimal_frame_size`` frames
    (a partial tail is dropped, or kept while buffering); the queue holds 1000 frames
    (a message arriving at 1000 is dropped whole), says MEDIA_XOFF at 900 and MEDIA_XON
    below 800; marks and buffering completions wait in the queue and are sent when playout
    reaches them. :meth:`tick` is one ptime of playout.
    """

    def __init__(self, start: MediaStart, control_format: ControlFormat) -> None:
        if start.optimal_frame_size <= 0:
            raise UnsupportedMedia("the simulated channel does not do passthrough")
        self.start = start
        self.format = control_format
        self._queue: deque[bytes | str] = deque()
        self._leftover = b""
        self.queue_length = 0
        self.queue_full = False
        self.bulk_media = False
        self.paused = False
        self.report_queue_drained = False
        self.media_direction = "both"
        self.answered = False
        self.hangup_requested = False
        self.dropped_frames = 0
        """Whole frames lost: messages arriving on a full queue, and partial tails."""

    def _event(self, event: Event) -> str:
        return encode_event(event, self.format)

    def media_start_text(self) -> str:
        return self._event(self.start)

    def dtmf_text(self, digit: str) -> str:
        return self._event(Dtmf(digit, self.start.channel_id))

    def _error(self, text: str) -> str:
        return self._event(AsteriskError(text, self.start.channel_id))

    def receive_binary(self, payload: bytes, *, masked: bool = True) -> list[str]:
        """Queue the app's audio; returns events to send now (MEDIA_XOFF)."""
        check_frame_size(len(payload), masked=masked)
        ofs = self.start.optimal_frame_size
        if self.media_direction == "in":
            return []
        if self.queue_length >= QUEUE_MAX_FRAMES:
            self.dropped_frames += max(1, len(payload) // ofs)
            return []
        events: list[str] = []
        data = payload
        if self.bulk_media and self._leftover:
            need = ofs - len(self._leftover)
            self._leftover += data[:need]
            data = data[need:]
            if len(self._leftover) < ofs:
                return events
            self._enqueue(self._leftover, events)
            self._leftover = b""
        if not self.bulk_media:
            self._leftover = b""
        whole = len(data) - len(data) % ofs
        for i in range(0, whole, ofs):
            self._enqueue(data[i : i + ofs], events)
        if whole < len(data):
            if self.bulk_media:
                self._leftover = data[whole:]
            else:
                self.dropped_frames += 1
        return events

    def _enqueue(self, frame: bytes, events: list[str]) -> None:
        self._queue.append(frame)
        self.queue_length += 1
        if not self.queue_full and self.queue_length >= XOFF_FRAMES:
            self.queue_full = True
            events.append(self._event(Xoff(self.start.channel_id)))

    def tick(self) -> TickOutput:
        """One ptime of playout (``webchan_read`` on the timer fd)."""
        events: list[str] = []
        frame = None if self.paused else self._dequeue(events)
        if frame is None and self._leftover:
            frame, self._leftover = self._leftover, b""
        return TickOutput(frame, tuple(events))

    def _dequeue(self, events: list[str]) -> bytes | None:
        cid = self.start.channel_id
        if self.queue_full and self.queue_length < XON_FRAMES:
            self.queue_full = False
            events.append(self._event(Xon(cid)))
        if not self._queue:
            if self.report_queue_drained:
                self.report_queue_drained = False
                events.append(self._event(QueueDrained(cid)))
            return None
        while self._queue and isinstance(self._queue[0], str):
            events.append(str(self._queue.popleft()))
        if not self._queue:
            return None
        self.queue_length -= 1
        frame = self._queue.popleft()
        assert isinstance(frame, bytes)
        return frame

    def receive_text(self, text: str, *, masked: bool = True) -> tuple[Command | None, list[str]]:
        """Apply one command; returns it (None if ignored) and the events to send now."""
        check_frame_size(len(text.encode()), masked=masked)
        try:
            command = parse_command(text, self.format)
        except MalformedMessage as exc:
            return None, [self._error(str(exc))]
        if command is None:
            return None, []
        return command, self._apply(command)

    def _apply(self, cmd: Command) -> list[str]:
        name, cid = cmd.name, self.start.channel_id
        if name in _AUDIO_COMMANDS and self.media_direction == "in":
            return [self._error(f"{name} not supported while media direction is 'in'")]
        events: list[str] = []
        if name == CommandName.ANSWER:
            self.answered = True
        elif name == CommandName.HANGUP:
            self.hangup_requested = True
        elif name == CommandName.START_MEDIA_BUFFERING:
            self.bulk_media = True
        elif name == CommandName.STOP_MEDIA_BUFFERING:
            self.bulk_media = False
            if self._leftover:
                self._enqueue(self._leftover, events)  # the partial frame is played as is
            self._leftover = b""
            self._queue.append(self._event(BufferingCompleted(cmd.correlation_id or "", cid)))
        elif name == CommandName.MARK_MEDIA:
            self._queue.append(self._event(MarkProcessed(cmd.correlation_id or "", cid)))
        elif name == CommandName.FLUSH_MEDIA:
            self._queue.clear()  # marks queued before the flush are dropped with the audio
            self.queue_length = 0
            self.bulk_media = False
            self._leftover = b""
        elif name == CommandName.REPORT_QUEUE_DRAINED:
            self.report_queue_drained = True
        elif name == CommandName.GET_STATUS:
            events.append(self._event(self.status()))
        elif name in (CommandName.PAUSE_MEDIA, CommandName.CONTINUE_MEDIA):
            self.paused = name == CommandName.PAUSE_MEDIA
        elif name == CommandName.SET_MEDIA_DIRECTION:
            events.extend(self._set_direction(cmd))
        return events  # unknown commands: ignored, as Asterisk does (it only logs)

    def _set_direction(self, cmd: Command) -> list[str]:
        name = CommandName.SET_MEDIA_DIRECTION.value
        if self.format is not ControlFormat.JSON:
            return [self._error(f"{name} only supports JSON format.\n")]
        if cmd.direction is None:
            return [self._error(f"{name} requires a 'direction' parameter.\n")]
        if cmd.direction not in ("both", "in", "out"):
            return [self._error(f"'{cmd.direction}' is not a valid direction for {name}.\n")]
        self.media_direction = cmd.direction
        return []

    def status(self) -> Status:
        return Status(
            channel_id=self.start.channel_id,
            queue_length=self.queue_length,
            xon_level=XON_FRAMES,
            xoff_level=XOFF_FRAMES,
            queue_full=self.queue_full,
            bulk_media=self.bulk_media,
            media_paused=self.paused,
        )

"""AudioSocket media edge: a TCP server Asterisk dials into, one connection per call.

Framing lives in :mod:`callbot.protocols.audiosocket`; this module only moves bytes and
keeps time. Unlike chan_websocket, Asterisk neither buffers nor paces what the app sends
(``app_audiosocket.c`` writes each received frame straight to the channel) and the
dialplan application hangs up after 2 s without a frame in either direction. So a pacer
sends exactly one 20 ms frame per tick, on a monotonic schedule, with silence when the
bot has nothing to say. AudioSocket has no marks on the wire: the pacer reports
:class:`MarkPlayed` itself once every frame queued before the mark has been sent.

The call's rate comes from the kind of Asterisk's first audio frame (``0x10`` slin,
``0x12`` slin16...). Asterisk before 20.17, 21.12, 22.7 and 23.1 labels every rate ``0x10``
and reads everything back as 8 kHz: use plain slin with those.

Error mapping (one place): a malformed frame from Asterisk ends that call with a hang-up
frame; a failing handler ends that call; neither ever stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from callbot.audio.convert import InboundConverter, OutboundConverter
from callbot.audio.formats import FRAME_MS, AudioFormat, Codec
from callbot.errors import AudioSocketError, ConfigError, PortUnavailable
from callbot.media.types import (
    CallEnded,
    CallerAudio,
    CallerDtmf,
    CallHandler,
    CallInfo,
    InboundEvent,
    MarkPlayed,
)
from callbot.observability.throttle import ThrottledWarning
from callbot.protocols.audiosocket import (
    AUDIO_KIND_BY_RATE_HZ,
    MAX_PAYLOAD_BYTES,
    Audio,
    CallUuid,
    Direction,
    Dtmf,
    Error,
    Event,
    FrameParser,
    Hangup,
    encode_audio,
    encode_hangup,
)

logger = logging.getLogger(__name__)

_READ_BYTES = 65_536
_FRAME_S = FRAME_MS / 1000
UNSTARTED = ThrottledWarning(logger, "AudioSocket connection(s) closed before a call started")
"""Connections that never sent a call UUID (probes, stuck peers): one INFO line each, one
WARNING a minute at most."""


@dataclass(frozen=True, slots=True)
class AudioSocketSettings:
    """Where to listen and how patient to be. Example: ``AudioSocketSettings(port=9092)``."""

    host: str = "127.0.0.1"
    port: int = 9092
    uuid_timeout_s: float = 2.0
    """A connection that has not sent its call UUID by then is dropped."""
    first_audio_timeout_s: float = 0.5
    """How long to wait for the caller's first frame, whose kind gives the call's rate.
    Keep well under 2 s: the dialplan app hangs up when neither side sends anything."""
    default_sample_rate_hz: int = 8000
    """Rate assumed when no caller audio arrives in time (the dialplan app's slin)."""
    max_frame_bytes: int = MAX_PAYLOAD_BYTES
    """Largest payload accepted from Asterisk; a larger frame ends the call."""
    handler_drain_timeout_s: float = 5.0
    """Time a handler gets to return after :class:`CallEnded` before it is cancelled."""
    max_late_frames: int = 5
    """After an event-loop stall longer than this, the pacer re-anchors its clock
    instead of bursting the missed frames."""

    def __post_init__(self) -> None:
        if self.default_sample_rate_hz not in AUDIO_KIND_BY_RATE_HZ:
            raise ConfigError(f"AudioSocket cannot carry {self.default_sample_rate_hz} Hz")
        if not 1 <= self.max_frame_bytes <= MAX_PAYLOAD_BYTES:
            raise ConfigError(f"max_frame_bytes must be in 1..{MAX_PAYLOAD_BYTES}")
        timeouts = (self.uuid_timeout_s, self.first_audio_timeout_s, self.handler_drain_timeout_s)
        if min(timeouts) <= 0 or self.max_late_frames < 1:
            raise ConfigError("AudioSocket timeouts and max_late_frames must be positive")


@dataclass(frozen=True, slots=True)
class _Mark:
    mark_id: str


class PlayoutQueue:
    """Bot audio waiting for the pacer, with marks between chunks. Pure: no I/O, no clock."""

    def __init__(self, frame_bytes: int) -> None:
        self.frame_bytes = frame_bytes
        self._items: deque[bytes | _Mark] = deque()
        self._head_offset = 0

    @property
    def queued_bytes(self) -> int:
        total = sum(len(item) for item in self._items if isinstance(item, bytes))
        return total - self._head_offset

    def push_audio(self, data: bytes) -> None:
        if data:
            self._items.append(data)

    def push_mark(self, mark_id: str) -> None:
        self._items.append(_Mark(mark_id))

    def clear(self) -> None:
        """Barge-in: drop all audio and, like chan_websocket's FLUSH_MEDIA, pending marks."""
        self._items.clear()
        self._head_offset = 0

    def next_frame(self) -> tuple[bytes, bool, list[str]]:
        """One frame of queued audio padded with silence, whether it carried any bot audio,
        and the marks whose preceding audio is all in this frame or earlier ones."""
        out = bytearray()
        marks: list[str] = []
        while self._items:
            head = self._items[0]
            if isinstance(head, _Mark):
                marks.append(head.mark_id)
                self._items.popleft()
                continue
            if len(out) == self.frame_bytes:
                break
            take = head[self._head_offset : self._head_offset + self.frame_bytes - len(out)]
            out += take
            self._head_offset += len(take)
            if self._head_offset == len(head):
                self._items.popleft()
                self._head_offset = 0
        had_audio = bool(out)
        out += bytes(self.frame_bytes - len(out))
        return bytes(out), had_audio, marks


class _AudioSocketCall:
    """One call after its UUID: the :class:`MediaSink` given to the handler, plus its pacer."""

    def __init__(
        self,
        info: CallInfo,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: FrameParser,
        settings: AudioSocketSettings,
    ) -> None:
        self.info = info
        self.inbound: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self._reader, self._writer, self._parser = reader, writer, parser
        self._settings = settings
        self._outbound = OutboundConverter(info.media_format)
        self._inbound_converter = InboundConverter(info.media_format)
        self._playout = PlayoutQueue(info.media_format.frame_bytes)
        self._wire_up = True
        self._ended = asyncio.Event()

    # -- MediaSink ---------------------------------------------------------------------
    @property
    def format(self) -> AudioFormat:
        return self.info.media_format

    async def send_audio(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        if self._wire_up and pcm.size:
            self._playout.push_audio(self._outbound.convert(pcm, sample_rate_hz))

    async def flush(self) -> None:
        self._playout.clear()

    async def mark(self, mark_id: str) -> None:
        self._playout.push_mark(mark_id)

    async def hangup(self) -> None:
        self._close_wire(send_hangup=True)
        self._end("hung up by the bot", by="bot")

    # -- lifecycle ---------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Polite end (server stopping): the handler sees CallEnded, the line stays paced
        until it returns or its drain time is up, then Asterisk gets a hang-up frame."""
        self._end(reason, by="bot")

    async def run(self, handler: CallHandler, early_events: list[Event]) -> None:
        for event in early_events:
            self._deliver(event)
        workers = [asyncio.create_task(self._pace()), asyncio.create_task(self._read_loop())]
        handler_task = asyncio.create_task(self._run_handler(handler))
        ended = asyncio.create_task(self._ended.wait())
        try:
            await asyncio.wait({handler_task, ended}, return_when=asyncio.FIRST_COMPLETED)
            if not handler_task.done():
                await self._drain(handler_task)
            self._close_wire(send_hangup=True)
        finally:
            for task in (*workers, handler_task, ended):
                task.cancel()
            await asyncio.gather(*workers, handler_task, ended, return_exceptions=True)

    async def _run_handler(self, handler: CallHandler) -> None:
        try:
            await handler(self.info, self.inbound, self)
        except Exception:
            logger.exception("call %s: handler failed; ending the call", self.info.call_id)

    async def _drain(self, handler_task: asyncio.Task[None]) -> None:
        timeout_s = self._settings.handler_drain_timeout_s
        done, _ = await asyncio.wait({handler_task}, timeout=timeout_s)
        if not done:
            logger.warning(
                "call %s: handler still running %.1f s after the call ended; cancelling it",
                self.info.call_id,
                timeout_s,
            )
            handler_task.cancel()

    def _end(self, reason: str, *, by: str = "caller", protocol_error: bool = False) -> None:
        if not self._ended.is_set():
            logger.info("call %s: ended (%s)", self.info.call_id, reason)
            self._ended.set()
            self.inbound.put_nowait(CallEnded(reason, by, protocol_error))

    def _close_wire(self, send_hangup: bool) -> None:
        if not self._wire_up:
            return
        self._wire_up = False
        if send_hangup and not self._writer.is_closing():
            self._writer.write(encode_hangup())
        self._writer.close()

    # -- wire --------------------------------------------------------------------------
    async def _read_loop(self) -> None:
        try:
            while self._wire_up:
                data = await self._reader.read(_READ_BYTES)
                if not data:
                    self._close_wire(send_hangup=False)
                    self._end("Asterisk closed the socket (caller hung up)")
                    return
                for event in self._parser.feed(data):
                    self._deliver(event)
        except AudioSocketError as exc:
            logger.warning("call %s: malformed frame from Asterisk: %s", self.info.call_id, exc)
            self._close_wire(send_hangup=True)
            self._end(f"protocol error: {exc}", by="bot", protocol_error=True)
        except OSError as exc:
            self._close_wire(send_hangup=False)
            self._end(f"connection lost: {exc}", by="asterisk")

    def _deliver(self, event: Event) -> None:
        if isinstance(event, Audio):
            if event.sample_rate_hz != self._inbound_converter.format.sample_rate_hz:
                logger.warning(
                    "call %s: caller audio changed to %d Hz",
                    self.info.call_id,
                    event.sample_rate_hz,
                )
                fmt = AudioFormat(Codec.SLIN, event.sample_rate_hz)
                self._inbound_converter = InboundConverter(fmt)
            pcm = self._inbound_converter.convert(event.payload)
            if pcm.size:
                self.inbound.put_nowait(CallerAudio(pcm))
        elif isinstance(event, Dtmf):
            self.inbound.put_nowait(CallerDtmf(event.digit))
        elif isinstance(event, Hangup | Error):
            detail = "hang-up frame" if isinstance(event, Hangup) else f"error code {event.code}"
            self._close_wire(send_hangup=False)
            self._end(f"Asterisk sent {detail}")

    async def _pace(self) -> None:
        """One frame per 20 ms tick; deadlines are ``start + n * 20 ms`` so no drift builds up."""
        loop = asyncio.get_running_loop()
        rate_hz = self.info.media_format.sample_rate_hz
        start, tick = loop.time(), 0
        while self._wire_up:
            late_s = loop.time() - (start + tick * _FRAME_S)
            if late_s < 0:
                await asyncio.sleep(-late_s)
            elif late_s > self._settings.max_late_frames * _FRAME_S:
                logger.debug(
                    "call %s: pacer %.0f ms late; re-anchoring", self.info.call_id, late_s * 1000
                )
                start, tick = loop.time(), 0
            if not self._wire_up:
                return
            payload, _, marks = self._playout.next_frame()
            if self._writer.is_closing():  # Asterisk left; the read loop reports why
                return
            self._writer.write(encode_audio(payload, rate_hz))
            tick += 1
            for mark_id in marks:  # sent is played: Asterisk plays frames as they come
                self.inbound.put_nowait(MarkPlayed(mark_id, by_line=False))
            try:
                await self._writer.drain()
            except OSError as exc:
                self._close_wire(send_hangup=False)
                self._end(f"connection lost: {exc}", by="asterisk")


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and runs ``handler`` once per call."""

    def __init__(self, handler: CallHandler, settings: AudioSocketSettings) -> None:
        self._handler = handler
        self._settings = settings
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], _AudioSocketCall | None] = {}

    @property
    def active_calls(self) -> int:
        return sum(call is not None for call in self._connections.values())

    async def start(self) -> tuple[str, int]:
        """Listen; returns the bound ``(host, port)`` (useful with ``port=0``)."""
        host, port = self._settings.host, self._settings.port
        try:
            self._server = await asyncio.start_server(self._on_connection, host, port)
        except OSError as exc:
            raise PortUnavailable(host, port, exc) from None
        host, port = self._server.sockets[0].getsockname()[:2]
        logger.info("AudioSocket server listening on %s:%d", host, port)
        return str(host), int(port)

    async def stop(self) -> None:
        """Stop accepting, end every call politely, and wait for their handlers."""
        if self._server is None:
            return
        self._server.close()
        for task, call in list(self._connections.items()):
            if call is None:
                task.cancel()  # still in its handshake: nothing to be polite to
            else:
                call.request_stop("server stopping")
        tasks = list(self._connections)
        if tasks:
            _, pending = await asyncio.wait(
                tasks, timeout=self._settings.handler_drain_timeout_s + 2
            )
            for task in pending:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = None
        peer = writer.get_extra_info("peername")
        try:
            await self._serve(task, reader, writer, peer)
        except Exception:
            logger.exception("AudioSocket connection from %s failed", peer)
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve(
        self,
        task: asyncio.Task[None],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: object,
    ) -> None:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as Asterisk does
        parser = FrameParser(Direction.FROM_ASTERISK, self._settings.max_frame_bytes)
        try:
            events = await _read_call_uuid(reader, parser, self._settings.uuid_timeout_s)
            rate_hz = await _probe_rate_hz(reader, parser, events, self._settings)
        except (TimeoutError, ConnectionError, AudioSocketError) as exc:
            UNSTARTED.note(
                "call %s: AudioSocket connection from %s dropped before the call started: %s",
                parser.call_uuid or "(no uuid yet)",
                peer,
                _reason(exc, self._settings),
            )
            if isinstance(exc, AudioSocketError):
                writer.write(encode_hangup())
            return
        call_id = str(parser.call_uuid)
        info = CallInfo(call_id, "audiosocket", AudioFormat(Codec.SLIN, rate_hz))
        logger.info("call %s: AudioSocket call from %s, slin %d Hz", call_id, peer, rate_hz)
        call = _AudioSocketCall(info, reader, writer, parser, self._settings)
        self._connections[task] = call
        await call.run(self._handler, events[1:])


def _reason(exc: Exception, settings: AudioSocketSettings) -> str:
    """Why a connection never became a call, never empty (``str(TimeoutError())`` is)."""
    if isinstance(exc, TimeoutError):
        return f"no call UUID within {settings.uuid_timeout_s:g} s"
    return str(exc) or type(exc).__name__


async def _read_call_uuid(
    reader: asyncio.StreamReader, parser: FrameParser, timeout_s: float
) -> list[Event]:
    """Events up to and including the call UUID frame (the parser insists it is first)."""
    async with asyncio.timeout(timeout_s):
        while True:
            data = await reader.read(_READ_BYTES)
            if not data:
                raise ConnectionError("socket closed before the call UUID")
            events = parser.feed(data)
            if events and isinstance(events[0], CallUuid):
                return events
            if events:
                raise ConnectionError(f"{type(events[0]).__name__} before the call UUID")


async def _probe_rate_hz(
    reader: asyncio.StreamReader,
    parser: FrameParser,
    events: list[Event],
    settings: AudioSocketSettings,
) -> int:
    """Rate of the first caller frame (its kind says it), appending what is read to ``events``."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(settings.first_audio_timeout_s):
            while not any(isinstance(e, Audio | Hangup | Error) for e in events):
                data = await reader.read(_READ_BYTES)
                if not data:
                    break  # the call loop sees the EOF again and ends the call
                events += parser.feed(data)
    audio = next((e for e in events if isinstance(e, Audio)), None)
    return audio.sample_rate_hz if audio else settings.default_sample_rate_hz

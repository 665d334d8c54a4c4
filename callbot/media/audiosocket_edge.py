"""AudioSocket media edge: a TCP server Asterisk dials into, one connection per call.

Framing lives in :mod:`callbot.protocols.audiosocket`; this module only moves bytes and
keeps time. Unlike chan_websocket, Asterisk neither buffers nor paces what the app sends
(``app_audiosocket.c`` writes each received frame straight to the channel) and the
dialplan application hangs up after 2 s without a frame in either direction. So a pacer
sends exactly one 20 ms frame per tick (:mod:`callbot.media.pacing`), with silence when
the bot has nothing to say. AudioSocket has no marks on the wire: the pacer reports
:class:`MarkPlayed` itself once every frame queued before the mark has been sent.

The call's rate comes from the kind of Asterisk's first audio frame (``0x10`` slin,
``0x12`` slin16...). Asterisk before 20.17, 21.12, 22.7 and 23.1 labels every rate ``0x10``
and reads everything back as 8 kHz: use plain slin with those.

After the handshake (call UUID, rate) the call runs in a
:class:`~callbot.media.session.MediaSession`, as on chan_websocket: the same inbound
queue bound, gap-fill, drain and end. A malformed frame from Asterisk ends that call with
a hang-up frame; a failing handler ends that call the same way; neither stops the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from callbot.audio.convert import OutboundConverter
from callbot.audio.formats import AudioFormat, Codec
from callbot.errors import AudioSocketError, ConfigError, PortUnavailable
from callbot.logs import bind_call_id
from callbot.media.clock import SYSTEM_CLOCK, Clock
from callbot.media.pacing import FrameTicker, PlayoutQueue
from callbot.media.session import MediaSession, SessionSettings
from callbot.media.types import CallerDtmf, CallHandler, CallInfo, MarkPlayed
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
    HangupMessage,
    encode_audio,
    encode_hangup,
)

logger = logging.getLogger(__name__)

_READ_BYTES = 65_536
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
    max_late_frames: int = 5
    """After an event-loop stall longer than this, the pacer re-anchors its clock
    instead of bursting the missed frames."""
    session: SessionSettings = field(default_factory=SessionSettings)
    """Inbound queue bound, gap-fill and drain: the same as every edge's."""

    def __post_init__(self) -> None:
        if self.default_sample_rate_hz not in AUDIO_KIND_BY_RATE_HZ:
            raise ConfigError(f"AudioSocket cannot carry {self.default_sample_rate_hz} Hz")
        if not 1 <= self.max_frame_bytes <= MAX_PAYLOAD_BYTES:
            raise ConfigError(f"max_frame_bytes must be in 1..{MAX_PAYLOAD_BYTES}")
        timeouts = (self.uuid_timeout_s, self.first_audio_timeout_s)
        if min(timeouts) <= 0 or self.max_late_frames < 1:
            raise ConfigError("AudioSocket timeouts and max_late_frames must be positive")


class _AudioSocketCall:
    """One call after its UUID: the handler's :class:`MediaSink`, the session's
    :class:`~callbot.media.session.Line`, and its pacer."""

    def __init__(
        self,
        info: CallInfo,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        parser: FrameParser,
        settings: AudioSocketSettings,
        clock: Clock,
    ) -> None:
        self.info = info
        self.session = MediaSession(info, settings.session, clock=clock)
        self._reader, self._writer, self._parser = reader, writer, parser
        self._settings = settings
        self._clock = clock
        self._outbound = OutboundConverter(info.media_format)
        self._playout = PlayoutQueue(info.media_format.frame_bytes)
        self._wire_up = True

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
        self.session.end("hung up by the bot", by="bot")

    # -- lifecycle ---------------------------------------------------------------------
    def request_stop(self, reason: str) -> None:
        """Polite end (server stopping): the handler sees CallEnded, the line stays paced
        until it returns or its drain time is up, then Asterisk gets a hang-up frame."""
        self.session.end(reason, by="bot")

    async def run(self, handler: CallHandler, early_events: list[Event]) -> None:
        for event in early_events:
            self._deliver(event)
        await self.session.run(handler, self, self, self._pace())

    async def hang_up(self, *, failed: bool) -> None:
        """The bot's end of the call: the hang-up frame, then close (AudioSocket has no
        close code to carry ``failed``: the session logged the failure)."""
        self._close_wire(send_hangup=True)

    def _close_wire(self, send_hangup: bool) -> None:
        if not self._wire_up:
            return
        self._wire_up = False
        if send_hangup and not self._writer.is_closing():
            self._writer.write(encode_hangup())
        self._writer.close()

    # -- wire --------------------------------------------------------------------------
    async def read(self) -> None:
        end = self.session.end
        try:
            while self._wire_up:
                data = await self._reader.read(_READ_BYTES)
                if not data:
                    self._close_wire(send_hangup=False)
                    end("Asterisk closed the socket (caller hung up)")
                    return
                for event in self._parser.feed(data):
                    self._deliver(event)
        except AudioSocketError as exc:
            logger.warning("malformed frame from Asterisk: %s", exc)
            self._close_wire(send_hangup=True)
            end(f"protocol error: {exc}", by="bot", protocol_error=True)
        except OSError as exc:
            self._close_wire(send_hangup=False)
            end(f"connection lost: {exc}", by="asterisk")

    def _deliver(self, event: Event) -> None:
        if isinstance(event, Audio):
            if event.sample_rate_hz != self.session.caller_format.sample_rate_hz:
                logger.warning("caller audio changed to %d Hz", event.sample_rate_hz)
                self.session.set_caller_format(AudioFormat(Codec.SLIN, event.sample_rate_hz))
            self.session.caller_audio(event.payload)
        elif isinstance(event, Dtmf):
            self.session.put(CallerDtmf(event.digit))
        elif isinstance(event, HangupMessage):
            self._close_wire(send_hangup=False)
            self.session.end("Asterisk sent hang-up frame")
        elif isinstance(event, Error):
            self._close_wire(send_hangup=False)
            self.session.end(f"Asterisk sent error code {event.code}")

    async def _pace(self) -> None:
        """One frame per 20 ms tick (:class:`~callbot.media.pacing.FrameTicker`)."""
        rate_hz = self.info.media_format.sample_rate_hz
        ticker = FrameTicker(self._clock, max_late_frames=self._settings.max_late_frames)
        while self._wire_up:
            late_s = await ticker.next_frame()
            if late_s:
                logger.debug("pacer %.0f ms late; re-anchoring", late_s * 1000)
            if not self._wire_up:
                return
            payload, _, marks = self._playout.next_frame()
            if self._writer.is_closing():  # Asterisk left; the read loop reports why
                return
            self._writer.write(encode_audio(payload, rate_hz))
            for mark_id in marks:  # sent is played: Asterisk plays frames as they come
                self.session.put(MarkPlayed(mark_id, by_line=False))
            try:
                await self._writer.drain()
            except OSError as exc:
                self._close_wire(send_hangup=False)
                self.session.end(f"connection lost: {exc}", by="asterisk")


class AudioSocketServer:
    """Accepts Asterisk's AudioSocket connections and runs ``handler`` once per call."""

    def __init__(
        self, handler: CallHandler, settings: AudioSocketSettings, clock: Clock = SYSTEM_CLOCK
    ) -> None:
        self._handler = handler
        self._settings = settings
        self._clock = clock
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
                tasks, timeout=self._settings.session.handler_drain_timeout_s + 2
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
                "AudioSocket connection from %s dropped before the call started: %s",
                peer,
                _reason(exc, self._settings),
                call_id=None if parser.call_uuid is None else str(parser.call_uuid),
            )
            if isinstance(exc, AudioSocketError):
                writer.write(encode_hangup())
            return
        call_id = str(parser.call_uuid)
        bind_call_id(call_id)  # this task is the call's from here on
        info = CallInfo(call_id, "audiosocket", AudioFormat(Codec.SLIN, rate_hz))
        logger.info("AudioSocket call from %s, slin %d Hz", peer, rate_hz)
        call = _AudioSocketCall(info, reader, writer, parser, self._settings, self._clock)
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
            while not any(isinstance(e, Audio | HangupMessage | Error) for e in events):
                data = await reader.read(_READ_BYTES)
                if not data:
                    break  # the call loop sees the EOF again and ends the call
                events += parser.feed(data)
    audio = next((e for e in events if isinstance(e, Audio)), None)
    return audio.sample_rate_hz if audio else settings.default_sample_rate_hz

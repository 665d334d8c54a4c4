"""The chan_websocket media edge: one websocket is one call.

Two ways in (see asterisk.md section 1):

* :func:`serve_call`: Asterisk dials out to us (``Dial(WebSocket/<conn>/c(slin16)v(call_id=..))``
  or ARI externalMedia ``connection_type=client``); mounted on a Starlette/FastAPI route;
* :func:`dial_in`: we connect to Asterisk's ``ws://host:8088/media/<connection_id>``.

Which call a connection is (call id, caller number) is decided by
:mod:`callbot.media.call_identity` once MEDIA_START is in: ARI mode trusts only the channel
variables callbot set, direct mode checks the query's id against the ids already given out
(:class:`~callbot.media.call_identity.CallIdRegistry`, one per process).

Both adapt their socket to :class:`_Transport` so that the call logic (:class:`_Call`) is
written once over :class:`~callbot.protocols.chan_websocket.AppConnection`. Protocol errors
are mapped to close codes by the exceptions' ``close_code`` (defined with them in
:mod:`callbot.protocols.chan_websocket`); a protocol error or a failing handler ends that
call only, never the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import numpy.typing as npt
from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from callbot.audio.convert import InboundConverter, OutboundConverter
from callbot.audio.formats import AudioFormat
from callbot.errors import CallError, ChanWebsocketError
from callbot.logs import for_log
from callbot.media.call_identity import CALL_ID_PARAM, CallIdRegistry, resolve
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
from callbot.protocols import chan_websocket as cw
from callbot.security.exposure import media_auth_ok

logger = logging.getLogger(__name__)

SUBPROTOCOL = "media"
PROTOCOL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1009})
"""Close codes that mean the protocol was broken (RFC 6455 section 7.4.1: protocol error,
unacceptable data, invalid payload, message too big): the call ends as ``protocol_error``."""
UNSTARTED = ThrottledWarning(logger, "media websocket(s) closed before a call started")
"""Connections that never sent a usable MEDIA_START (probes, stuck peers): one INFO line
each, one WARNING a minute at most (one per connection flooded the log under a probe)."""
_NOT_CALL_DATA = frozenset({"token"})
"""Query parameters that are credentials, never handed to the call as variables."""


@dataclass(frozen=True, slots=True)
class ChanWebsocketSettings:
    """How the edge runs a call. Durations in seconds."""

    control_format: cw.ControlFormat | None = None
    """Force the command format; None follows Asterisk's (plain until a JSON event)."""
    start_timeout_s: float = 5.0
    """How long to wait for MEDIA_START before closing (1002)."""
    handler_drain_timeout_s: float = 2.0
    """After the caller hung up, how long the handler may take to finish before cancel."""
    max_chunk_ms: int = 500
    """Largest bot audio message (whole 20 ms frames, always under 65,535 bytes)."""
    max_lead_s: float = 10.0
    """How far bot audio may run ahead of playout (Asterisk paces; MEDIA_XOFF is at 18 s)."""
    inbound_queue_max: int = 1500
    """Inbound events kept for a slow handler (~30 s of caller audio), then audio is dropped."""
    close_timeout_s: float = 2.0
    username: str | None = None
    """If set, require HTTP Basic auth (websocket_client.conf ``username``/``password``)."""
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    """If set, ``/media?token=...`` is accepted too (the browser softphone cannot send
    Basic auth on a websocket)."""


class _Transport:
    """The little a call needs from a websocket; sends after close are no-ops."""

    def __init__(self) -> None:
        self.close_code: int | None = None
        self.closed = False
        self._send_lock = asyncio.Lock()

    @property
    def protocol_closer(self) -> str:
        """Who closed a connection with a protocol-error code: ``bot`` or ``asterisk``.

        Behind uvicorn the close code is all we get; it is ours: uvicorn fails the
        connection itself on an oversize message (``ws_max_size``), a malformed frame or bad
        UTF-8. Asterisk would only close so if callbot broke the protocol first (a message
        over 65,535 bytes), which the chunker rules out."""
        return "bot"

    async def receive(self) -> str | bytes | None:
        """Next message, or None once the socket is closed (``close_code`` then set)."""
        raise NotImplementedError

    async def _send(self, data: str | bytes) -> None:
        raise NotImplementedError

    async def _close(self, code: int, reason: str) -> None:
        raise NotImplementedError

    async def send(self, data: str | bytes) -> bool:
        if self.closed:
            return False
        async with self._send_lock:
            try:
                await self._send(data)
            except Exception:  # the peer went away under us; the reader sees the close
                self.closed = True
                return False
        return True

    async def close(self, code: int, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self.close_code = code
        with contextlib.suppress(Exception):
            await self._close(code, reason)


class _StarletteTransport(_Transport):
    def __init__(self, ws: WebSocket) -> None:
        super().__init__()
        self._ws = ws

    async def receive(self) -> str | bytes | None:
        if self.closed:
            return None
        try:
            message = await self._ws.receive()
        except Exception:
            message = {"type": "websocket.disconnect", "code": 1006}
        if message["type"] == "websocket.disconnect":
            self.closed = True
            self.close_code = self.close_code or int(message.get("code") or 1005)
            return None
        if message.get("bytes") is not None:
            return bytes(message["bytes"])
        return str(message.get("text") or "")

    async def _send(self, data: str | bytes) -> None:
        if isinstance(data, bytes):
            await self._ws.send_bytes(data)
        else:
            await self._ws.send_text(data)

    async def _close(self, code: int, reason: str) -> None:
        await self._ws.close(code, reason)


class _WebsocketsTransport(_Transport):
    def __init__(self, conn: ClientConnection) -> None:
        super().__init__()
        self._conn = conn
        self._asterisk_closed_first = False

    @property
    def protocol_closer(self) -> str:
        return "asterisk" if self._asterisk_closed_first else "bot"

    async def receive(self) -> str | bytes | None:
        try:
            return await self._conn.recv()
        except ConnectionClosed as exc:
            self.closed = True
            if exc.rcvd is not None:
                self._asterisk_closed_first = exc.sent is None or bool(exc.rcvd_then_sent)
            if self.close_code is None:
                sent_code = exc.sent.code if exc.sent else 1006
                self.close_code = exc.rcvd.code if exc.rcvd else sent_code
            return None

    async def _send(self, data: str | bytes) -> None:
        await self._conn.send(data)

    async def _close(self, code: int, reason: str) -> None:
        await self._conn.close(code, reason)


async def serve_call(
    ws: WebSocket,
    handler: CallHandler,
    settings: ChanWebsocketSettings,
    *,
    call_ids: CallIdRegistry,
) -> None:
    """Run one call Asterisk dialled out to us, on a Starlette/FastAPI websocket route.

    ``call_ids`` is the process's registry of ids given out (one for every edge)."""
    query = dict(ws.query_params)
    label = for_log(query.get(CALL_ID_PARAM, "?"))
    authorized = media_auth_ok(
        ws.headers.get("authorization"),
        ws.query_params.get("token"),
        username=settings.username,
        password=settings.password,
        token=settings.token,
    )
    if not authorized:
        logger.warning("call %s: websocket refused: bad or missing credentials", label)
        await ws.close(code=1008)  # before accept: the client gets HTTP 403
        return
    offered = ws.scope.get("subprotocols") or []
    try:
        await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        await _Call(_StarletteTransport(ws), settings, query, call_ids).run(handler)
    except Exception:  # a bug or a socket torn down mid-accept: this call only
        logger.exception("call %s: media edge failed", label)


async def dial_in(
    url: str,
    handler: CallHandler,
    settings: ChanWebsocketSettings,
    *,
    call_ids: CallIdRegistry,
) -> None:
    """Connect to Asterisk's ``/media/<connection_id>`` (``WebSocket/INCOMING``); run the call."""
    query = dict(parse_qsl(urlsplit(url).query))
    try:
        conn = await connect(
            url,
            subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
            open_timeout=settings.start_timeout_s,
            close_timeout=settings.close_timeout_s,
            max_size=cw.MAX_EVENT_TEXT_BYTES * 16,
        )
    except Exception as exc:  # refused, 404 (unknown id), 409 (already connected), timeout
        raise CallError(f"cannot connect to {urlsplit(url).netloc}: {exc}") from exc
    async with conn:
        try:
            await _Call(_WebsocketsTransport(conn), settings, query, call_ids).run(handler)
        except Exception:
            logger.exception("call %s: media edge failed", for_log(query.get(CALL_ID_PARAM, "?")))


def _call_info(
    start: cw.MediaStart, fmt: AudioFormat, query: Mapping[str, str], call_ids: CallIdRegistry
) -> CallInfo:
    identity = resolve(
        channel_id=start.channel_id,
        variables=start.channel_variables,
        query=query,
        registry=call_ids,
    )
    variables = {k.lstrip("_"): v for k, v in start.channel_variables.items()}
    if identity.query_trusted:  # direct mode: the v() parameters are this call's
        variables.update((k, v) for k, v in query.items() if k not in _NOT_CALL_DATA)
    return CallInfo(
        call_id=identity.call_id,
        transport="chan_websocket",
        media_format=fmt,
        caller_number=identity.caller_number,
        channel_id=start.channel_id,
        variables=variables,
    )


class _Call:
    """One call over one transport; also the call's :class:`~callbot.media.types.MediaSink`."""

    def __init__(
        self,
        transport: _Transport,
        settings: ChanWebsocketSettings,
        query: Mapping[str, str],
        call_ids: CallIdRegistry,
    ) -> None:
        self._t = transport
        self._settings = settings
        self._query = query
        self._call_ids = call_ids
        self._conn = cw.AppConnection(settings.control_format)
        self._events: asyncio.Queue[InboundEvent] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._generation = 0  # bumped by flush(): sends of older audio stop
        self._clock = cw.PlayoutClock()
        self._ended = False
        self._audio_dropped = False
        self.call_id = for_log(query.get(CALL_ID_PARAM, "?"))
        """For log lines; the checked id once MEDIA_START is in."""

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, handler: CallHandler) -> None:
        try:
            start = await self._await_start()
        except ChanWebsocketError as exc:
            UNSTARTED.note("call %s: closed before the call started: %s", self.call_id, exc)
            await self._t.close(cw.close_code_for(exc) or 1002, type(exc).__name__)
            return
        if start is None:
            UNSTARTED.note("call %s: closed by the peer before MEDIA_START", self.call_id)
            return
        info = _call_info(start, self._format, self._query, self._call_ids)
        self.call_id = info.call_id
        logger.info(
            "call %s: started (%s, channel %s)",
            self.call_id,
            for_log(start.format_name),
            for_log(start.channel),
        )
        handler_task = asyncio.create_task(self._run_handler(handler, info))
        reader = asyncio.create_task(self._read_loop())
        try:
            await asyncio.wait({handler_task, reader}, return_when=asyncio.FIRST_COMPLETED)
            if handler_task.done():
                await self._end_by_bot(failed=handler_task.result())
            else:
                await self._drain(handler_task)
        finally:
            for task in (handler_task, reader):
                task.cancel()
            await asyncio.gather(handler_task, reader, return_exceptions=True)
            await self._t.close(cw.CLOSE_NORMAL)
            logger.info("call %s: ended", self.call_id)

    async def _await_start(self) -> cw.MediaStart | None:
        try:
            async with asyncio.timeout(self._settings.start_timeout_s):
                while (message := await self._t.receive()) is not None:
                    if isinstance(message, bytes):
                        continue  # media before MEDIA_START: nothing to decode it with
                    try:
                        event = self._conn.receive_text(message)
                    except cw.MalformedMessage as exc:
                        logger.warning("call %s: skipped control text: %s", self.call_id, exc)
                        continue
                    if isinstance(event, cw.MediaStart):
                        return self._check_start(event)
                return None
        except TimeoutError:
            raise cw.MissingMediaStart(
                f"no MEDIA_START within {self._settings.start_timeout_s:g} s"
            ) from None

    def _check_start(self, start: cw.MediaStart) -> cw.MediaStart:
        if start.media_format is None:
            raise cw.UnsupportedMedia(f"format {start.format_name!r} (ask for slin16 or ulaw)")
        if start.optimal_frame_size <= 0:
            raise cw.UnsupportedMedia("passthrough mode (dial option p) is not supported")
        self._format = start.media_format
        self._inbound = InboundConverter(self._format)
        self._outbound = OutboundConverter(self._format)
        self._chunker = cw.OutboundChunker(self._format, self._settings.max_chunk_ms)
        return start

    async def _run_handler(self, handler: CallHandler, info: CallInfo) -> bool:
        """Runs the handler; True if it failed (logged here, never raised to the server)."""
        try:
            await handler(info, self._events, self)
        except Exception:
            logger.exception("call %s: handler failed; ending the call", self.call_id)
            return True
        return False

    async def _end_by_bot(self, *, failed: bool) -> None:
        if self._t.closed:
            return
        await self._t.send(self._conn.command(cw.CommandName.HANGUP))
        code = cw.CLOSE_INTERNAL_ERROR if failed else cw.CLOSE_NORMAL
        await self._t.close(code, "handler failed" if failed else "")
        self._end("handler failed" if failed else "hangup by bot", by="bot")

    async def _drain(self, handler_task: asyncio.Task[bool]) -> None:
        """The caller side is gone: let the handler wrap up, within bounds."""
        try:
            async with asyncio.timeout(self._settings.handler_drain_timeout_s):
                await asyncio.shield(handler_task)
        except TimeoutError:
            logger.warning("call %s: handler still running after hang-up; cancelled", self.call_id)

    def _end(self, reason: str, *, by: str = "caller", protocol_error: bool = False) -> None:
        if not self._ended:
            self._ended = True
            self._events.put_nowait(CallEnded(reason, by, protocol_error))
            self._wake.set()

    # --- inbound ---------------------------------------------------------------------------

    async def _read_loop(self) -> None:
        while (message := await self._t.receive()) is not None:
            try:
                self._dispatch(message)
            except ChanWebsocketError as exc:
                code = cw.close_code_for(exc)
                if code is None:
                    logger.warning("call %s: skipped message: %s", self.call_id, exc)
                    continue
                logger.warning("call %s: closing (%d): %s", self.call_id, code, exc)
                await self._t.close(code, type(exc).__name__)
                self._end(f"protocol error: {exc}", by="bot", protocol_error=True)
                return
        code = self._t.close_code
        if code in PROTOCOL_CLOSE_CODES:
            closer = self._t.protocol_closer
            logger.warning("call %s: connection closed (%s) by %s", self.call_id, code, closer)
            self._end(f"protocol error: close {code} by {closer}", by=closer, protocol_error=True)
            return
        # 1000: Asterisk hung the channel up (the caller left, or its leg was ended);
        # anything else (1006: no close frame) is the connection failing under the call.
        self._end(f"closed by Asterisk ({code})", by="caller" if code == 1000 else "asterisk")

    def _dispatch(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            media = self._conn.receive_binary(message)
            if self._events.qsize() >= self._settings.inbound_queue_max:
                if not self._audio_dropped:
                    logger.warning("call %s: handler too slow, dropping caller audio", self.call_id)
                self._audio_dropped = True
                return
            pcm = self._inbound.convert(media.payload)
            if pcm.size:  # the resampler may hold a frame back
                self._events.put_nowait(CallerAudio(pcm))
            return
        event = self._conn.receive_text(message)
        if isinstance(event, cw.Dtmf):
            self._events.put_nowait(CallerDtmf(event.digit))
        elif isinstance(event, cw.MarkProcessed):
            self._events.put_nowait(MarkPlayed(event.correlation_id))
        elif isinstance(event, cw.Xon):
            self._wake.set()
        elif isinstance(event, cw.AsteriskError):
            logger.warning("call %s: Asterisk error: %s", self.call_id, event.error_text)
        elif isinstance(event, cw.UnknownEvent):
            logger.info("call %s: unknown event %s ignored", self.call_id, event.name[:40])
        else:
            logger.debug("call %s: %s", self.call_id, type(event).__name__)

    # --- MediaSink -------------------------------------------------------------------------

    @property
    def format(self) -> AudioFormat:
        return self._format

    async def send_audio(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        """Convert, cut into whole-frame messages, send as fast as XOFF and the lead allow."""
        if self._ended:
            return
        generation = self._generation
        for chunk in self._chunker.push(self._outbound.convert(pcm, sample_rate_hz)):
            if not await self._send_media(chunk, generation):
                return

    async def _send_media(self, chunk: bytes, generation: int) -> bool:
        while True:
            if self._ended or generation != self._generation:
                return False  # hung up, or flushed: the rest of this audio is dropped
            self._wake.clear()
            lead_over_s = self._clock.lead_s(time.monotonic()) - self._settings.max_lead_s
            if not self._conn.may_send:
                await self._wake.wait()  # MEDIA_XOFF: until MEDIA_XON, a flush or the end
            elif lead_over_s > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), lead_over_s)
            else:
                break
        self._clock.sent(len(chunk) / self._format.bytes_per_second, time.monotonic())
        return await self._t.send(chunk)

    async def flush(self) -> None:
        """Barge-in: FLUSH_MEDIA, and drop what is still waiting here.

        Asterisk drops marks queued before the flush with the audio: they never fire.
        """
        self._generation += 1
        self._chunker.clear()
        self._clock.reset()
        self._wake.set()
        if not self._ended:
            await self._t.send(self._conn.command(cw.CommandName.FLUSH_MEDIA))

    async def mark(self, mark_id: str) -> None:
        """MARK_MEDIA after the audio sent so far (its partial last frame padded first)."""
        command = self._conn.command(cw.CommandName.MARK_MEDIA, mark_id)
        if self._ended:
            return
        tail = self._chunker.finish()
        if tail and not await self._send_media(tail, self._generation):
            return
        await self._t.send(command)

    async def hangup(self) -> None:
        if self._ended:
            return
        await self._t.send(self._conn.command(cw.CommandName.HANGUP))
        await self._t.close(cw.CLOSE_NORMAL)
        self._end("hangup by bot", by="bot")

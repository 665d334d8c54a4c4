"""The chan_websocket media edge: one websocket is one call.

Two ways in (see asterisk.md section 1):

* :func:`serve_call`: Asterisk dials out to us (``Dial(WebSocket/<conn>/c(slin16)v(call_id=..))``
  or ARI externalMedia ``connection_type=client``); mounted on a Starlette/FastAPI route;
* :func:`dial_in`: we connect to Asterisk's ``ws://host:8088/media/<connection_id>``.

Which call a connection is (call id, caller number) is decided by
:mod:`callbot.media.call_identity` once MEDIA_START is in: ARI mode trusts only the channel
variables callbot set, direct mode checks the query's id against the ids already given out
(:class:`~callbot.media.call_identity.CallIdRegistry`, one per process).

Both adapt their socket to a :class:`~callbot.media.websocket_transport.Transport` so
that the call (:class:`_Call`) is written once over
:class:`~callbot.protocols.chan_websocket_app.AppConnection`. Once MEDIA_START is in, the
call runs in a :class:`~callbot.media.session.MediaSession`, as on AudioSocket (inbound
queue bound, gap-fill, drain, end); bot audio is paced by a
:class:`~callbot.media.pacing.LeadPacer`. Protocol errors are mapped to close codes in one
place (:func:`~callbot.protocols.chan_websocket.close_code_for`); a protocol error or a
failing handler (HANGUP, close 1011) ends that call only, never the server.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import numpy.typing as npt
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect

from callbot.audio.convert import OutboundConverter
from callbot.audio.formats import AudioFormat
from callbot.errors import CallError, ChanWebsocketError
from callbot.logs import bind_call_id, call_log, for_log
from callbot.media.call_identity import CALL_ID_PARAM, CallIdRegistry, resolve
from callbot.media.clock import SYSTEM_CLOCK, Clock
from callbot.media.pacing import LeadPacer
from callbot.media.session import MediaSession, SessionSettings
from callbot.media.types import CallerDtmf, CallHandler, CallInfo, MarkPlayed
from callbot.media.websocket_transport import StarletteTransport, Transport, WebsocketsTransport
from callbot.observability.throttle import ThrottledWarning
from callbot.protocols import chan_websocket as cw
from callbot.protocols.chan_websocket_app import AppConnection, OutboundChunker
from callbot.security.checks import media_auth_ok

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
    max_chunk_ms: int = 500
    """Largest bot audio message (whole 20 ms frames, always under 65,535 bytes)."""
    max_lead_s: float = 10.0
    """How far bot audio may run ahead of playout (Asterisk paces; MEDIA_XOFF is at 18 s)."""
    close_timeout_s: float = 2.0
    username: str | None = None
    """If set, require HTTP Basic auth (websocket_client.conf ``username``/``password``)."""
    password: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    """If set, ``/media?token=...`` is accepted too (the browser softphone cannot send
    Basic auth on a websocket)."""
    session: SessionSettings = field(default_factory=SessionSettings)
    """Inbound queue bound, gap-fill and drain: the same as every edge's."""


async def serve_call(
    ws: WebSocket,
    handler: CallHandler,
    settings: ChanWebsocketSettings,
    *,
    call_ids: CallIdRegistry,
    clock: Clock = SYSTEM_CLOCK,
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
        call_log(logger, label).warning("websocket refused: bad or missing credentials")
        await ws.close(code=1008)  # before accept: the client gets HTTP 403
        return
    offered = ws.scope.get("subprotocols") or []
    call = _Call(StarletteTransport(ws), settings, query, call_ids, clock)
    try:
        await ws.accept(subprotocol=SUBPROTOCOL if SUBPROTOCOL in offered else None)
        await call.run(handler)
    except Exception:  # a bug or a socket torn down mid-accept: this call only
        call_log(logger, call.call_id).exception("media edge failed")


async def dial_in(
    url: str,
    handler: CallHandler,
    settings: ChanWebsocketSettings,
    *,
    call_ids: CallIdRegistry,
    clock: Clock = SYSTEM_CLOCK,
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
        call = _Call(WebsocketsTransport(conn), settings, query, call_ids, clock)
        try:
            await call.run(handler)
        except Exception:
            call_log(logger, call.call_id).exception("media edge failed")


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
    """One call over one transport: the handler's :class:`~callbot.media.types.MediaSink`
    and the session's :class:`~callbot.media.session.Line`."""

    def __init__(
        self,
        transport: Transport,
        settings: ChanWebsocketSettings,
        query: Mapping[str, str],
        call_ids: CallIdRegistry,
        clock: Clock,
    ) -> None:
        self._t = transport
        self._settings = settings
        self._query = query
        self._call_ids = call_ids
        self._clock = clock
        self._conn = AppConnection(settings.control_format)
        self._pacer = LeadPacer(settings.max_lead_s, lambda: self._conn.may_send, clock)
        self.call_id = for_log(query.get(CALL_ID_PARAM, "?"))
        """For log lines (:func:`~callbot.logs.call_log`) before the call is bound: the id
        the query claims; the checked id once MEDIA_START is in."""

    # --- lifecycle -------------------------------------------------------------------------

    async def run(self, handler: CallHandler) -> None:
        try:
            start = await self._await_start()
        except ChanWebsocketError as exc:
            UNSTARTED.note("closed before the call started: %s", exc, call_id=self.call_id)
            await self._t.close(cw.close_code_for(exc) or 1002, type(exc).__name__)
            return
        if start is None:
            UNSTARTED.note("closed by the peer before MEDIA_START", call_id=self.call_id)
            return
        info = _call_info(start, self._format, self._query, self._call_ids)
        self.call_id = info.call_id
        bind_call_id(info.call_id)  # this task is the call's from here on
        logger.info("started (%s, channel %s)", for_log(start.format_name), for_log(start.channel))
        self._session = MediaSession(
            info, self._settings.session, clock=self._clock, on_end=self._pacer.stop
        )
        try:
            await self._session.run(handler, self, self)
        finally:
            await self._t.close(cw.CLOSE_NORMAL)

    async def _await_start(self) -> cw.MediaStart | None:
        try:
            async with asyncio.timeout(self._settings.start_timeout_s):
                while (message := await self._t.receive()) is not None:
                    if isinstance(message, bytes):
                        continue  # media before MEDIA_START: nothing to decode it with
                    try:
                        event = self._conn.receive_text(message)
                    except cw.MalformedMessage as exc:
                        call_log(logger, self.call_id).warning("skipped control text: %s", exc)
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
        self._outbound = OutboundConverter(self._format)
        self._chunker = OutboundChunker(self._format, self._settings.max_chunk_ms)
        return start

    async def hang_up(self, *, failed: bool) -> None:
        """The bot's end of the call: HANGUP, then close 1000, or 1011 when it failed."""
        if self._t.closed:
            return
        await self._t.send(self._conn.command(cw.CommandName.HANGUP))
        code = cw.CLOSE_INTERNAL_ERROR if failed else cw.CLOSE_NORMAL
        await self._t.close(code, "handler failed" if failed else "")

    # --- inbound ---------------------------------------------------------------------------

    async def read(self) -> None:
        while (message := await self._t.receive()) is not None:
            try:
                self._dispatch(message)
            except ChanWebsocketError as exc:
                code = cw.close_code_for(exc)
                if code is None:
                    logger.warning("skipped message: %s", exc)
                    continue
                logger.warning("closing (%d): %s", code, exc)
                await self._t.close(code, type(exc).__name__)
                self._session.end(f"protocol error: {exc}", by="bot", protocol_error=True)
                return
        code = self._t.close_code
        if code in PROTOCOL_CLOSE_CODES:
            closer = self._t.protocol_closer
            logger.warning("connection closed (%s) by %s", code, closer)
            self._session.end(
                f"protocol error: close {code} by {closer}", by=closer, protocol_error=True
            )
            return
        # 1000: Asterisk hung the channel up (the caller left, or its leg was ended);
        # anything else (1006: no close frame) is the connection failing under the call.
        by = "caller" if code == cw.CLOSE_NORMAL else "asterisk"
        self._session.end(f"closed by Asterisk ({code})", by=by)

    def _dispatch(self, message: str | bytes) -> None:
        if isinstance(message, bytes):
            self._session.caller_audio(self._conn.receive_binary(message).payload)
            return
        event = self._conn.receive_text(message)
        if isinstance(event, cw.Dtmf):
            self._session.put(CallerDtmf(event.digit))
        elif isinstance(event, cw.MarkProcessed):
            self._session.put(MarkPlayed(event.correlation_id))
        elif isinstance(event, cw.Xon):
            self._pacer.wake()
        elif isinstance(event, cw.AsteriskError):
            logger.warning("Asterisk error: %s", event.error_text)
        elif isinstance(event, cw.UnknownEvent):
            logger.info("unknown event %s ignored", event.name[:40])
        else:
            logger.debug("%s", type(event).__name__)

    # --- MediaSink -------------------------------------------------------------------------

    @property
    def format(self) -> AudioFormat:
        return self._format

    async def send_audio(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> None:
        """Convert, cut into whole-frame messages, send as fast as the pacer allows."""
        if self._session.ended:
            return
        generation = self._pacer.generation
        for chunk in self._chunker.push(self._outbound.convert(pcm, sample_rate_hz)):
            if not await self._send_media(chunk, generation):
                return

    async def _send_media(self, chunk: bytes, generation: int) -> bool:
        if not await self._pacer.wait_turn(generation):
            return False  # hung up, or flushed: the rest of this audio is dropped
        self._pacer.sent(len(chunk) / self._format.bytes_per_second)
        return await self._t.send(chunk)

    async def flush(self) -> None:
        """Barge-in: FLUSH_MEDIA, and drop what is still waiting here.

        Asterisk drops marks queued before the flush with the audio: they never fire.
        """
        self._pacer.flush()
        self._chunker.clear()
        if not self._session.ended:
            await self._t.send(self._conn.command(cw.CommandName.FLUSH_MEDIA))

    async def mark(self, mark_id: str) -> None:
        """MARK_MEDIA after the audio sent so far (its partial last frame padded first)."""
        command = self._conn.command(cw.CommandName.MARK_MEDIA, mark_id)
        if self._session.ended:
            return
        tail = self._chunker.finish()
        if tail and not await self._send_media(tail, self._pacer.generation):
            return
        await self._t.send(command)

    async def hangup(self) -> None:
        if self._session.ended:
            return
        self._session.end("hung up by the bot", by="bot")
        await self._t.send(self._conn.command(cw.CommandName.HANGUP))
        await self._t.close(cw.CLOSE_NORMAL)

"""A simulated Asterisk that dials a callbot media URL over chan_websocket.

It connects as Asterisk's websocket client does (subprotocol ``media``, optional Basic
auth, ``v()`` query parameters), sends MEDIA_START, then runs Asterisk's 20 ms timer: each
tick sends one caller frame and plays one bot frame out of the playback queue
(:class:`~callbot.protocols.chan_websocket_asterisk.AsteriskChannel`, the same rules as
chan_websocket.c) into a :class:`~callbot.simulator.recording.BotRecording`.

Given a :class:`~callbot.simulator.websocket_client.WebsocketClientConnection` instead of
a URL, the call dials through that shared connection as ``Dial(WebSocket/<conn>/...)``
does: its ``v()`` parameters stay on the connection and ride along on every later call
through it (ARI externalMedia legs included), as in Asterisk.

Where the call id travels follows the two modes: in the query (``v(call_id=...,caller=...)``,
direct mode, the default) or in the channel variables ``CALLBOT_CALL_ID`` /
``CALLBOT_CALLER`` that callbot's Stasis bridge sets (``call_id_in_query=False``).

``speed`` > 1 runs the timer faster than real time; every duration in this API is in
wall-clock seconds (``time.monotonic()``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import itertools
import logging
import time
from collections import deque
from collections.abc import Mapping
from types import TracebackType
from typing import Literal
from urllib.parse import urlencode

import numpy as np
import numpy.typing as npt
import soxr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from callbot.audio.convert import OutboundConverter, decode
from callbot.audio.formats import FRAME_MS, PIPELINE_RATE_HZ, ULAW_8K, AudioFormat
from callbot.logs import call_log
from callbot.protocols import chan_websocket as cw
from callbot.protocols import chan_websocket_asterisk as cwa
from callbot.simulator.recording import BotRecording
from callbot.simulator.websocket_client import WebsocketClientConnection, v_option

logger = logging.getLogger(__name__)

_DTMF_DIGITS = frozenset("0123456789*#ABCD")
_uniqueid = itertools.count(1)


class _BotDecoder:
    """Wire frames to 16 kHz for the recording, one tick in, one tick out.

    soxr's quick (cubic) stream keeps a delay of a few samples and returns every frame's
    samples at once; the band-limited qualities hold ~100 ms and release it in lumps,
    which would blur the recording's timing (first/last audio) by several ticks.
    """

    def __init__(self, fmt: AudioFormat) -> None:
        self._format = fmt
        rate = fmt.sample_rate_hz
        self._stream = (
            None
            if rate == PIPELINE_RATE_HZ
            else soxr.ResampleStream(rate, PIPELINE_RATE_HZ, 1, dtype="int16", quality="QQ")
        )

    def decode(self, frame: bytes) -> npt.NDArray[np.int16]:
        pcm = decode(self._format, frame)
        if self._stream is None:
            return pcm
        out: npt.NDArray[np.int16] = self._stream.resample_chunk(pcm)
        return out


class SimulatedChanWebsocketCall:
    """One call from a simulated Asterisk; use as ``async with``."""

    def __init__(
        self,
        url: str | WebsocketClientConnection,
        *,
        media_format: AudioFormat = ULAW_8K,
        call_id: str,
        caller_number: str | None = None,
        channel_variables: Mapping[str, str] | None = None,
        control_format: Literal["plain", "json"] = "json",
        speed: float = 1.0,
        username: str | None = None,
        password: str | None = None,
        send_silence: bool = True,
        call_id_in_query: bool = True,
        call_id_in_variables: bool | None = None,
        connection_id: str | None = None,
        channel_id: str | None = None,
        channel_name: str | None = None,
        stalled: bool = False,
    ) -> None:
        """``url``: the media URL, or the websocket_client connection to dial through.

        ``stalled``: after MEDIA_START this Asterisk sends nothing more and plays nothing
        (no audio, no MEDIA_MARK_PROCESSED) while the websocket stays open, as a wedged
        channel or a probe would; ``send_silence=False`` is a line that suppresses silence.

        ``call_id_in_variables`` (default: not in the query) sets ``CALLBOT_CALL_ID`` and
        ``CALLBOT_CALLER`` on the channel; ``connection_id`` (default: the connection's
        name, else ``callbot``), ``channel_id`` and ``channel_name`` (Asterisk's uniqueid
        and name of the WebSocket channel) go into MEDIA_START.
        """
        if speed < 1.0:
            raise ValueError("speed must be >= 1")
        self.call_id = call_id
        self.recording = BotRecording()
        self.closed = False
        self.close_code: int | None = None
        self.close_reason = ""
        self._url = url
        if isinstance(url, WebsocketClientConnection):
            connection_id = connection_id or url.name
            if username is None and url.username is not None:
                username, password = url.username, url.password
        self._format = media_format
        self._caller_number = caller_number
        self._control = (
            cw.ControlFormat.JSON if control_format == "json" else cw.ControlFormat.PLAIN
        )
        self._period_s = FRAME_MS / 1000 / speed
        self._auth = (username, password or "") if username is not None else None
        self._send_silence = send_silence
        self._stalled = stalled
        self._in_query = call_id_in_query
        self._in_variables = (
            not call_id_in_query if call_id_in_variables is None else call_id_in_variables
        )
        start = self._media_start(connection_id or "callbot", channel_variables or {})
        if channel_id is not None or channel_name is not None:
            start = dataclasses.replace(
                start,
                channel_id=channel_id or start.channel_id,
                channel=channel_name or start.channel,
            )
        self._channel = cwa.AsteriskChannel(start, self._control)
        self._silence = cw.silence_frame(media_format)
        self._caller: deque[tuple[bytes, asyncio.Future[float] | None]] = deque()
        self._bot_decoder = _BotDecoder(media_format)
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._started_s = 0.0
        self._speech_end_s = 0.0
        self._closed_event = asyncio.Event()

    @property
    def media_format(self) -> AudioFormat:
        return self._format

    def _media_start(self, connection_id: str, extra: Mapping[str, str]) -> cw.MediaStart:
        fmt = self._format
        variables = {
            "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE": str(fmt.frame_bytes),
            "MEDIA_WEBSOCKET_CONNECTION_ID": connection_id,
        }
        if self._in_variables:
            variables["CALLBOT_CALL_ID"] = self.call_id
            if self._caller_number:
                variables["CALLBOT_CALLER"] = self._caller_number
        variables.update(extra)
        return cw.MediaStart(
            connection_id=connection_id,
            channel=f"WebSocket/{connection_id}/0x{id(self):x}",
            channel_id=f"{int(time.time())}.{next(_uniqueid)}",
            format_name=fmt.asterisk_name,
            media_format=fmt,
            optimal_frame_size=fmt.frame_bytes,
            ptime_ms=FRAME_MS,
            channel_variables=variables,
        )

    def _dial_url(self) -> str:
        params = {"call_id": self.call_id} if self._in_query else {}
        if self._in_query and self._caller_number:
            params["caller"] = self._caller_number
        if isinstance(self._url, WebsocketClientConnection):
            return self._url.uri_for_call(v_option(params) if params else None)
        if not params:
            return self._url
        return f"{self._url}{'&' if '?' in self._url else '?'}{urlencode(params)}"

    # --- lifecycle -------------------------------------------------------------------------

    async def __aenter__(self) -> SimulatedChanWebsocketCall:
        headers = {}
        if self._auth is not None:
            token = base64.b64encode(f"{self._auth[0]}:{self._auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self._ws = await connect(
            self._dial_url(),
            subprotocols=["media"],  # type: ignore[list-item]
            additional_headers=headers,
            open_timeout=5,
            close_timeout=2,
        )
        self._started_s = time.monotonic()
        await self._ws.send(self._channel.media_start_text())
        self._tasks = [asyncio.create_task(self._receive_loop())]
        if not self._stalled:
            self._tasks.append(asyncio.create_task(self._tick_loop()))
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if not self.closed:
            await self.hangup()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def drop(self) -> None:
        """Asterisk dies (crash, restart, network cut): the TCP connection just ends,
        with no websocket close handshake."""
        if self.closed:
            return
        self._mark_closed(None, "connection dropped")
        if self._ws is not None:
            self._ws.transport.abort()

    async def _close(self, code: int, reason: str = "") -> None:
        """Asterisk hangs the channel up: the websocket closes with ``code``."""
        if self.closed:
            return
        self._mark_closed(code, reason)
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close(code, reason)

    def _mark_closed(self, code: int | None, reason: str) -> None:
        if self.closed:
            return
        self.closed, self.close_code, self.close_reason = True, code, reason
        now = time.monotonic()
        for _, done in self._caller:
            if done is not None and not done.done():
                done.set_result(now)
        self._caller.clear()
        self._closed_event.set()

    # --- the caller's actions --------------------------------------------------------------

    async def play(self, pcm: npt.NDArray[np.int16], sample_rate_hz: int) -> float:
        """Queue caller speech; returns ``time.monotonic()`` once its last frame was sent."""
        if self.closed:
            raise ConnectionError(f"call {self.call_id} is closed ({self.close_code})")
        wire = OutboundConverter(self._format).convert(pcm, sample_rate_hz)
        size = self._format.frame_bytes
        frames = [wire[i : i + size] for i in range(0, len(wire), size)]
        if not frames:
            return time.monotonic()
        frames[-1] += self._silence[len(frames[-1]) :]
        done: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._caller.extend((frame, None) for frame in frames[:-1])
        self._caller.append((frames[-1], done))
        self._speech_end_s = await done
        return self._speech_end_s

    async def send_dtmf(self, digit: str) -> None:
        if digit not in _DTMF_DIGITS:
            raise ValueError(f"not a DTMF digit: {digit!r}")
        if self.closed or self._ws is None:
            raise ConnectionError(f"call {self.call_id} is closed ({self.close_code})")
        await self._ws.send(self._channel.dtmf_text(digit))

    async def hangup(self) -> None:
        """The caller hangs up: Asterisk closes with 1000."""
        await self._close(cw.CLOSE_NORMAL, "")

    async def wait_for_bot_silence(self, quiet_s: float, timeout_s: float) -> bool:
        """True once the bot played audible audio, then nothing audible for ``quiet_s``.

        Only bot audio after the end of the caller's last speech counts (or after the
        call started, before any :meth:`play`).
        """
        since = max(self._started_s, self._speech_end_s)
        deadline = time.monotonic() + timeout_s
        while (now := time.monotonic()) < deadline:
            last = self.recording.last_audio_at()
            heard = last is not None and last >= since
            if heard and last is not None and now - last >= quiet_s:
                return True
            if self.closed:
                return heard
            await asyncio.sleep(min(0.01, self._period_s))
        return False

    async def wait_closed(self, timeout_s: float) -> bool:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await self._closed_event.wait()
        return self.closed

    # --- Asterisk's two loops --------------------------------------------------------------

    async def _receive_loop(self) -> None:
        assert self._ws is not None
        try:
            async for message in self._ws:
                if not await self._on_message(message):
                    return
        except ConnectionClosed:
            pass
        rcvd = self._ws.protocol.close_rcvd
        code = rcvd.code if rcvd is not None else 1006
        if not self.closed:
            self.recording.add_command("CLOSE", str(code))
        self._mark_closed(code, rcvd.reason if rcvd is not None else "")

    async def _on_message(self, message: str | bytes) -> bool:
        """Handle one message from the app; False once the call is over."""
        assert self._ws is not None
        try:
            if isinstance(message, bytes):
                replies = self._channel.receive_binary(message, masked=False)
                self.recording.dropped_frames = self._channel.dropped_frames
            else:
                command, replies = self._channel.receive_text(message, masked=False)
                if command is not None:
                    detail = command.correlation_id or command.direction or ""
                    self.recording.add_command(command.name, detail)
        except cw.OversizeMessage as exc:
            call_log(logger, self.call_id).info("%s; closing 1009 as Asterisk does", exc)
            await self._close(1009, "")
            return False
        for text in () if self._stalled else replies:
            await self._ws.send(text)
        if self._channel.hangup_requested:
            await self._close(cw.CLOSE_NORMAL, "")
            return False
        return True

    async def _tick_loop(self) -> None:
        assert self._ws is not None
        loop = asyncio.get_running_loop()
        next_tick = loop.time()
        try:
            while not self.closed:
                await self._send_caller_frame()
                played = self._channel.tick()
                for text in played.events:
                    await self._ws.send(text)
                # An empty tick is heard as silence; decoding it keeps the resampler flowing.
                frame = self._silence if played.frame is None else played.frame
                self.recording.add_frame(self._bot_decoder.decode(frame))
                next_tick += self._period_s
                await asyncio.sleep(max(0.0, next_tick - loop.time()))
        except ConnectionClosed:
            return

    async def _send_caller_frame(self) -> None:
        assert self._ws is not None
        if self._channel.media_direction == "out":
            return  # the app asked for no media from Asterisk
        if self._caller:
            frame, done = self._caller.popleft()
        elif self._send_silence:
            frame, done = self._silence, None
        else:
            return
        await self._ws.send(frame)
        if done is not None and not done.done():
            done.set_result(time.monotonic())

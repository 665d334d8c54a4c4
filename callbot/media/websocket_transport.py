"""The little a chan_websocket call needs from a websocket, over either library.

Asterisk dials out to callbot through a Starlette route (:class:`StarletteTransport`), or
callbot dials in to Asterisk with the websockets client (:class:`WebsocketsTransport`);
the call itself (:mod:`callbot.media.chan_websocket_edge`) is written once over
:class:`Transport`. Sends after the close are no-ops, and a peer gone under a send is
reported by the reader, never raised to the sender.
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed


class Transport:
    """One websocket: messages in, messages out, one close."""

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


class StarletteTransport(Transport):
    """A Starlette/FastAPI websocket route: Asterisk (or the softphone) dialled us."""

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


class WebsocketsTransport(Transport):
    """A websockets client connection: callbot dialled Asterisk's ``/media/<id>``."""

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

"""Running an ASGI app under uvicorn inside an existing event loop.

uvicorn closes an idle kept-alive connection (``timeout_keep_alive``) but has no time-out
for a request whose headers never finish: a peer sending half a request line held its
connection forever. :class:`HeaderTimeoutH11Protocol` adds that bound; websocket
upgrades are HTTP requests until their headers are in, so it covers their handshake too
(after the upgrade the media edge wants MEDIA_START within its own bound).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from callbot.errors import StartupError
from callbot.observability.throttle import ThrottledWarning
from callbot.web.ports import bind_tcp

logger = logging.getLogger(__name__)

INCOMPLETE = ThrottledWarning(
    logger, "HTTP connection(s) closed: request headers incomplete", level=logging.DEBUG
)


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a header time-out.

    The clock starts when the connection opens, and again at the first byte of each
    later request on a kept-alive connection; it stops once h11 has the whole request
    line and headers. If it runs out first, the connection is closed (as nginx does on
    ``client_header_timeout``: no response, the request never started).
    """

    header_timeout_s: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm_header_timer()

    def data_received(self, data: bytes) -> None:
        if self._header_timer is None and self.conn.their_state is h11.IDLE:
            self._arm_header_timer()
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._cancel_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._header_timeout)

    def _cancel_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        peer = f"{self.client[0]}:{self.client[1]}" if self.client else "?"
        INCOMPLETE.note(
            "HTTP connection from %s closed: no complete request headers within %g s",
            peer,
            self.header_timeout_s,
        )
        self.transport.close()


def header_timeout_protocol(header_timeout_s: float) -> type[asyncio.Protocol]:
    """The HTTP protocol class to give uvicorn (``http=``) for this header time-out."""
    if header_timeout_s <= 0:
        raise ValueError("header_timeout_s must be positive")
    attrs = {"header_timeout_s": header_timeout_s}
    return type("HeaderTimeoutH11Protocol", (HeaderTimeoutH11Protocol,), attrs)


@dataclass
class RunningServer:
    server: uvicorn.Server
    task: asyncio.Task[None]
    port: int
    """The port actually bound (useful with port 0)."""

    async def stop(self, timeout_s: float = 10.0) -> None:
        self.server.should_exit = True
        try:
            await asyncio.wait_for(self.task, timeout_s)
        except TimeoutError:
            self.task.cancel()


async def serve_app(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    timeout_s: float = 10.0,
    *,
    header_timeout_s: float = 10.0,
    **options: Any,
) -> RunningServer:
    """Start ``app`` on ``host:port`` and return once it accepts connections.

    A connection whose request headers are not all in within ``header_timeout_s`` is
    closed (:class:`HeaderTimeoutH11Protocol`); ``options`` go to ``uvicorn.Config``.

    Raises :class:`~callbot.errors.PortUnavailable` when the address cannot be had, and
    :class:`~callbot.errors.StartupError` when uvicorn gives up starting; either way no
    task is left behind with an exception nobody retrieves.
    """
    sockets = bind_tcp(host, port)  # here, not in uvicorn: see callbot.web.ports
    # The TCP peer stays the client: X-Forwarded-For is believed only from the proxies
    # callbot is told to trust (callbot.security.proxy), never by uvicorn's default.
    options.setdefault("proxy_headers", False)
    options.setdefault("http", header_timeout_protocol(header_timeout_s))
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False, **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(_serve(server, sockets), name=f"http:{port}")
    try:
        async with asyncio.timeout(timeout_s):
            while not server.started:
                if task.done():
                    await task  # raises StartupError
                    raise StartupError(f"HTTP server on {host}:{port} stopped during start-up")
                await asyncio.sleep(0.01)
    except BaseException:
        task.cancel()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await task
        for sock in sockets:
            sock.close()
        raise
    return RunningServer(server, task, sockets[0].getsockname()[1])


async def _serve(server: uvicorn.Server, sockets: list[socket.socket]) -> None:
    """uvicorn's ``serve``, with its ``sys.exit`` on a failed start made an exception."""
    try:
        await server.serve(sockets=sockets)
    except SystemExit:
        raise StartupError(f"HTTP server on port {server.config.port} failed to start") from None

"""An ASGI app served on 127.0.0.1 by uvicorn's HTTP and websocket protocols, stopped at once.

Not ``uvicorn.Server``: it notices a stop only at its next 100 ms tick and then sleeps
100 ms more, which every test that starts and stops a simulated Asterisk would pay, and
a restart would keep accepting connections meanwhile. Here the listening socket closes
at once (as Asterisk's does), open connections are asked to close, and requests still
running get ``timeout_s`` to finish before their connections are closed and they are
cancelled: no task or socket is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import uvicorn
from starlette.types import ASGIApp
from uvicorn.server import ServerState
from websockets.exceptions import InvalidState


class LoopbackServer:
    """``app`` on ``127.0.0.1``; ``options`` go to ``uvicorn.Config`` (e.g. ``ws=``)."""

    def __init__(self, app: ASGIApp, **options: Any) -> None:
        options.setdefault("proxy_headers", False)
        self._config = uvicorn.Config(
            app, lifespan="off", log_config=None, access_log=False, **options
        )
        self._config.load()
        self._state = ServerState()
        self._state.default_headers = list(self._config.encoded_headers)
        self._server: asyncio.Server | None = None
        self.port = 0
        """The port bound (useful with port 0)."""

    async def start(self, port: int = 0) -> None:
        """Listen on ``port`` (0: any free one); ``OSError`` when it cannot be had."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._protocol, "127.0.0.1", port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        """Stop accepting connections (open ones go on)."""
        if self._server is not None:
            self._server.close()

    async def stop(self, timeout_s: float = 0.5) -> None:
        """Stop accepting, close idle connections, let running requests end within
        ``timeout_s``, then cut the rest off (their clients see the connection drop)."""
        self.close()
        for connection in list(self._state.connections):
            with contextlib.suppress(InvalidState):  # a websocket already closing
                connection.shutdown()
        tasks = set(self._state.tasks)
        late: set[asyncio.Task[None]] = set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=timeout_s)
        for connection in list(self._state.connections):
            connection.transport.close()
        for task in late:
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    def _protocol(self) -> asyncio.Protocol:
        protocol: asyncio.Protocol = self._config.http_protocol_class(  # type: ignore[call-arg]
            config=self._config, server_state=self._state, app_state={}
        )
        return protocol

"""Running an ASGI app under uvicorn inside an existing event loop."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn

from callbot.errors import StartupError
from callbot.ports import bind_tcp


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
    app: Any, host: str = "127.0.0.1", port: int = 0, timeout_s: float = 10.0, **options: Any
) -> RunningServer:
    """Start ``app`` on ``host:port`` and return once it accepts connections.

    Raises :class:`~callbot.errors.PortUnavailable` when the address cannot be had, and
    :class:`~callbot.errors.StartupError` when uvicorn gives up starting; either way no
    task is left behind with an exception nobody retrieves.
    """
    sockets = bind_tcp(host, port)  # here, not in uvicorn: see callbot.ports
    # The TCP peer stays the client: X-Forwarded-For is believed only from the proxies
    # callbot is told to trust (callbot.security.proxy), never by uvicorn's default.
    options.setdefault("proxy_headers", False)
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

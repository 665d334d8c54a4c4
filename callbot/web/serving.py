"""Running an ASGI app under uvicorn inside an existing event loop."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import uvicorn


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
    """Start ``app`` on ``host:port`` and return once it accepts connections."""
    config = uvicorn.Config(
        app, host=host, port=port, lifespan="off", log_config=None, access_log=False, **options
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name=f"http:{port}")
    async with asyncio.timeout(timeout_s):
        while not server.started:
            if task.done():
                await task  # raises the start-up error (port in use...)
                raise RuntimeError("HTTP server stopped during start-up")
            await asyncio.sleep(0.01)
    return RunningServer(server, task, server.servers[0].sockets[0].getsockname()[1])

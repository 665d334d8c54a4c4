"""uvicorn inside the event loop: a taken port is one exception, never a stray task."""

from __future__ import annotations

import asyncio
import gc
import socket
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from callbot.errors import PortUnavailable, StartupError
from callbot.ports import check_free
from callbot.web.serving import serve_app


def app() -> FastAPI:
    api = FastAPI()

    @api.get("/ping")
    def ping() -> dict[str, str]:
        return {"pong": "yes"}

    return api


@pytest.fixture
async def loop_errors() -> AsyncIterator[list[dict[str, Any]]]:
    """What the event loop would print as "Task exception was never retrieved"."""
    errors: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    yield errors
    loop.set_exception_handler(None)


def assert_nothing_left(errors: list[dict[str, Any]]) -> None:
    gc.collect()  # an unretrieved task exception is reported when the task is collected
    assert errors == []
    assert asyncio.all_tasks() == {asyncio.current_task()}


async def test_serves_then_frees_the_port() -> None:
    running = await serve_app(app())
    async with httpx.AsyncClient() as client:
        reply = await client.get(f"http://127.0.0.1:{running.port}/ping")
    assert reply.json() == {"pong": "yes"}
    await running.stop()
    check_free("127.0.0.1", running.port)


async def test_taken_port_is_one_exception_and_no_stray_task(
    loop_errors: list[dict[str, Any]],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortUnavailable, match=f"^port {port} is already in use$"):
            await serve_app(app(), "127.0.0.1", port)
    assert_nothing_left(loop_errors)


async def test_uvicorn_giving_up_is_a_startup_error(
    monkeypatch: pytest.MonkeyPatch, loop_errors: list[dict[str, Any]]
) -> None:
    async def give_up(self: uvicorn.Server, sockets: Any = None) -> None:
        sys.exit(3)  # what uvicorn does when its start-up fails

    monkeypatch.setattr(uvicorn.Server, "startup", give_up)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(StartupError, match=f"HTTP server on port {port} failed to start"):
        await serve_app(app(), "127.0.0.1", port)
    assert_nothing_left(loop_errors)
    check_free("127.0.0.1", port)  # its socket was closed

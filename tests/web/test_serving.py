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
from fastapi import FastAPI, WebSocket
from websockets.asyncio.client import connect

from callbot.errors import PortUnavailable, StartupError
from callbot.web.ports import check_free
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


async def read_until_closed(sock: socket.socket, timeout_s: float) -> tuple[bytes, float]:
    """What the server sent before closing, and when it closed (s after the call)."""
    loop = asyncio.get_running_loop()
    started, received = loop.time(), b""
    async with asyncio.timeout(timeout_s):
        while chunk := await loop.sock_recv(sock, 4096):
            received += chunk
    return received, loop.time() - started


async def raw_connection(port: int, first: bytes) -> socket.socket:
    sock = socket.socket()
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    if first:
        await asyncio.get_running_loop().sock_sendall(sock, first)
    return sock


@pytest.mark.parametrize(
    "first",
    [
        b"GET /pi",  # half a request line
        b"GET /ping HTTP/1.1\r\nHost: x\r\n",  # headers never finished
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n",
        b"",  # nothing at all
    ],
)
async def test_a_request_whose_headers_never_finish_is_closed(first: bytes) -> None:
    """Issue 10, item 2: uvicorn closed idle kept-alive connections but never a request
    whose headers stop half-way; such connections piled up for ever."""
    running = await serve_app(app(), header_timeout_s=0.5)
    try:
        sock = await raw_connection(running.port, first)
        with sock:
            received, after_s = await read_until_closed(sock, 5.0)
        assert received == b"" and 0.4 <= after_s < 2.0
    finally:
        await running.stop()


async def test_slow_but_complete_requests_and_keep_alive_still_work() -> None:
    running = await serve_app(app(), header_timeout_s=0.5)
    loop = asyncio.get_running_loop()
    try:
        sock = await raw_connection(running.port, b"GET /ping HTTP/1.1\r\n")
        with sock:
            await asyncio.sleep(0.3)
            await loop.sock_sendall(sock, b"Host: x\r\n\r\n")
            reply = await asyncio.wait_for(loop.sock_recv(sock, 4096), 2.0)
            assert reply.startswith(b"HTTP/1.1 200") and b'"pong"' in reply
            await asyncio.sleep(0.4)  # kept alive: the clock restarts at the next request
            await loop.sock_sendall(sock, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n")
            reply = await asyncio.wait_for(loop.sock_recv(sock, 4096), 2.0)
            assert reply.startswith(b"HTTP/1.1 200")
            await loop.sock_sendall(sock, b"GET /ping HTTP/1.1\r\n")  # then stops half-way
            received, after_s = await read_until_closed(sock, 5.0)
            assert received == b"" and 0.4 <= after_s < 2.0
    finally:
        await running.stop()


async def test_an_upgraded_websocket_outlives_the_header_time_out() -> None:
    api = app()

    @api.websocket("/ws")
    async def echo(ws: WebSocket) -> None:
        await ws.accept()
        while True:
            await ws.send_text(await ws.receive_text())

    running = await serve_app(api, header_timeout_s=0.3, ws="websockets-sansio")
    try:
        async with connect(f"ws://127.0.0.1:{running.port}/ws") as ws:
            await asyncio.sleep(0.6)
            await ws.send("still here")
            assert await asyncio.wait_for(ws.recv(), 2.0) == "still here"
    finally:
        await running.stop()

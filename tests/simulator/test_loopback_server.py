"""The simulated Asterisk's HTTP server: any free port, refuses connections as soon as it
stops, and leaves no request task or socket behind."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from callbot.simulator.loopback_server import LoopbackServer


def _app(release: asyncio.Event) -> Starlette:
    async def quick(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    async def slow(request: Request) -> PlainTextResponse:
        await release.wait()
        return PlainTextResponse("late")

    return Starlette(routes=[Route("/quick", quick), Route("/slow", slow)])


async def test_port_zero_serves_and_stop_refuses_at_once() -> None:
    server = LoopbackServer(_app(asyncio.Event()))
    await server.start(0)
    assert server.port > 0
    url = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(base_url=url) as client:
        assert (await client.get("/quick")).text == "ok"  # a kept-alive connection
        await server.stop()
        with pytest.raises(httpx.ConnectError):
            async with httpx.AsyncClient(base_url=url) as fresh:
                await fresh.get("/quick")


async def test_a_request_still_running_is_cancelled_after_the_grace() -> None:
    server = LoopbackServer(_app(asyncio.Event()))
    await server.start(0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        pending = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.1)
        await server.stop(timeout_s=0.1)
        with pytest.raises(httpx.TransportError):
            await pending
    leftovers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert leftovers == []


async def test_a_request_that_ends_in_the_grace_is_answered() -> None:
    release = asyncio.Event()
    server = LoopbackServer(_app(release))
    await server.start(0)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
        pending = asyncio.create_task(client.get("/slow"))
        await asyncio.sleep(0.1)
        stopping = asyncio.create_task(server.stop(timeout_s=2))
        await asyncio.sleep(0.05)
        release.set()
        assert (await pending).text == "late"
        await stopping


async def test_a_taken_port_is_an_os_error() -> None:
    first = LoopbackServer(_app(asyncio.Event()))
    await first.start(0)
    try:
        with pytest.raises(OSError):
            await LoopbackServer(_app(asyncio.Event())).start(first.port)
    finally:
        await first.stop()

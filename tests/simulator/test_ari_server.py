"""The simulated ARI as a server: auth on every resource and the events websocket,
restart, test controls."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from callbot.simulator.ari_server import SimulatedAri
from tests.simulator.conftest import API_KEY, events_socket, recv


async def test_auth_required(sim: SimulatedAri) -> None:
    async with httpx.AsyncClient(base_url=sim.url) as anon:
        resp = await anon.get("/channels")
    assert resp.status_code == 401
    assert resp.json() == {"message": "Authentication required"}
    assert resp.headers["WWW-Authenticate"].startswith("Basic")
    with pytest.raises(InvalidStatus) as info:
        await connect(f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot")
    assert info.value.response.status_code == 401


async def test_restart_refuses_then_returns(sim: SimulatedAri) -> None:
    ws = await events_socket(sim)
    restart = asyncio.create_task(sim.restart(0.3))
    await asyncio.wait_for(ws.wait_closed(), 2)
    await asyncio.sleep(0.05)
    with pytest.raises(OSError):
        await connect(f"ws://127.0.0.1:{sim.port}/ari/events?app=callbot&api_key={API_KEY}")
    await restart
    ws2 = await events_socket(sim)
    sim.place_call("0600000000")
    assert (await recv(ws2))["type"] == "StasisStart"
    await ws2.close()


async def test_place_call_needs_registered_app(sim: SimulatedAri) -> None:
    from callbot.errors import AriError

    with pytest.raises(AriError):
        sim.place_call("0600000000")

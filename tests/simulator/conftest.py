"""An httpx client on the simulated ARI of ``sim`` (tests/conftest.py), and its events
websocket."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect

from callbot.simulator.ari_server import SimulatedAri
from tests.conftest import ARI_PASSWORD

AUTH = ("callbot", ARI_PASSWORD)
API_KEY = f"callbot:{ARI_PASSWORD}"
"""``?api_key=`` of the events websocket."""


@pytest.fixture
async def http(sim: SimulatedAri) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, auth=AUTH, timeout=3) as client:
        yield client


async def events_socket(sim: SimulatedAri, query: str = "app=callbot") -> ClientConnection:
    """The events websocket of ``sim``, once its application is registered."""
    url = f"ws://127.0.0.1:{sim.port}/ari/events?{query}&api_key={API_KEY}"
    ws = await connect(url)
    await sim.wait_for(lambda: "callbot" in sim.registered_apps)
    return ws


async def recv(ws: ClientConnection) -> dict[str, Any]:
    """The next event, decoded (2 s at most)."""
    event: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 2))
    return event

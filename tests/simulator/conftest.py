"""A running simulated ARI (password ``pw``) and an httpx client on it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from callbot.simulator.ari_server import SimulatedAri

AUTH = ("callbot", "pw")


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedAri]:
    server = SimulatedAri(password="pw")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def http(sim: SimulatedAri) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, auth=AUTH, timeout=3) as client:
        yield client

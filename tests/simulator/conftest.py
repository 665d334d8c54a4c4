"""An httpx client on the simulated ARI of ``sim`` (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from callbot.simulator.ari_server import SimulatedAri
from tests.conftest import ARI_PASSWORD

AUTH = ("callbot", ARI_PASSWORD)
API_KEY = f"callbot:{ARI_PASSWORD}"
"""``?api_key=`` of the events websocket."""


@pytest.fixture
async def http(sim: SimulatedAri) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sim.url, auth=AUTH, timeout=3) as client:
        yield client

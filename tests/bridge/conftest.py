"""A running simulated ARI whose ``callbot`` user has :data:`PASSWORD`."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from callbot.simulator.ari_server import SimulatedAri

PASSWORD = "s3cr3t-pw"


@pytest.fixture
async def sim() -> AsyncIterator[SimulatedAri]:
    server = SimulatedAri(password=PASSWORD)
    await server.start()
    yield server
    await server.stop()

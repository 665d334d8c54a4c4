"""The ``chromium`` fixture: how a browser test gets Chromium (and its ``browser`` mark);
``node_a``: the records path of another node of a cluster."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.web.browser import CHROMIUM, Launch, launch

if TYPE_CHECKING:  # imported by the fixture: pipecat takes seconds
    from callbot.app.service import Operations


@pytest.fixture
def chromium() -> Launch:
    """:func:`tests.web.browser.launch` (``async with chromium(mic) as browser:``).

    A test that asks for it is marked ``browser`` (tests/conftest.py), and skipped where
    Debian's chromium package is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip("needs Debian's chromium package")
    return launch


@pytest.fixture
async def node_a(postgres_url: str, tmp_path: Path) -> AsyncIterator[Operations]:
    """Node A's records path on ``postgres_url``, exactly as a worker opens it (store,
    spool, writer): its calls are written as they go."""
    from callbot.app.service import Operations
    from tests.records.live_calls import durable_settings

    ops = await Operations.open(durable_settings(postgres_url, str(tmp_path / "spool")), lambda: 1)
    yield ops
    await ops.close()

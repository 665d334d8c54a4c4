"""The ``chromium`` fixture: how a browser test gets Chromium (and its ``browser`` mark)."""

from __future__ import annotations

import pytest

from tests.web.browser import CHROMIUM, Launch, launch


@pytest.fixture
def chromium() -> Launch:
    """:func:`tests.web.browser.launch` (``async with chromium(mic) as browser:``).

    A test that asks for it is marked ``browser`` (tests/conftest.py), and skipped where
    Debian's chromium package is not installed."""
    if not CHROMIUM.is_file():
        pytest.skip("needs Debian's chromium package")
    return launch

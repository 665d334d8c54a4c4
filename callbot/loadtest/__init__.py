"""Load tester: replays recorded calls through the simulated Asterisk (``callbot loadtest``).

Its packages come with the ``loadtest`` extra; each is imported where it is used, so that
``callbot`` itself does not need them, and :func:`require_extra` checks them all before a
run instead of failing when the first level or the report needs one.
"""

from __future__ import annotations

import importlib.util

from callbot.errors import MissingExtra

PACKAGES = ("jiwer", "matplotlib", "psutil", "tqdm")
"""What ``pip install 'callbot[loadtest]'`` installs (pyproject.toml)."""


def require_extra() -> None:
    """Raise :class:`MissingExtra` for the first of :data:`PACKAGES` not installed."""
    for package in PACKAGES:
        if importlib.util.find_spec(package) is None:
            raise MissingExtra(package, "loadtest")

"""The dialog's clock, and the fixed instants that let ops try a dialplan at any time.

The engine asks its clock for "now" (business hours, "hier"); calls use the system
clock. ``callbot chat``, ``callbot dialplan test`` and ``callbot simulate`` take
``--now 2026-05-14T10:00`` (or a conversation test its own ``now:``) to hear what a
caller hears on Ascension Day, without waiting for it. A naive instant is the
dialplan's local time (its ``hours.timezone``); one with an offset is that instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

Clock = Callable[[], dt.datetime]


def system_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def parse_instant(text: str) -> dt.datetime:
    """``2026-05-14T10:00`` (local to the dialplan) or ``2026-05-14T10:00+02:00``;
    ValueError with the expected form otherwise."""
    try:
        return dt.datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"not a date and time: {text!r} (expected 2026-05-14T10:00 or 2026-05-14T10:00+02:00)"
        ) from None

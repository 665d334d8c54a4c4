"""Per-call behaviour settings (read once at start-up)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class CallSettings:
    no_input_timeout_s: float = 7.0
    """Caller silence after the bot's last word before the no-input policy applies."""
    max_call_s: float = 900.0
    """A call still with the bot after this long is handed to a human."""
    gap_fill_ms: int = 400
    """Inbound audio missing this long (silence suppression) is treated as silence.

    Well above network and scheduling jitter: filling a mere late burst with silence
    would cut the caller's words in two."""
    failure_grace_s: float = 10.0
    """Time allowed to apologise and hand over after a failure."""
    barge_in: bool = True
    """The caller speaking over a prompt stops it (never the last words before a transfer
    or a hang-up)."""

"""Hand-over hub and agent console settings (the ``[handover]`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class HandoverSettings:
    store_path: Path = Path("data/callbot-handover.sqlite3")
    """SQLite file (WAL) where every hand-over context is stored before the caller leaves
    the bot; a restarted bot still serves earlier contexts to the console."""
    webhook_url: str | None = None
    """Optional CRM endpoint: each new hand-over and each status change is POSTed to it as
    the context's JSON. A down webhook never delays nor breaks a transfer."""
    webhook_authorization: str | None = field(default=None, repr=False)
    """``Authorization`` header sent with each webhook POST (``Bearer <token>``); from
    ``CALLBOT_HANDOVER_WEBHOOK_AUTHORIZATION_FILE`` in production, never logged."""
    webhook_timeout_s: float = 3.0
    """Per attempt; a slower CRM is retried, then given up on (logged, counted)."""
    webhook_attempts: int = 3
    """Tries per webhook POST (first one included) before it is given up on."""
    console_token: str | None = field(default=None, repr=False)
    """Token the agent console requires (``?token=`` or ``Authorization: Bearer``), as the
    console shows caller numbers and captured values. Unset: no check (listen on loopback
    only). From ``CALLBOT_HANDOVER_CONSOLE_TOKEN_FILE``; never logged."""

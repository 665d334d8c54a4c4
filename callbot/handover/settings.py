"""Hand-over hub and agent console settings (the ``[handover]`` section)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from callbot.errors import ConfigError

STORE_NAME = "callbot-handover.sqlite3"


@dataclass(frozen=True, slots=True)
class HandoverSettings:
    store_path: Path | None = None
    """SQLite file (WAL) where every hand-over context is stored before the caller leaves
    the bot; a restarted bot still serves earlier contexts to the console. Unset:
    ``callbot-handover.sqlite3`` beside the records' SQLite file. Not used with PostgreSQL
    (``cluster.database_url``, else ``records.url``): contexts then go to its
    ``handover_contexts`` table, shared by every node, and each node's console shows them
    all, live. Covered by ``callbot records purge|export|erase``."""
    identifiers_ttl_s: float = 3600.0
    """How long after a hand-over's last news (transfer, agent answered...) the caller
    number and the captured values (NIR...) stay readable for agents; then they are
    replaced by placeholders in the store and on the consoles. A hand-over abandoned or
    failed loses them at once."""
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

    def placed(self, records_file: Path | None, data_dir: Path) -> HandoverSettings:
        """These settings with the store beside ``records_file`` (the records' SQLite
        file), or in ``data_dir`` without one, unless ``store_path`` is set."""
        if self.store_path is not None:
            return self
        folder = records_file.parent if records_file is not None else data_dir
        return replace(self, store_path=folder / STORE_NAME)

    def __post_init__(self) -> None:
        if self.identifiers_ttl_s <= 0:
            raise ConfigError("handover.identifiers_ttl_s must be positive")

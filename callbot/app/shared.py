"""Where the state of several nodes lives: the PostgreSQL database of
``cluster.database_url``, else of ``records.url``. There, records, hand-over contexts and
the agent consoles' live events are shared, so that ``/agent`` and ``/dashboard`` on any
node show every node's calls. Without one (SQLite, the default), they are this process's.
"""

from __future__ import annotations

from callbot.config import Settings
from callbot.handover.hub import HandoverHub

POSTGRES = ("postgresql://", "postgres://")


def shared_database(settings: Settings) -> str | None:
    """The PostgreSQL URL the nodes share, or None (SQLite: one process)."""
    url = settings.cluster.database_url or settings.records.url
    return url if url.startswith(POSTGRES) else None


def open_hub(settings: Settings) -> HandoverHub:
    """The hand-over hub: its contexts in the shared database when there is one, else in
    ``handover.store_path``. Blocking (opens the store); then ``await hub.start(...)``."""
    return HandoverHub.from_settings(
        settings.handover, settings.privacy.caller_salt, database_url=shared_database(settings)
    )

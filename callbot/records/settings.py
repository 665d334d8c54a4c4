"""Where call records go (the ``[records]`` section of the settings)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordsSettings:
    url: str = "data/callbot-records.sqlite3"
    """A SQLite file path (or ``sqlite:///path``), or ``postgresql://user@host/db`` for
    several workers sharing one database. The password belongs in ``PGPASSWORD`` or
    ``~/.pgpass``, or in ``CALLBOT_RECORDS_URL_FILE``; it is never logged."""
    enabled: bool = True
    """Store a record of every call (KPIs and the dashboard need them)."""
    max_pending: int = 1000
    """Records waiting to be written; beyond this (database down), new ones are dropped."""

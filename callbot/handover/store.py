"""The hand-over store of one process: every context, durable before the caller leaves
the bot.

SQLite, WAL, ``synchronous=FULL``: hand-overs are rare, losing one is not an option. The
queries and the caller data rules are :mod:`callbot.handover.table`'s; several nodes
sharing PostgreSQL use :mod:`callbot.handover.postgres` instead.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from callbot.handover.table import DEFAULT_IDENTIFIERS_TTL_S, HandoverTable, Row
from callbot.records.rows import Cursor

__all__ = ["DEFAULT_IDENTIFIERS_TTL_S", "HandoverStore", "Row"]

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
TABLE = "handovers"

_MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"CREATE TABLE IF NOT EXISTS {TABLE} ("
        " context_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
        " detail TEXT NOT NULL DEFAULT '', body TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS handovers_created ON {TABLE} (created_at)",
    ),
    # 2: the caller's key (export, erasure) and when the identifiers expire. Rows from
    # before expire at the first sweep (clear_until 0); their key is filled then too.
    (
        f"ALTER TABLE {TABLE} ADD COLUMN caller_hash TEXT",
        f"ALTER TABLE {TABLE} ADD COLUMN clear_until REAL",
        f"UPDATE {TABLE} SET clear_until = 0",
        f"CREATE INDEX handovers_caller_hash ON {TABLE} (caller_hash)",
        f"CREATE INDEX handovers_clear_until ON {TABLE} (clear_until)",
    ),
)
SCHEMA_VERSION = len(_MIGRATIONS)


class HandoverStore(HandoverTable):
    """One SQLite file (or ``:memory:``); one connection, shared under the lock."""

    table = TABLE
    errors = (sqlite3.Error,)

    def __init__(
        self,
        path: Path | str,
        *,
        caller_salt: str | None = None,
        identifiers_ttl_s: float = DEFAULT_IDENTIFIERS_TTL_S,
    ) -> None:
        super().__init__(caller_salt, identifiers_ttl_s)
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the commit is on disk (not only in the OS cache) when save() returns.
            self._conn.execute("PRAGMA synchronous=FULL")
            # Expired identifiers and erased or purged hand-overs are overwritten, not left
            # in free pages (on by default only in some SQLite builds, Debian's among them).
            self._conn.execute("PRAGMA secure_delete=ON")
            self._migrate()

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _announce(self, cur: Cursor, kind: str, ref: str, event: str = "") -> None:
        """One process: nobody else to tell (its hub pushes its own changes)."""

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Cursor]:
        if not write:  # one statement in autocommit: a WAL snapshot, never waits
            yield self._conn.cursor()
            return
        self._conn.execute("BEGIN IMMEDIATE")  # the write lock up front
        with self._conn:  # commits, or rolls back on an error
            yield self._conn.cursor()

    def _migrate(self) -> None:
        """Apply the missing migrations, each in its own write transaction (a second
        process opening the file at the same time waits, then finds them applied)."""
        while True:
            with self._transaction() as cur:
                version = int(cur.execute("PRAGMA user_version").fetchone()[0])
                if version == 0 and self._has_table():
                    version = 1  # made before the store counted its migrations
                if version >= SCHEMA_VERSION:
                    return
                for statement in _MIGRATIONS[version]:
                    cur.execute(statement)
                cur.execute(f"PRAGMA user_version = {version + 1}")

    def _has_table(self) -> bool:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        return found is not None

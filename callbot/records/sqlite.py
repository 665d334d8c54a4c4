"""Call records in an embedded SQLite file (the default): WAL, ``user_version`` migrations.

WAL lets the dashboard read while a call is being written; ``secure_delete`` makes erasure
and retention overwrite what they remove. One connection per store,
shared by threads under the store's lock; the event loop never touches it directly.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from callbot.errors import ConfigError
from callbot.records.rows import Cursor
from callbot.records.schema import MIGRATIONS, SCHEMA_VERSION
from callbot.records.sqlbase import SqlStore

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
"""How long a writer waits for another process's write lock before failing."""


class SqliteStore(SqlStore):
    duplicate_key_errors = (sqlite3.IntegrityError,)
    unavailable_errors = (sqlite3.OperationalError,)
    """Locked past the busy timeout, disk full or read-only, I/O error: try again later."""
    now_sql = "((julianday('now') - 2440587.5) * 86400.0)"

    def __init__(self, path: Path | str, caller_salt: str | bytes | None = None) -> None:
        super().__init__(caller_salt)
        self.path = Path(path)
        if str(path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        # Erased and purged calls and callbacks are overwritten, not left in free pages
        # (on by default only in some SQLite builds, Debian's among them).
        self._conn.execute("PRAGMA secure_delete=ON")
        with self._lock:
            self._migrate()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return int(self._conn.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Cursor]:
        cur = self._conn.cursor()
        # IMMEDIATE takes the write lock up front (no deadlock-prone upgrade later);
        # a deferred read sees a WAL snapshot and never waits for a writer.
        cur.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield cur
        except BaseException:
            self._conn.rollback()
            raise
        else:
            self._conn.commit()
        finally:
            cur.close()

    def _migrate(self) -> None:
        current = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
        if current == SCHEMA_VERSION:
            return  # nothing to do: no write lock taken (readers open while calls write)
        with self._transaction() as cur:
            version = int(cur.execute("PRAGMA user_version").fetchone()[0])
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"{self.path}: records schema {version} is newer than this callbot "
                    f"({SCHEMA_VERSION}); upgrade callbot"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    cur.execute(statement)
                logger.info("%s: records schema migrated to %d", self.path, number + 1)
            cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

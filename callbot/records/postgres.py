"""Call records in PostgreSQL, for several callbot workers sharing one database.

psycopg 3, synchronous, one connection per store under the store's lock (callers on the
event loop go through a thread, as with SQLite). A broken connection is reopened on the
next operation; while the server is down, operations fail at once with one of
:attr:`PostgresStore.unavailable_errors` and the writer (:mod:`callbot.records.writer`)
spools the records. TCP keepalives and a statement timeout bound how long a server that
stopped answering (rather than refusing) can hold the writer. Migrations run under an
advisory lock, so workers starting together migrate once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from callbot.errors import ConfigError, MissingExtra
from callbot.records.rows import Cursor
from callbot.records.schema import MIGRATIONS, SCHEMA_VERSION
from callbot.records.sqlbase import SqlStore

try:
    import psycopg
except ModuleNotFoundError as exc:  # this module is imported only for a postgresql:// URL
    raise MissingExtra("psycopg", "postgres") from exc

logger = logging.getLogger(__name__)

MIGRATION_LOCK = 0x63616C6C626F74
"""Advisory lock key ("callbot") held while the schema is migrated."""
CONNECT_TIMEOUT_S = 5
STATEMENT_TIMEOUT_MS = 30_000
KEEPALIVES = {
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
}
"""A peer that vanished (no RST) is noticed in about 25 s instead of the kernel's hours."""


class PostgresStore(SqlStore):
    placeholder = "%s"
    duplicate_key_errors = (psycopg.errors.UniqueViolation,)
    unavailable_errors = (psycopg.OperationalError, psycopg.InterfaceError)
    """Server down, shutting down (``AdminShutdown``), unreachable, connection lost,
    statement timeout: try again later."""
    now_sql = "EXTRACT(EPOCH FROM clock_timestamp())::double precision"

    def __init__(
        self,
        url: str,
        caller_salt: str | bytes | None = None,
        *,
        wait_for_database: bool = False,
    ) -> None:
        super().__init__(caller_salt)
        self._url = url
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._migrated = False
        with self._lock:
            try:
                self._migrate()
            except self.unavailable_errors as exc:
                if not wait_for_database:
                    raise
                logger.warning(
                    "records database unavailable at start-up (%s); schema checked when it answers",
                    type(exc).__name__,
                )

    @property
    def schema_version(self) -> int:
        with self._lock, self._transaction() as cur:
            cur.execute("SELECT version FROM callbot_schema")
            return int(cur.fetchall()[0][0])

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _connection(self) -> psycopg.Connection[tuple[object, ...]]:
        if self._conn is None or self._conn.closed or self._conn.broken:
            if self._conn is not None:
                logger.warning("records database connection lost; reconnecting")
            extra: dict[str, Any] = dict(KEEPALIVES)
            if "options=" not in self._url:  # the URL's own options win
                extra["options"] = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
            self._conn = psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_S, **extra)
        return self._conn

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Cursor]:
        if not self._migrated:
            self._migrate()  # the server was down when this store opened
        with self._connected() as cur:
            yield cur

    @contextmanager
    def _connected(self) -> Iterator[Cursor]:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            yield cur

    def _migrate(self) -> None:
        with self._connected() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
            cur.execute("CREATE TABLE IF NOT EXISTS callbot_schema (version INTEGER NOT NULL)")
            cur.execute("SELECT version FROM callbot_schema")
            rows = cur.fetchall()
            if not rows:
                cur.execute("INSERT INTO callbot_schema (version) VALUES (0)")
            version = int(rows[0][0]) if rows else 0
            if version > SCHEMA_VERSION:
                raise ConfigError(
                    f"records schema {version} is newer than this callbot ({SCHEMA_VERSION})"
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    cur.execute(statement)
                logger.info("records schema migrated to %d", number + 1)
            cur.execute("UPDATE callbot_schema SET version = %s", (SCHEMA_VERSION,))
        self._migrated = True

"""Call records in PostgreSQL, for several callbot workers sharing one database.

psycopg 3, synchronous, one connection per store under the store's lock (callers on the
event loop go through a thread, as with SQLite). A broken connection is reopened on the
next operation, so a database restart costs the records written meanwhile, never a call.
Migrations run under an advisory lock, so workers starting together migrate once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

from callbot.errors import ConfigError
from callbot.records.schema import MIGRATIONS, SCHEMA_VERSION
from callbot.records.sqlbase import Cursor, SqlStore

logger = logging.getLogger(__name__)

MIGRATION_LOCK = 0x63616C6C626F74
"""Advisory lock key ("callbot") held while the schema is migrated."""
CONNECT_TIMEOUT_S = 5


class PostgresStore(SqlStore):
    placeholder = "%s"
    duplicate_key_errors = (psycopg.errors.UniqueViolation,)

    def __init__(self, url: str, caller_salt: str | bytes | None = None) -> None:
        super().__init__(caller_salt)
        self._url = url
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        with self._lock:
            self._migrate()

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
            self._conn = psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_S)
        return self._conn

    @contextmanager
    def _transaction(self, write: bool = True) -> Iterator[Cursor]:
        conn = self._connection()
        with conn.transaction(), conn.cursor() as cur:
            yield cur

    def _migrate(self) -> None:
        with self._transaction() as cur:
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

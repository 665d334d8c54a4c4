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
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from callbot.errors import ConfigError, MissingExtra
from callbot.records.rows import Cursor
from callbot.records.schema import MIGRATIONS
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


def connection_options(
    url: str, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS
) -> dict[str, Any]:
    """What callbot opens every PostgreSQL connection with (records, hand-overs, cluster):
    a connect timeout, TCP keepalives, a statement timeout unless the URL sets ``options``."""
    options: dict[str, Any] = {"connect_timeout": CONNECT_TIMEOUT_S, **KEEPALIVES}
    if "options=" not in url:  # the URL's own options win
        options["options"] = f"-c statement_timeout={statement_timeout_ms}"
    return options


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
        self._db = Database(url, "records", MIGRATION_LOCK, "callbot_schema", MIGRATIONS)
        with self._lock:
            try:
                self._db.migrate()
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
            self._db.close()

    def _transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        return self._db.transaction()


class Database:
    """One connection and one schema of callbot's in PostgreSQL (records, hand-overs).

    The connection is reopened when it broke (the loss logged, naming ``what``); the
    schema is migrated at the first transaction that reaches the server, when it was down
    at start-up. Not thread-safe: its owner holds a lock around it.
    """

    def __init__(
        self,
        url: str,
        what: str,
        lock: int,
        version_table: str,
        migrations: Sequence[Sequence[str]],
        statement_timeout_ms: int = STATEMENT_TIMEOUT_MS,
    ) -> None:
        self.url = url
        self._what = what
        self._schema = (lock, version_table, migrations)
        self._timeout_ms = statement_timeout_ms
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._migrated = False

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A cursor in a transaction, committed on exit (rolled back on an error)."""
        if not self._migrated:
            self.migrate()  # the server was down when the store opened
        with self._connected() as cur:
            yield cur

    def migrate(self) -> None:
        with self._connected() as cur:
            migrate(cur, *self._schema, self._what)
        self._migrated = True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    @contextmanager
    def _connected(self) -> Iterator[Cursor]:
        conn = self._conn
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                logger.warning("%s database connection lost; reconnecting", self._what)
            options = connection_options(self.url, self._timeout_ms)
            conn = self._conn = psycopg.connect(self.url, **options)
        with conn.transaction(), conn.cursor() as cur:
            yield cur


def migrate(
    cur: Cursor, lock: int, version_table: str, migrations: Sequence[Sequence[str]], what: str
) -> None:
    """Bring one schema up to ``migrations`` inside the caller's transaction, under the
    advisory lock ``lock`` (processes starting together migrate once); the number of
    migrations applied is the one row of ``version_table``."""
    cur.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
    cur.execute(f"CREATE TABLE IF NOT EXISTS {version_table} (version INTEGER NOT NULL)")
    cur.execute(f"SELECT version FROM {version_table}")
    rows = cur.fetchall()
    if not rows:
        cur.execute(f"INSERT INTO {version_table} (version) VALUES (0)")
    version = int(rows[0][0]) if rows else 0
    latest = len(migrations)
    if version > latest:
        raise ConfigError(f"{what} schema {version} is newer than this callbot ({latest})")
    for number in range(version, latest):
        for statement in migrations[number]:
            cur.execute(statement)
        logger.info("%s schema migrated to %d", what, number + 1)
    cur.execute(f"UPDATE {version_table} SET version = %s", (latest,))

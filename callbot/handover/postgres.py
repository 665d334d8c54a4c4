"""The hand-over store shared by every node: PostgreSQL, the records' database.

Chosen when ``records.url`` (or ``cluster.database_url``) is ``postgresql://``: a context
published on one worker is then read by the console of any node, and a status that the
control role learns is written to the same row. Its own tables (``handover_contexts``,
``handover_schema``) beside the records', migrated under an advisory lock; the queries
and the caller data rules are :mod:`callbot.handover.table`'s.

Every change is ``NOTIFY``'d in the transaction that makes it (sent on commit, never
for a change rolled back), naming the change, never the caller
(:mod:`callbot.handover.postgres_listen`, which each node's hub ``LISTEN``s with).

psycopg 3, synchronous, one connection under the store's lock, reopened when it broke. A
short statement timeout: publishing a context stands between the caller and the agent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager

from callbot.errors import MissingExtra
from callbot.handover.postgres_listen import CHANNEL, Change, ChangeListener, payload
from callbot.handover.table import DEFAULT_IDENTIFIERS_TTL_S, HandoverTable
from callbot.records.postgres import Database
from callbot.records.rows import Cursor

try:
    import psycopg
except ModuleNotFoundError as exc:  # imported only for a postgresql:// URL
    raise MissingExtra("psycopg", "postgres") from exc

logger = logging.getLogger(__name__)

MIGRATION_LOCK = 0x63616C6C68616E
"""Advisory lock key ("callhan") held while the hand-over tables are migrated."""
STATEMENT_TIMEOUT_MS = 5_000
TABLE = "handover_contexts"
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        f"""CREATE TABLE {TABLE} (
            context_id TEXT PRIMARY KEY,
            created_at DOUBLE PRECISION NOT NULL,
            detail TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL,
            caller_hash TEXT,
            clear_until DOUBLE PRECISION
        )""",
        f"CREATE INDEX handover_contexts_created ON {TABLE} (created_at)",
        f"CREATE INDEX handover_contexts_caller_hash ON {TABLE} (caller_hash)",
        f"CREATE INDEX handover_contexts_clear_until ON {TABLE} (clear_until)",
    ),
)


class PostgresHandoverStore(HandoverTable):
    """The ``handover_contexts`` table of the shared database.

    A database down when the store opens is no error: the schema is migrated at the first
    operation that reaches it (until then operations raise one of :attr:`errors`).
    """

    table = TABLE
    placeholder = "%s"
    lock_due = " FOR UPDATE SKIP LOCKED"
    errors = (psycopg.Error,)
    shared = True

    def __init__(
        self,
        url: str,
        *,
        caller_salt: str | None = None,
        identifiers_ttl_s: float = DEFAULT_IDENTIFIERS_TTL_S,
    ) -> None:
        super().__init__(caller_salt, identifiers_ttl_s)
        self.url = url
        self.origin = uuid.uuid4().hex
        """Names this store's changes, so that its own hub does not take them again."""
        self._db = Database(
            url, "hand-over", MIGRATION_LOCK, "handover_schema", MIGRATIONS, STATEMENT_TIMEOUT_MS
        )
        with self._lock:
            try:
                self._db.migrate()
            except psycopg.OperationalError as exc:
                logger.warning(
                    "hand-over database unavailable at start-up (%s); schema checked when "
                    "it answers",
                    type(exc).__name__,
                )

    def listener(
        self,
        on_change: Callable[[Change], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
    ) -> ChangeListener:
        """Hears the changes of every other store on this database (not this one's)."""
        return ChangeListener(self.url, self.origin, on_change, on_resync)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _announce(self, cur: Cursor, kind: str, ref: str, event: str = "") -> None:
        cur.execute("SELECT pg_notify(%s, %s)", (CHANNEL, payload(self.origin, kind, ref, event)))

    def _transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        return self._db.transaction()

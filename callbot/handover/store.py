"""The hand-over store: every context, durable before the caller leaves the bot.

SQLite, WAL, ``synchronous=FULL``: hand-overs are rare, losing one is not an option.

Caller data rules (the README's "Privacy"): each row carries the caller's pseudonymous key
(:func:`~callbot.privacy.identity.caller_hash`, the records' salt), so that one caller's
hand-overs are exported and erased with their calls; the caller number and the captured
values stay in clear only while an agent may need them: until ``clear_until`` (the last
news of the hand-over plus ``identifiers_ttl_s``), after which
:meth:`HandoverStore.expire_identifiers` rewrites the row without them. Retention deletes
whole rows (:meth:`HandoverStore.delete_older_than`).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from pathlib import Path

from callbot.handover.context import HandoverContext
from callbot.privacy.identity import caller_hash

logger = logging.getLogger(__name__)

BUSY_TIMEOUT_S = 5.0
DEFAULT_IDENTIFIERS_TTL_S = 3600.0
"""How long after the last news of a hand-over its identifiers stay in clear."""
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

Row = tuple[HandoverContext, str]
"""A context and the detail of its last status change."""


class HandoverStore:
    """One small SQLite table: ``context_id`` -> the context's JSON (plus the last detail,
    the caller's key and when the identifiers expire).

    Blocking; the hub calls it from a thread. One connection, shared under a lock.
    """

    def __init__(
        self,
        path: Path | str,
        *,
        caller_salt: str | None = None,
        identifiers_ttl_s: float = DEFAULT_IDENTIFIERS_TTL_S,
    ) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._salt = caller_salt or None
        self._ttl_s = identifiers_ttl_s
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            # FULL: the commit is on disk (not only in the OS cache) when save() returns.
            self._conn.execute("PRAGMA synchronous=FULL")
            self._migrate()

    def save(self, ctx: HandoverContext, detail: str = "") -> None:
        """Insert or update ``ctx``; its identifiers expire ``identifiers_ttl_s`` after its
        last news (creation or status change)."""
        body = json.dumps(ctx.to_json(), ensure_ascii=False)
        last_news = ctx.status_at if ctx.status_at is not None else ctx.created_at
        clear_until = None if ctx.identifiers_expired else last_news + self._ttl_s
        with self._lock:
            self._conn.execute(
                f"INSERT INTO {TABLE} (context_id, created_at, detail, body, caller_hash,"
                " clear_until) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (context_id) DO UPDATE SET detail = excluded.detail,"
                " body = excluded.body, clear_until = excluded.clear_until",
                (ctx.context_id, ctx.created_at, detail, body, self._key(ctx), clear_until),
            )

    def load(self, context_id: str) -> Row | None:
        found = self._select("context_id = ?", (context_id,))
        return found[0] if found else None

    def newest(self, limit: int) -> list[Row]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT body, detail FROM {TABLE} ORDER BY created_at DESC LIMIT ?", (limit,)
            ).fetchall()
        return [_row(body, detail) for body, detail in rows]

    def known(self, context_ids: list[str]) -> set[str]:
        """Which of ``context_ids`` are still stored (not erased nor purged meanwhile)."""
        with self._lock:
            return {
                context_id
                for context_id in context_ids
                if self._conn.execute(
                    f"SELECT 1 FROM {TABLE} WHERE context_id = ?", (context_id,)
                ).fetchone()
            }

    def expire_identifiers(self, now: float) -> list[Row]:
        """Rewrite without identifiers every context whose clear time is over; returns
        them as now stored."""
        expired: list[Row] = []
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                rows = self._conn.execute(
                    f"SELECT body, detail FROM {TABLE} WHERE clear_until <= ?", (now,)
                ).fetchall()
                for body, detail in rows:
                    ctx = _row(body, detail)[0]
                    key = self._key(ctx)  # rows from before the key was kept get it now
                    ctx = ctx.without_identifiers()
                    self._conn.execute(
                        f"UPDATE {TABLE} SET body = ?, clear_until = NULL,"
                        " caller_hash = COALESCE(caller_hash, ?) WHERE context_id = ?",
                        (json.dumps(ctx.to_json(), ensure_ascii=False), key, ctx.context_id),
                    )
                    expired.append((ctx, detail))
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return expired

    def of_caller(self, key: str) -> list[Row]:
        """Every hand-over of the caller whose key is ``key`` (right of access)."""
        return self._select("caller_hash = ?", (key,)) if key else []

    def delete_caller(self, key: str) -> list[str]:
        """Erase every hand-over of one caller; their context ids."""
        return self._delete("caller_hash = ?", (key,)) if key else []

    def delete_older_than(self, cutoff: float) -> list[str]:
        """Retention: erase the hand-overs created before ``cutoff``; their context ids."""
        return self._delete("created_at < ?", (cutoff,))

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def _key(self, ctx: HandoverContext) -> str | None:
        if self._salt is None or not ctx.caller_number or ctx.identifiers_expired:
            return None  # an expired context keeps the key it was stored with
        return caller_hash(ctx.caller_number, self._salt) or None

    def _select(self, where: str, params: tuple[object, ...]) -> list[Row]:
        with self._lock:
            rows = self._conn.execute(
                f"SELECT body, detail FROM {TABLE} WHERE {where} ORDER BY created_at", params
            ).fetchall()
        return [_row(body, detail) for body, detail in rows]

    def _delete(self, where: str, params: tuple[object, ...]) -> list[str]:
        with self._lock:
            ids = [
                row[0]
                for row in self._conn.execute(
                    f"DELETE FROM {TABLE} WHERE {where} RETURNING context_id", params
                ).fetchall()
            ]
        return ids

    def _migrate(self) -> None:
        """Apply the missing migrations, each in its own write transaction (a second
        process opening the file at the same time waits, then finds them applied)."""
        while True:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                version = int(self._conn.execute("PRAGMA user_version").fetchone()[0])
                if version == 0 and self._has_table():
                    version = 1  # made before the store counted its migrations
                if version >= SCHEMA_VERSION:
                    self._conn.execute("COMMIT")
                    return
                for statement in _MIGRATIONS[version]:
                    self._conn.execute(statement)
                self._conn.execute(f"PRAGMA user_version = {version + 1}")
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def _has_table(self) -> bool:
        found = self._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchone()
        return found is not None


def _row(body: str, detail: str) -> Row:
    return HandoverContext.from_json(json.loads(body)), detail

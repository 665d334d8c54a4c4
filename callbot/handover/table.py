"""What the SQLite and PostgreSQL hand-over stores share: every query, and the caller data
rules.

Caller data rules (the README's "Privacy"): each row carries the caller's pseudonymous key
(:func:`~callbot.privacy.identity.caller_hash`, the records' salt), so that one caller's
hand-overs are exported and erased with their calls; the caller number and the captured
values stay in clear only while an agent may need them: until ``clear_until`` (the last
news of the hand-over plus ``identifiers_ttl_s``), after which
:meth:`HandoverTable.expire_identifiers` rewrites the row without them. Retention deletes
whole rows (:meth:`HandoverTable.delete_older_than`).

Queries are written with ``?`` placeholders (``%s`` for psycopg: :attr:`placeholder`).
Every change is announced inside its own transaction (:meth:`HandoverTable._announce`):
a no-op for the single-process SQLite store, ``NOTIFY`` for the PostgreSQL one, whose
other nodes then push it to their consoles (:mod:`callbot.handover.postgres_listen`).
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from callbot.handover.context import HandoverContext
from callbot.privacy.identity import caller_hash
from callbot.records.rows import Cursor

if TYPE_CHECKING:
    from callbot.handover.postgres_listen import Change, ChangeListener

DEFAULT_IDENTIFIERS_TTL_S = 3600.0
"""How long after the last news of a hand-over its identifiers stay in clear."""
CREATED = "handover"
"""Change kinds, as the consoles name their events: a new context, a status change (or
its identifiers expired), a context erased or purged."""
STATUS = "status"
ERASED = "erased"
CHUNK = 500
"""Ids per ``IN (...)`` list."""

Row = tuple[HandoverContext, str]
"""A context and the detail of its last status change."""


class HandoverTable(ABC):
    """One table: ``context_id`` -> the context's JSON (plus the last detail, the caller's
    key and when the identifiers expire).

    Blocking and thread-safe (one lock per store): the hub calls it from a thread.
    """

    table = "handovers"
    placeholder = "?"
    lock_due = ""
    """Appended to the select of due identifiers (PostgreSQL: rows another node's sweep is
    redacting are skipped, not waited for)."""
    errors: tuple[type[Exception], ...] = ()
    """The driver's errors: a store that fails is logged, never breaks a transfer."""
    shared = False
    """Other processes read and write the same table (and hear of its changes)."""

    def __init__(
        self,
        caller_salt: str | None = None,
        identifiers_ttl_s: float = DEFAULT_IDENTIFIERS_TTL_S,
    ) -> None:
        self._salt = caller_salt or None
        self.identifiers_ttl_s = identifiers_ttl_s
        self._lock = threading.Lock()

    @abstractmethod
    def _transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed on exit (rolled back on error)."""

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def _announce(self, cur: Cursor, kind: str, ref: str, event: str = "") -> None:
        """Tell the other processes sharing the table of a change, on commit."""

    def listener(
        self,
        on_change: Callable[[Change], Awaitable[None]],
        on_resync: Callable[[], Awaitable[None]],
    ) -> ChangeListener | None:
        """What hears the other processes' changes (None: there are none)."""
        return None

    def announce(self, kind: str, ref: str, event: str = "") -> None:
        """Tell the other processes of a change kept elsewhere (a callback ``event``: the
        records have it)."""
        if self.shared:
            with self._lock, self._transaction() as cur:
                self._announce(cur, kind, ref, event)

    def save(self, ctx: HandoverContext, detail: str = "", *, kind: str = CREATED) -> None:
        """Insert or update ``ctx``; its identifiers expire ``identifiers_ttl_s`` after its
        last news (creation or status change). ``kind``: announced as :data:`CREATED` or
        :data:`STATUS`."""
        body = json.dumps(ctx.to_json(), ensure_ascii=False)
        last_news = ctx.status_at if ctx.status_at is not None else ctx.created_at
        clear_until = None if ctx.identifiers_expired else last_news + self.identifiers_ttl_s
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"INSERT INTO {self.table} (context_id, created_at, detail, body,"
                    " caller_hash, clear_until) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (context_id) DO UPDATE SET detail = excluded.detail,"
                    " body = excluded.body, clear_until = excluded.clear_until"
                ),
                (ctx.context_id, ctx.created_at, detail, body, self._key(ctx), clear_until),
            )
            self._announce(cur, kind, ctx.context_id)

    def load(self, context_id: str) -> Row | None:
        found = self._select("context_id = ?", (context_id,))
        return found[0] if found else None

    def newest(self, limit: int) -> list[Row]:
        """The ``limit`` newest contexts, newest first."""
        with self._lock, self._transaction(write=False) as cur:
            cur.execute(
                self._sql(
                    f"SELECT body, detail FROM {self.table} ORDER BY created_at DESC LIMIT ?"
                ),
                (limit,),
            )
            rows = cur.fetchall()
        return [_row(body, detail) for body, detail in rows]

    def known(self, context_ids: list[str]) -> set[str]:
        """Which of ``context_ids`` are still stored (not erased nor purged meanwhile)."""
        found: set[str] = set()
        with self._lock, self._transaction(write=False) as cur:
            for chunk in _chunks(context_ids):
                marks = ", ".join("?" * len(chunk))
                cur.execute(
                    self._sql(f"SELECT context_id FROM {self.table} WHERE context_id IN ({marks})"),
                    chunk,
                )
                found.update(row[0] for row in cur.fetchall())
        return found

    def expire_identifiers(self, now: float) -> list[Row]:
        """Rewrite without identifiers every context whose clear time is over; returns
        them as now stored (each announced as a status change)."""
        expired: list[Row] = []
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"SELECT body, detail, caller_hash FROM {self.table}"
                    f" WHERE clear_until <= ?{self.lock_due}"
                ),
                (now,),
            )
            for body, detail, key in cur.fetchall():
                ctx = _row(body, detail)[0]
                key = key or self._key(ctx)  # rows from before the key was kept get it now
                ctx = ctx.without_identifiers()
                cur.execute(
                    self._sql(
                        f"UPDATE {self.table} SET body = ?, clear_until = NULL, caller_hash = ?"
                        " WHERE context_id = ?"
                    ),
                    (json.dumps(ctx.to_json(), ensure_ascii=False), key, ctx.context_id),
                )
                self._announce(cur, STATUS, ctx.context_id)
                expired.append((ctx, detail))
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

    def _key(self, ctx: HandoverContext) -> str | None:
        if self._salt is None or not ctx.caller_number or ctx.identifiers_expired:
            return None  # an expired context keeps the key it was stored with
        return caller_hash(ctx.caller_number, self._salt) or None

    def _select(self, where: str, params: tuple[Any, ...]) -> list[Row]:
        with self._lock, self._transaction(write=False) as cur:
            cur.execute(
                self._sql(
                    f"SELECT body, detail FROM {self.table} WHERE {where} ORDER BY created_at"
                ),
                params,
            )
            rows = cur.fetchall()
        return [_row(body, detail) for body, detail in rows]

    def _delete(self, where: str, params: tuple[Any, ...]) -> list[str]:
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"DELETE FROM {self.table} WHERE {where} RETURNING context_id, created_at"
                ),
                params,
            )
            rows = sorted(cur.fetchall(), key=lambda row: (row[1], row[0]))
            for context_id, _ in rows:
                self._announce(cur, ERASED, context_id)
        return [context_id for context_id, _ in rows]

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)


def _row(body: str, detail: str) -> Row:
    return HandoverContext.from_json(json.loads(body)), detail


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]

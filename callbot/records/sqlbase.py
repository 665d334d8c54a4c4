"""What SQLite and PostgreSQL stores share: rows to objects, and every query.

Queries are written with ``?`` placeholders; a backend whose driver wants ``%s`` sets
:attr:`SqlStore.placeholder`. Backends provide a connection-bound transaction
(:meth:`SqlStore._transaction`) and the migration bookkeeping; everything is synchronous
and thread-safe (one lock per store): callers on an event loop go through a thread.

A call's record is written from the call's start (state ``in_progress``, rewritten after
each turn) to its end (state ``final``): :meth:`SqlStore.put` finds the row by the call's
``record_token`` and updates it in place, only with a newer ``revision`` (a replayed or
late write changes nothing), and a final row only with another final write.

A call id is stored once. A second call arriving with an id already stored (another
record token: a media edge or dialplan fault, e.g. a ``v()`` parameter stuck on an
Asterisk connection) is logged at ERROR and kept as ``<id>#2`` (``#3``...) with
``duplicate_of`` set: both survive. Workers sharing a PostgreSQL database may race for
the same free id; the loser's insert fails on the primary key
(:attr:`SqlStore.duplicate_key_errors`) and it looks again.

Liveness: each writing process stamps its rows with its instance id and keeps a heartbeat
row in ``callbot_instances`` (:meth:`SqlStore.heartbeat`), on the database's own clock so
that workers on several hosts agree. :meth:`SqlStore.interrupt_stale` finalises as
``interrupted`` the in-progress rows of every other instance whose heartbeat is older than
a threshold, or missing; :mod:`callbot.records.writer` says when it runs.

Callbacks asked for in a call are written with its record, in the same transaction
(:mod:`callbot.records.callback_store`); erasing or purging calls takes their callbacks
(``ON DELETE CASCADE``).
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

from callbot.logs import call_log, for_log
from callbot.records.callback_store import CallbackQueries
from callbot.records.callbacks import Callback
from callbot.records.model import FINAL, IN_PROGRESS, StoredCall, StoredTurn
from callbot.records.outcome import Outcome
from callbot.records.rows import Cursor, call_from_row, call_row, turn_from_row, turn_row
from callbot.records.sanitize import hash_caller
from callbot.records.schema import CALL_COLUMNS, REVISION_COLUMNS, TURN_COLUMNS
from callbot.records.update import RecordUpdate, make_update

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 8
"""Tries of one save against other workers taking the same free id at the same time."""
FORGET_INSTANCES_AFTER_S = 7 * 86400.0
"""Heartbeat rows of processes gone this long are deleted by the next sweep."""
_UPDATED_COLUMNS = (
    *(c for c in CALL_COLUMNS if c not in ("call_id", "duplicate_of")),
    "revision",
    "instance_id",
)


class SqlStore(CallbackQueries, ABC):
    placeholder = "?"
    duplicate_key_errors: tuple[type[Exception], ...] = ()
    """The driver's exceptions for an insert that hit an existing primary key."""
    unavailable_errors: tuple[type[Exception], ...] = ()
    """The driver's exceptions for a database that cannot be used now (down, restarting,
    locked, connection lost): the write is worth retrying later."""
    now_sql = "0"
    """SQL for the database's clock, in unix seconds (every heartbeat uses one clock)."""

    def __init__(self, caller_salt: str | bytes | None) -> None:
        self._salt = caller_salt or None
        self._lock = threading.Lock()
        self._warned_salt = False

    @abstractmethod
    def _transaction(self, write: bool = True) -> AbstractContextManager[Cursor]:
        """A cursor inside a transaction, committed on exit (rolled back on error).

        A read-only one (``write=False``) must not wait for, nor block, writers."""

    @abstractmethod
    def close(self) -> None: ...

    def caller_hash(self, number: str) -> str | None:
        """The key under which this store files ``number``'s calls (None if not kept)."""
        if self._salt is None and number and not self._warned_salt:
            self._warned_salt = True
            logger.warning("no caller salt set: callers not kept, so no export/erasure by caller")
        return hash_caller(number, self._salt)

    def save(
        self,
        record: Mapping[str, Any],
        caller_number: str | None = None,
        *,
        final: bool = True,
        instance_id: str | None = None,
        callback: Callback | None = None,
    ) -> StoredCall | None:
        """Store one call from its journal dict, and the callback asked in it; text is
        redacted on the way.

        A record with a ``record_token`` updates that call's row (see :meth:`put`); another
        call's id is never overwritten: a duplicate id is stored as ``<id>#<n>``.
        """
        hashed = self.caller_hash(caller_number or "")
        if callback is not None:
            callback = self.filed_callback(callback, hashed)
        update = make_update(record, hashed, final=final, instance_id=instance_id)
        return self.put(dataclasses.replace(update, callback=callback))

    def filed_callback(self, callback: Callback, caller_hash: str | None) -> Callback:
        """``callback`` filed under the calling number's and the callback number's keys."""
        number_hash = self.caller_hash(callback.number or "")
        return dataclasses.replace(callback, caller_hash=caller_hash, number_hash=number_hash)

    def put(self, update: RecordUpdate) -> StoredCall | None:
        """Insert or update one call's row: the call as written (under its stored id), or
        None when the row already holds this revision or a newer one (nothing changed)."""
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                stored, inserted = self._put_once(update)
            except self.duplicate_key_errors:
                if attempt == SAVE_ATTEMPTS:
                    raise
                continue  # another worker stored this id (or token) meanwhile: look again
            if inserted and stored is not None and stored.duplicate_of is not None:
                call_log(logger, for_log(update.call.call_id)).error(
                    "duplicate call id: another call is already stored under it; "
                    "both kept, this one as %s",
                    for_log(stored.call_id),
                )
            return stored
        raise AssertionError("unreachable")

    def _put_once(self, update: RecordUpdate) -> tuple[StoredCall | None, bool]:
        with self._lock, self._transaction() as cur:
            if update.token is not None:
                cur.execute(
                    self._sql("SELECT call_id, duplicate_of FROM calls WHERE record_token = ?"),
                    [update.token],
                )
                rows = cur.fetchall()
                if rows:
                    updated = self._update(cur, update, rows[0][0], rows[0][1])
                    return self._with_callback(cur, update, updated), False
            if update.finishes:
                finished = self._finish(cur, update)
                if finished is not None:
                    return self._with_callback(cur, update, finished), False
            call = self._unused_id(cur, update.call)
            row = (*call_row(call), update.token, update.revision, update.instance_id)
            cur.execute(self._insert("calls", CALL_COLUMNS + REVISION_COLUMNS), row)
            self._insert_turns(cur, call.call_id, call.turns)
            self._with_callback(cur, update, call)
        return call, True

    def _with_callback(
        self, cur: Cursor, update: RecordUpdate, stored: StoredCall | None
    ) -> StoredCall | None:
        """The callback the caller asked for, stored with the call (under its stored id)."""
        if stored is not None and update.callback is not None:
            self._insert_callback(cur, stored.call_id, update.callback)
        return stored

    def _update(
        self, cur: Cursor, update: RecordUpdate, call_id: str, duplicate_of: str | None
    ) -> StoredCall | None:
        """Rewrite the row of ``update.token`` if this revision is newer (a final row: only
        with a final write)."""
        call = dataclasses.replace(update.call, call_id=call_id, duplicate_of=duplicate_of)
        values = dict(zip(CALL_COLUMNS, call_row(call), strict=True))
        values |= {"revision": update.revision, "instance_id": update.instance_id}
        sets = ", ".join(f"{name} = ?" for name in _UPDATED_COLUMNS)
        where = "record_token = ? AND revision < ?"
        if not update.final:
            where += f" AND state = '{IN_PROGRESS}'"
        cur.execute(
            self._sql(f"UPDATE calls SET {sets} WHERE {where}"),
            [values[name] for name in _UPDATED_COLUMNS] + [update.token, update.revision],
        )
        if cur.rowcount == 0:
            return None
        cur.execute(self._sql("DELETE FROM turns WHERE call_id = ?"), [call_id])
        self._insert_turns(cur, call_id, call.turns)
        return call

    def _finish(self, cur: Cursor, update: RecordUpdate) -> StoredCall | None:
        """Close the in-progress (or already ``interrupted``) row that another process left
        under one of ``update.finishes`` with ``update``'s outcome; None if there is none."""
        marks = ", ".join("?" * len(update.finishes))
        cur.execute(
            self._sql(
                f"SELECT call_id, duplicate_of FROM calls WHERE call_id IN ({marks}) "
                f"AND (state = '{IN_PROGRESS}' OR outcome = '{Outcome.INTERRUPTED}') "
                "ORDER BY call_id"
            ),
            list(update.finishes),
        )
        rows = cur.fetchall()
        if not rows:
            return None
        call = dataclasses.replace(update.call, call_id=rows[0][0], duplicate_of=rows[0][1])
        cur.execute(
            self._sql(
                f"UPDATE calls SET state = '{FINAL}', outcome = ?, outcome_detail = ?, "
                "hung_up_by = ?, transfer_queue = ? WHERE call_id = ?"
            ),
            [call.outcome, call.outcome_detail, call.hung_up_by, call.transfer_queue, call.call_id],
        )
        return call

    def _insert_turns(self, cur: Cursor, call_id: str, turns: Sequence[StoredTurn]) -> None:
        if turns:
            cur.executemany(
                self._insert("turns", TURN_COLUMNS), [turn_row(call_id, t) for t in turns]
            )

    def _unused_id(self, cur: Cursor, call: StoredCall) -> StoredCall:
        """``call`` itself if its id is free, else the call renamed ``<id>#<n>``."""
        taken = self._sql("SELECT 1 FROM calls WHERE call_id = ?")
        cur.execute(taken, [call.call_id])
        if not cur.fetchall():
            return call
        number = 2
        while True:
            candidate = f"{call.call_id}#{number}"
            cur.execute(taken, [candidate])
            if not cur.fetchall():
                return dataclasses.replace(call, call_id=candidate, duplicate_of=call.call_id)
            number += 1

    def heartbeat(self, instance_id: str, host: str, pid: int) -> None:
        """The process ``instance_id`` is alive: create or refresh its heartbeat row."""
        now = self.now_sql
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    "INSERT INTO callbot_instances (instance_id, host, pid, started_at, "
                    f"heartbeat_at) VALUES (?, ?, ?, {now}, {now}) ON CONFLICT (instance_id) "
                    "DO UPDATE SET heartbeat_at = excluded.heartbeat_at"
                ),
                [instance_id, host, pid],
            )

    def forget_instance(self, instance_id: str) -> None:
        """A clean stop: the heartbeat row goes (a row it left in progress is stale now)."""
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql("DELETE FROM callbot_instances WHERE instance_id = ?"), [instance_id]
            )

    def interrupt_stale(self, stale_after_s: float, alive: str | None = None) -> list[str]:
        """Finalise as ``interrupted`` the in-progress calls of every instance but ``alive``
        whose heartbeat is older than ``stale_after_s`` or missing; their stored ids."""
        ids: list[str] = []
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    "SELECT DISTINCT c.instance_id, i.host, i.pid FROM calls c "
                    "LEFT JOIN callbot_instances i ON i.instance_id = c.instance_id "
                    f"WHERE c.state = '{IN_PROGRESS}' "
                    "AND (c.instance_id IS NULL OR c.instance_id <> ?) "
                    f"AND (i.heartbeat_at IS NULL OR i.heartbeat_at < {self.now_sql} - ?)"
                ),
                [alive or "", stale_after_s],
            )
            for instance, host, pid in cur.fetchall():
                ids += self._interrupt(cur, instance, _interrupted_detail(host, pid, stale_after_s))
            cur.execute(
                self._sql(f"DELETE FROM callbot_instances WHERE heartbeat_at < {self.now_sql} - ?"),
                [FORGET_INSTANCES_AFTER_S],
            )
        return sorted(ids)

    def _interrupt(self, cur: Cursor, instance: str | None, detail: str) -> list[str]:
        same = "instance_id IS NULL" if instance is None else "instance_id = ?"
        cur.execute(
            self._sql(
                f"UPDATE calls SET state = '{FINAL}', outcome = '{Outcome.INTERRUPTED}', "
                f"outcome_detail = ? WHERE state = '{IN_PROGRESS}' AND {same} RETURNING call_id"
            ),
            [detail] if instance is None else [detail, instance],
        )
        return [row[0] for row in cur.fetchall()]

    def calls(
        self, since: float, until: float | None = None, *, in_progress: bool = False
    ) -> list[StoredCall]:
        """Calls that started in ``[since, until)`` (unix seconds), oldest first: ended
        calls only, unless ``in_progress`` (then calls going on are included)."""
        where, params = "started_at >= ?", [since]
        if until is not None:
            where, params = where + " AND started_at < ?", [since, until]
        if not in_progress:
            where += f" AND state = '{FINAL}'"
        return self._select(where, params)

    def calls_of_caller(self, caller_hash: str) -> list[StoredCall]:
        """Every call filed under ``caller_hash``, in progress or not (subject access)."""
        return self._select("caller_hash = ?", [caller_hash])

    def delete_caller(self, caller_hash: str) -> int:
        """Erase every call of one caller; returns the number of calls deleted."""
        return self._delete_where("caller_hash = ?", [caller_hash])

    def delete_older_than(self, cutoff: float) -> int:
        """Purge calls that started before ``cutoff`` (unix s); returns how many."""
        return self._delete_where("started_at < ?", [cutoff])

    def _select(self, where: str, params: list[Any]) -> list[StoredCall]:
        calls_sql = f"SELECT {', '.join(CALL_COLUMNS)} FROM calls WHERE {where}"
        turn_cols = ", ".join(f"t.{c}" for c in TURN_COLUMNS)
        turns_sql = (
            f"SELECT {turn_cols} FROM turns t JOIN calls ON calls.call_id = t.call_id "
            f"WHERE {where} ORDER BY t.call_id, t.idx"
        )
        with self._lock, self._transaction(write=False) as cur:
            cur.execute(self._sql(calls_sql + " ORDER BY started_at, call_id"), params)
            call_rows = cur.fetchall()
            cur.execute(self._sql(turns_sql), params)
            turn_rows = cur.fetchall()
        turns: dict[str, list[StoredTurn]] = {}
        for row in turn_rows:
            turns.setdefault(row[0], []).append(turn_from_row(row))
        return [call_from_row(row, turns.get(row[0], [])) for row in call_rows]

    def _delete_where(self, where: str, params: list[Any]) -> int:
        with self._lock, self._transaction() as cur:
            cur.execute(self._sql(f"SELECT call_id FROM calls WHERE {where}"), params)
            ids = [row[0] for row in cur.fetchall()]
            self._delete_ids(cur, ids)
        return len(ids)

    def _delete_ids(self, cur: Cursor, ids: list[str]) -> None:
        for chunk in _chunks(ids, 500):
            marks = ", ".join("?" * len(chunk))
            cur.execute(self._sql(f"DELETE FROM turns WHERE call_id IN ({marks})"), chunk)
            cur.execute(self._sql(f"DELETE FROM calls WHERE call_id IN ({marks})"), chunk)

    def _insert(self, table: str, columns: Sequence[str]) -> str:
        marks = ", ".join("?" * len(columns))
        return self._sql(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})")

    def _sql(self, sql: str) -> str:
        return sql if self.placeholder == "?" else sql.replace("?", self.placeholder)


def _interrupted_detail(host: str | None, pid: int | None, stale_after_s: float) -> str:
    which = "an unknown process" if host is None else f"process {pid} on {host}"
    return (
        f"callbot stopped during the call ({which}: no heartbeat for over "
        f"{stale_after_s:g} s); record as of the last completed turn"
    )


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""The callbacks table: what the SQL stores do with callback work items.

A mixin of :class:`~callbot.records.sqlbase.SqlStore`, which provides the lock, the
transactions and the placeholder style. A callback is written with its call's final
record, in the same transaction (:meth:`CallbackQueries._insert_callback`, idempotent:
a replayed record does not duplicate it). Claiming and closing are single conditional
updates, so two agents racing for one item (two consoles, two workers sharing a
PostgreSQL database) cannot both get it: the one whose update changed no row is told
who holds it.
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

from callbot.records.callbacks import CLAIMED, CLOSED, EXPIRED, OPEN, PENDING, RESULTS, Callback
from callbot.records.rows import Cursor, callback_from_row, callback_row
from callbot.records.schema import CALLBACK_COLUMNS

Change = tuple[Callback | None, bool]
"""The item as it stands after the request (None: no such id), and whether the request
changed it (False: another agent holds it, or it is closed or expired)."""
_PENDING_SQL = ", ".join(f"'{status}'" for status in PENDING)


class CallbackQueries:
    """Callback items in the records database (see the module)."""

    _lock: threading.Lock

    @abstractmethod
    def _transaction(self, write: bool = True) -> AbstractContextManager[Cursor]: ...

    @abstractmethod
    def _sql(self, sql: str) -> str: ...

    def callbacks(
        self,
        since: float | None = None,
        until: float | None = None,
        *,
        statuses: Sequence[str] = (),
    ) -> list[Callback]:
        """Callbacks asked for in ``[since, until)`` (unix s), in ``statuses`` (all if
        empty), oldest first."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if since is not None:
            where.append("created_at >= ?")
            params.append(since)
        if until is not None:
            where.append("created_at < ?")
            params.append(until)
        if statuses:
            where.append(f"status IN ({', '.join('?' * len(statuses))})")
            params += list(statuses)
        return self._select_callbacks(" AND ".join(where), params)

    def callback(self, callback_id: str) -> Callback | None:
        found = self._select_callbacks("callback_id = ?", [callback_id])
        return found[0] if found else None

    def callbacks_of_caller(self, caller_hash: str) -> list[Callback]:
        """Callbacks asked from, or to be made to, the caller of ``caller_hash``."""
        return self._select_callbacks("caller_hash = ? OR number_hash = ?", [caller_hash] * 2)

    def claim_callback(self, callback_id: str, agent: str, now: float) -> Change:
        """``agent`` takes an open item (claiming one's own again changes nothing)."""
        return self._change(
            callback_id,
            f"status = '{CLAIMED}', claimed_by = ?, claimed_at = ?",
            [agent, now],
            f"status = '{OPEN}'",
            [],
        )

    def release_callback(self, callback_id: str, agent: str) -> Change:
        """``agent`` gives back an item they claimed: open again, for anyone."""
        return self._change(
            callback_id,
            f"status = '{OPEN}', claimed_by = NULL, claimed_at = NULL",
            [],
            f"status = '{CLAIMED}' AND claimed_by = ?",
            [agent],
        )

    def close_callback(self, callback_id: str, agent: str, result: str, now: float) -> Change:
        """``agent``, who claimed the item, closes it with ``result`` (one of
        :data:`~callbot.records.callbacks.RESULTS`); the number is erased."""
        if result not in RESULTS:
            raise ValueError(f"unknown callback result {result!r}")
        return self._change(
            callback_id,
            f"status = '{CLOSED}', result = ?, closed_at = ?, number = NULL",
            [result, now],
            f"status = '{CLAIMED}' AND claimed_by = ?",
            [agent],
        )

    def expire_callbacks(self, asked_before: float, now: float) -> int:
        """Items still owed but asked for before ``asked_before``: expired, number erased.
        Returns how many."""
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(
                    f"UPDATE callbacks SET status = '{EXPIRED}', number = NULL, closed_at = ? "
                    f"WHERE status IN ({_PENDING_SQL}) AND created_at < ?"
                ),
                [now, asked_before],
            )
            return max(cur.rowcount, 0)

    def delete_callbacks_of_caller(self, caller_hash: str) -> int:
        """Erase the callbacks asked from, or to be made to, one caller; how many."""
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql("DELETE FROM callbacks WHERE caller_hash = ? OR number_hash = ?"),
                [caller_hash, caller_hash],
            )
            return max(cur.rowcount, 0)

    def _insert_callback(self, cur: Cursor, call_id: str, callback: Callback) -> None:
        """Store ``callback`` of the call stored as ``call_id`` (a replay: no-op)."""
        row = callback_row(callback.stored())
        row = (row[0], call_id, *row[2:])
        marks = ", ".join("?" * len(CALLBACK_COLUMNS))
        cur.execute(
            self._sql(
                f"INSERT INTO callbacks ({', '.join(CALLBACK_COLUMNS)}) VALUES ({marks}) "
                "ON CONFLICT (callback_id) DO NOTHING"
            ),
            row,
        )

    def _change(
        self, callback_id: str, sets: str, values: list[Any], when: str, when_values: list[Any]
    ) -> Change:
        with self._lock, self._transaction() as cur:
            cur.execute(
                self._sql(f"UPDATE callbacks SET {sets} WHERE callback_id = ? AND {when}"),
                [*values, callback_id, *when_values],
            )
            changed = cur.rowcount > 0
            cur.execute(self._sql(f"{_SELECT} WHERE callback_id = ?"), [callback_id])
            rows = cur.fetchall()
        return (callback_from_row(rows[0]) if rows else None), changed

    def _select_callbacks(self, where: str, params: list[Any]) -> list[Callback]:
        with self._lock, self._transaction(write=False) as cur:
            cur.execute(self._sql(f"{_SELECT} WHERE {where} ORDER BY created_at"), params)
            return [callback_from_row(row) for row in cur.fetchall()]


_SELECT = f"SELECT {', '.join(CALLBACK_COLUMNS)} FROM callbacks"

"""What SQLite and PostgreSQL stores share: rows to objects, and every query.

Queries are written with ``?`` placeholders; a backend whose driver wants ``%s`` sets
:attr:`SqlStore.placeholder`. Backends provide a connection-bound transaction
(:meth:`SqlStore._transaction`) and the migration bookkeeping; everything is synchronous
and thread-safe (one lock per store): callers on an event loop go through a thread.

A call id is stored once. A second call arriving with an id already stored (a media edge
or dialplan fault, e.g. a ``v()`` parameter stuck on an Asterisk connection) is logged at
ERROR and kept as ``<id>#2`` (``#3``...) with ``duplicate_of`` set: both survive. Workers
sharing a PostgreSQL database may race for the same free id; the loser's insert fails on
the primary key (:attr:`SqlStore.duplicate_key_errors`) and it looks again.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from callbot.logs import for_log
from callbot.records.model import StoredCall, StoredTurn, from_journal
from callbot.records.sanitize import hash_caller
from callbot.records.schema import CALL_COLUMNS, TURN_COLUMNS

logger = logging.getLogger(__name__)

SAVE_ATTEMPTS = 8
"""Tries of one save against other workers taking the same free id at the same time."""


class Cursor(Protocol):
    def execute(self, sql: Any, params: Sequence[Any] = ..., /) -> Any: ...
    def executemany(self, sql: Any, params: Sequence[Sequence[Any]], /) -> Any: ...
    def fetchall(self) -> list[Any]: ...

    @property
    def rowcount(self) -> int: ...


class SqlStore(ABC):
    placeholder = "?"
    duplicate_key_errors: tuple[type[Exception], ...] = ()
    """The driver's exceptions for an insert that hit an existing primary key."""

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

    def save(self, record: Mapping[str, Any], caller_number: str | None = None) -> StoredCall:
        """Store one call from its journal dict; text is redacted on the way.

        Never replaces a stored call: a duplicate id is stored as ``<id>#<n>`` (returned).
        """
        call = from_journal(record, self.caller_hash(caller_number or ""))
        for attempt in range(1, SAVE_ATTEMPTS + 1):
            try:
                stored = self._insert_call(call)
            except self.duplicate_key_errors:
                if attempt == SAVE_ATTEMPTS:
                    raise
                continue  # another worker stored this id meanwhile: look again
            if stored.duplicate_of is not None:
                logger.error(
                    "call %s: duplicate call id: another call is already stored under it; "
                    "both kept, this one as %s",
                    for_log(call.call_id),
                    for_log(stored.call_id),
                )
            return stored
        raise AssertionError("unreachable")

    def _insert_call(self, call: StoredCall) -> StoredCall:
        with self._lock, self._transaction() as cur:
            call = self._unused_id(cur, call)
            cur.execute(self._insert("calls", CALL_COLUMNS), _call_row(call))
            if call.turns:
                cur.executemany(
                    self._insert("turns", TURN_COLUMNS), [_turn_row(call, t) for t in call.turns]
                )
        return call

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

    def calls(self, since: float, until: float | None = None) -> list[StoredCall]:
        """Calls that started in ``[since, until)`` (unix seconds), oldest first."""
        where, params = "started_at >= ?", [since]
        if until is not None:
            where, params = where + " AND started_at < ?", [since, until]
        return self._select(where, params)

    def calls_of_caller(self, caller_hash: str) -> list[StoredCall]:
        """Every call filed under ``caller_hash`` (for a subject access request)."""
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
            turns.setdefault(row[0], []).append(_turn_from_row(row))
        return [_call_from_row(row, turns.get(row[0], [])) for row in call_rows]

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


def _chunks(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _call_row(call: StoredCall) -> tuple[Any, ...]:
    values = {name: getattr(call, name) for name in CALL_COLUMNS}
    values["errors"] = json.dumps(list(call.errors), ensure_ascii=False)
    return tuple(values[name] for name in CALL_COLUMNS)


def _turn_row(call: StoredCall, turn: StoredTurn) -> tuple[Any, ...]:
    return (
        call.call_id,
        turn.index,
        turn.caller_text,
        turn.dtmf,
        turn.intent,
        turn.confidence,
        turn.outcome,
        turn.latency_ms,
        turn.asr_ms,
        int(turn.barged_in),
        turn.hook_status,
        json.dumps(list(turn.slots)),
        json.dumps(list(turn.bot_text), ensure_ascii=False),
    )


def _call_from_row(row: Sequence[Any], turns: list[StoredTurn]) -> StoredCall:
    data = dict(zip(CALL_COLUMNS, row, strict=True))
    data["errors"] = tuple(json.loads(data["errors"]))
    return StoredCall(**data, turns=tuple(turns))


def _turn_from_row(row: Sequence[Any]) -> StoredTurn:
    data = dict(zip(TURN_COLUMNS, row, strict=True))
    return StoredTurn(
        index=data["idx"],
        caller_text=data["caller_text"],
        dtmf=data["dtmf"],
        intent=data["intent"],
        confidence=data["confidence"],
        outcome=data["outcome"],
        latency_ms=data["latency_ms"],
        asr_ms=data["asr_ms"],
        barged_in=bool(data["barged_in"]),
        hook_status=data["hook_status"],
        slots=tuple(json.loads(data["slots"])),
        bot_text=tuple(json.loads(data["bot_text"])),
    )

"""The records store interface, and how to open one from a URL.

A store is synchronous (SQLite and psycopg are); the call runner talks to the
:class:`~callbot.records.writer.RecordWriter` instead, which only enqueues and writes on
its own thread, spooling to disk while the database is down: a store that fails never
breaks nor delays a call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from callbot.records.callback_store import Change
from callbot.records.callbacks import Callback
from callbot.records.model import StoredCall
from callbot.records.update import RecordUpdate


class RecordStore(Protocol):
    """What the runner, the KPIs, the dashboard and privacy tooling need from a store.

    Times are unix seconds. Every method blocks: call them from a thread
    (``asyncio.to_thread``) when on an event loop.
    """

    @property
    def unavailable_errors(self) -> tuple[type[Exception], ...]:
        """Errors of a database that cannot be used now (worth a retry later)."""
        ...

    def save(
        self,
        record: Mapping[str, Any],
        caller_number: str | None = None,
        *,
        final: bool = True,
        instance_id: str | None = None,
        callback: Callback | None = None,
    ) -> StoredCall | None:
        """Store or update one call, given as ``CallJournal.snapshot()``, and the
        callback asked in it."""
        ...

    def put(self, update: RecordUpdate) -> StoredCall | None:
        """Insert or update one call's row (None: it holds this revision or newer)."""
        ...

    def heartbeat(self, instance_id: str, host: str, pid: int) -> None: ...
    def forget_instance(self, instance_id: str) -> None: ...
    def interrupt_stale(self, stale_after_s: float, alive: str | None = None) -> list[str]: ...
    def calls(
        self, since: float, until: float | None = None, *, in_progress: bool = False
    ) -> list[StoredCall]: ...
    def calls_of_caller(self, caller_hash: str) -> list[StoredCall]: ...
    def delete_caller(self, caller_hash: str) -> int: ...
    def delete_older_than(self, cutoff: float) -> int: ...
    def caller_hash(self, number: str) -> str | None: ...
    def filed_callback(self, callback: Callback, caller_hash: str | None) -> Callback: ...
    def callbacks(
        self,
        since: float | None = None,
        until: float | None = None,
        *,
        statuses: Sequence[str] = (),
    ) -> list[Callback]: ...
    def callback(self, callback_id: str) -> Callback | None: ...
    def callbacks_of_caller(self, caller_hash: str) -> list[Callback]: ...
    def claim_callback(self, callback_id: str, agent: str, now: float) -> Change: ...
    def release_callback(self, callback_id: str, agent: str) -> Change: ...
    def close_callback(self, callback_id: str, agent: str, result: str, now: float) -> Change: ...
    def expire_callbacks(self, asked_before: float, now: float) -> int: ...
    def delete_callbacks_of_caller(self, caller_hash: str) -> int: ...
    def close(self) -> None: ...


def open_store(
    url: str, caller_salt: str | bytes | None = None, *, wait_for_database: bool = False
) -> RecordStore:
    """A store for ``url``: ``postgresql://...`` (or ``postgres://``), else a SQLite path.

    ``sqlite:///relative/path`` and ``sqlite:////absolute/path`` are accepted too.
    Blocking (connects and migrates the schema). ``wait_for_database``: a PostgreSQL server
    that is down now is not an error (the schema is migrated when it answers).
    """
    if url.startswith(("postgresql://", "postgres://")):
        from callbot.records.postgres import PostgresStore

        return PostgresStore(url, caller_salt, wait_for_database=wait_for_database)
    from callbot.records.sqlite import SqliteStore

    return SqliteStore(url.removeprefix("sqlite:///"), caller_salt)

"""The records store interface, how to open one from a URL, and the non-blocking writer.

A store is synchronous (SQLite and psycopg are); :class:`RecordWriter` is what the call
runner talks to: :meth:`RecordWriter.submit` only enqueues, and one thread writes. A store
that fails is logged with the call id and skipped: it never breaks or delays a call.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from callbot.records.model import StoredCall

logger = logging.getLogger(__name__)


class RecordStore(Protocol):
    """What the runner, the KPIs, the dashboard and privacy tooling need from a store.

    Times are unix seconds. Every method blocks: call them from a thread
    (``asyncio.to_thread``) when on an event loop.
    """

    def save(self, record: Mapping[str, Any], caller_number: str | None = None) -> StoredCall:
        """Store (or replace) one call, given as ``CallJournal.to_dict()``."""
        ...

    def calls(self, since: float, until: float | None = None) -> list[StoredCall]: ...
    def calls_of_caller(self, caller_hash: str) -> list[StoredCall]: ...
    def delete_caller(self, caller_hash: str) -> int: ...
    def delete_older_than(self, cutoff: float) -> int: ...
    def caller_hash(self, number: str) -> str | None: ...
    def close(self) -> None: ...


def open_store(url: str, caller_salt: str | bytes | None = None) -> RecordStore:
    """A store for ``url``: ``postgresql://...`` (or ``postgres://``), else a SQLite path.

    ``sqlite:///relative/path`` and ``sqlite:////absolute/path`` are accepted too.
    Blocking (connects and migrates the schema).
    """
    if url.startswith(("postgresql://", "postgres://")):
        from callbot.records.postgres import PostgresStore

        return PostgresStore(url, caller_salt)
    from callbot.records.sqlite import SqliteStore

    return SqliteStore(url.removeprefix("sqlite:///"), caller_salt)


class RecordWriter:
    """Writes call records on one background thread, in the order they were submitted."""

    def __init__(self, store: RecordStore, max_pending: int = 1000) -> None:
        self.store = store
        self.written = 0
        self.failed = 0
        self.dropped = 0
        self._queue: queue.Queue[tuple[Mapping[str, Any], str | None] | None] = queue.Queue(
            max_pending
        )
        self._thread = threading.Thread(target=self._run, name="records-writer", daemon=True)
        self._thread.start()

    def submit(self, record: Mapping[str, Any], caller_number: str | None = None) -> bool:
        """Queue one call's record; never blocks. False if it had to be dropped."""
        try:
            self._queue.put_nowait((record, caller_number))
        except queue.Full:
            self.dropped += 1
            logger.error("call %s: record dropped (records store backlog full)", _id(record))
            return False
        return True

    def flush(self) -> None:
        """Block until every record submitted so far is written (or has failed)."""
        self._queue.join()

    def close(self, timeout_s: float = 10.0) -> None:
        """Write what is pending, stop the thread and close the store (blocking)."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error("records writer still busy after %.0f s; records may be lost", timeout_s)
            return
        self.store.close()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._write(*item)
            finally:
                self._queue.task_done()

    def _write(self, record: Mapping[str, Any], caller_number: str | None) -> None:
        try:
            self.store.save(record, caller_number)
        except Exception as exc:  # a store failure must never reach a call
            self.failed += 1
            logger.error("call %s: record not stored: %s", _id(record), type(exc).__name__)
        else:
            self.written += 1


def _id(record: Mapping[str, Any]) -> str:
    return str(record.get("call_id", "?"))

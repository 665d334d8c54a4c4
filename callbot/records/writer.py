"""The records writer: every call's record reaches the database, even through outages.

The call runner hands over a call's record at its start, after each completed turn
(state ``in_progress``) and at its end (``final``): :meth:`RecordWriter.submit` only
enqueues, so the event loop never waits, and one thread does the rest, in order:

* **Database up**: the update is written (:meth:`~callbot.records.sqlbase.SqlStore.put`:
  the call's row is created, then updated in place; only a newer revision applies).
* **Database down** (the store raises one of its ``unavailable_errors``): the update goes
  to the on-disk spool (:mod:`callbot.records.spool`, fsync'd, bounded; a call's updates
  share one entry), and so does every later one while the spool is not empty, to keep
  the order. The database is tried again after 0.5 s, doubling up to ``retry_max_s``;
  once it answers, the spool is replayed oldest first, each entry deleted only after the
  database has it: in order and exactly once (a replay repeated after a crash is a no-op).
  A spool left by a process that died is replayed by the next one started on it.
* **A record that cannot be kept** (spool full, spool disk failing, record the database
  rejects, in-memory backlog full) is never dropped silently: an ERROR line with the call
  id and ``callbot_records_lost_total{reason}``.

The ``interrupted`` rule (works for one process or many sharing a database):

* each writer has an instance id, stamped on every row it writes, and refreshes its
  heartbeat row (``callbot_instances``, on the database's clock) every ``heartbeat_s``,
  always before writing its first record;
* at start-up and every ``heartbeat_s``, each writer finalises as outcome ``interrupted``
  the in-progress rows of every *other* instance whose heartbeat is older than
  ``interrupted_after_s``, or missing (a crashed process, ``kill -9``, a lost host); the
  detail names the process. A crash thus loses at most the turn in progress, and its
  calls show as interrupted within ``interrupted_after_s`` plus one ``heartbeat_s``;
* a process that was only cut off (its heartbeat stale, but alive) later writes its final
  records, which replace ``interrupted`` (a final row accepts a newer final revision);
* a clean stop deletes the process's heartbeat row.

The same sweep expires the callbacks still owed after ``callback_expiry_hours`` (their
numbers are erased: :mod:`callbot.records.callbacks`).
"""

from __future__ import annotations

import functools
import logging
import os
import queue
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from callbot.logs import call_log, for_log
from callbot.records.callbacks import Callback
from callbot.records.model import StoredCall
from callbot.records.settings import RecordsSettings
from callbot.records.spool import Spool
from callbot.records.update import RecordUpdate, make_update

logger = logging.getLogger(__name__)

FIRST_RETRY_S = 0.5
REPLAY_BATCH = 200
"""Spooled records replayed between two looks at the in-memory queue."""
STOP_REPLAY_S = 5.0
"""At a clean stop, how long the spool may still be replayed (the rest waits on disk)."""
LOSS_REASONS = ("backlog_full", "spool_full", "spool_error", "rejected", "corrupt")


class WriterStore(Protocol):
    """What the writer needs of a store (:class:`~callbot.records.sqlbase.SqlStore`)."""

    @property
    def unavailable_errors(self) -> tuple[type[Exception], ...]:
        """Errors of a database that cannot be used now (worth a retry later)."""
        ...

    def caller_hash(self, number: str) -> str | None: ...
    def filed_callback(self, callback: Callback, caller_hash: str | None) -> Callback: ...
    def put(self, update: RecordUpdate) -> StoredCall | None: ...
    def expire_callbacks(self, asked_before: float, now: float) -> int: ...
    def heartbeat(self, instance_id: str, host: str, pid: int) -> None: ...
    def forget_instance(self, instance_id: str) -> None: ...
    def interrupt_stale(self, stale_after_s: float, alive: str | None = None) -> list[str]: ...
    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class WriterStats:
    """Counters since start (spool figures: now), for ``/metrics``."""

    written: int
    """Updates written straight to the database."""
    spooled: int
    """Updates written to the spool."""
    replayed: int
    """Spooled calls written to the database once it answered."""
    interrupted: int
    """Calls of dead processes this writer finalised as ``interrupted``."""
    lost: Mapping[str, int]
    """Records lost, by reason (:data:`LOSS_REASONS`)."""
    spool_records: int
    spool_bytes: int
    spool_full: bool
    database_up: bool


_Item = tuple[Mapping[str, Any], "str | None", bool, tuple[str, ...], "Callback | None"]


class RecordWriter:
    """Writes call records on one background thread, in the order they were submitted."""

    def __init__(
        self,
        store: WriterStore,
        spool: Spool,
        settings: RecordsSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.spool = spool
        self.settings = settings or RecordsSettings()
        self.instance_id = uuid.uuid4().hex
        self.written = self.spooled = self.replayed = self.interrupted = 0
        self.lost = dict.fromkeys(LOSS_REASONS, 0)
        self._clock = clock
        self._wall_clock = wall_clock
        self._host, self._pid = socket.gethostname(), os.getpid()
        self._down_since: float | None = None
        self._retry_at = self._beat_due = 0.0
        self._backoff_s = 0.0
        self._queue: queue.Queue[_Item | None] = queue.Queue(self.settings.max_pending)
        self._thread = threading.Thread(target=self._run, name="records-writer", daemon=True)
        self._thread.start()

    def submit(
        self,
        record: Mapping[str, Any],
        caller_number: str | None = None,
        *,
        final: bool = True,
        finishes: tuple[str, ...] = (),
        callback: Callback | None = None,
    ) -> bool:
        """Queue one update of a call's record (``CallJournal.snapshot()``); never blocks.

        ``final=False``: the call goes on. ``finishes``: see :class:`RecordUpdate`.
        ``callback``: the callback the caller asked for, stored with the call.
        False if it had to be dropped (logged at ERROR)."""
        try:
            self._queue.put_nowait((record, caller_number, final, finishes, callback))
        except queue.Full:
            self.lost["backlog_full"] += 1
            call_log(logger, for_log(str(record.get("call_id", "?")))).error(
                "record lost: records writer backlog full (%d waiting)", self.settings.max_pending
            )
            return False
        return True

    def flush(self) -> None:
        """Block until every update submitted so far is written, spooled or lost."""
        self._queue.join()

    def wait_settled(self, timeout_s: float) -> bool:
        """Block until everything submitted is in the database (spool empty), or time out."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0 and len(self.spool) == 0:
                return True
            time.sleep(0.02)
        return False

    def stats(self) -> WriterStats:
        lost = dict(self.lost)
        lost["corrupt"] += self.spool.corrupt
        lost["spool_full"] += self.spool.refused_on_adoption
        return WriterStats(
            written=self.written,
            spooled=self.spooled,
            replayed=self.replayed,
            interrupted=self.interrupted,
            lost=lost,
            spool_records=len(self.spool),
            spool_bytes=self.spool.bytes,
            spool_full=self.spool.full,
            database_up=self._down_since is None,
        )

    def close(self, timeout_s: float = 20.0) -> None:
        """Write what is pending (what the database does not take stays in the spool for
        the next start), stop the thread, close the spool and the store (blocking)."""
        self._queue.put(None)
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.error("records writer still busy after %.0f s; records may be lost", timeout_s)
            return
        self.spool.close()
        self.store.close()

    def _run(self) -> None:
        self._maintain()
        while True:
            try:
                item = self._queue.get(timeout=self._idle_s())
            except queue.Empty:
                self._maintain()
                continue
            try:
                if item is None:
                    self._stop()
                    return
                self._handle(*item)
            finally:
                self._queue.task_done()
            self._maintain()

    def _idle_s(self) -> float:
        now = self._clock()
        if len(self.spool) and now >= self._retry_at:
            return 0.0
        due = self._beat_due if now >= self._retry_at else self._retry_at
        return max(0.0, due - now)

    def _handle(
        self,
        record: Mapping[str, Any],
        number: str | None,
        final: bool,
        finishes: tuple[str, ...],
        callback: Callback | None,
    ) -> None:
        try:
            hashed = self.store.caller_hash(number or "")
            update = make_update(
                record,
                hashed,
                final=final,
                instance_id=self.instance_id,
                finishes=finishes,
                new_token=True,
                callback=None if callback is None else self.store.filed_callback(callback, hashed),
            )
        except Exception as exc:  # a malformed record must not stop the writer
            self._lose("rejected", str(record.get("call_id", "?")), type(exc).__name__)
            return
        if len(self.spool) or self._clock() < self._retry_at:
            self._to_spool(update)  # behind what waits already: the order is kept
            return
        done = self._attempt(functools.partial(self.store.put, update), update)
        if done == "done":
            self.written += 1
        elif done == "down":
            self._to_spool(update)

    def _maintain(self) -> None:
        """Heartbeat, replay and sweep, each when due and while the database answers."""
        now = self._clock()
        if now < self._retry_at:
            return
        if now >= self._beat_due or self._down_since is not None:  # first thing when back
            self._beat_due = now + self.settings.heartbeat_s
            beat = lambda: self.store.heartbeat(self.instance_id, self._host, self._pid)  # noqa: E731
            if self._attempt(beat) == "down":
                return  # (a heartbeat that failed otherwise is logged; records go on)
            if len(self.spool) == 0:
                self._attempt(self._sweep)
        if len(self.spool):
            self._replay()

    def _replay(self) -> None:
        for _ in range(REPLAY_BATCH):
            update = self.spool.head()
            if update is None:
                break
            done = self._attempt(functools.partial(self.store.put, update), update)
            if done == "down":
                return
            if done == "done":
                self.replayed += 1
            self.spool.remove(update)  # in the database now, or refused by it for good
        if len(self.spool) == 0:
            logger.info("records spool empty: %d record(s) replayed so far", self.replayed)
            self._attempt(self._sweep)

    def _sweep(self) -> None:
        stale_s = self.settings.interrupted_after_s
        ids = self.store.interrupt_stale(stale_s, alive=self.instance_id)
        if ids:
            self.interrupted += len(ids)
            shown = ", ".join(for_log(i) for i in ids[:10]) + (" ..." if len(ids) > 10 else "")
            logger.warning(
                "%d call(s) of a callbot process that stopped (no heartbeat for %g s) "
                "recorded as interrupted: %s",
                len(ids),
                stale_s,
                shown,
            )
        hours = self.settings.callback_expiry_hours
        now = self._wall_clock()
        expired = self.store.expire_callbacks(now - hours * 3600.0, now)
        if expired:
            logger.warning(
                "%d callback(s) still owed after %g h: expired, their numbers erased",
                expired,
                hours,
            )

    def _attempt(
        self, operation: Callable[[], object], update: RecordUpdate | None = None
    ) -> Literal["done", "down", "failed"]:
        """Run one database operation: ``down`` if the database is unavailable (a retry is
        scheduled), ``failed`` if it refused it for good (``update`` lost, logged)."""
        try:
            operation()
        except self.store.unavailable_errors as exc:
            self._down(exc)
            return "down"
        except Exception as exc:
            if update is None:
                logger.exception("records database: maintenance failed")
            else:
                self._lose("rejected", update.call.call_id, f"{type(exc).__name__}: {exc}")
            return "failed"
        if self._down_since is not None:
            logger.warning(
                "records database answers again after %.1f s; replaying %d spooled record(s)",
                self._clock() - self._down_since,
                len(self.spool),
            )
            self._down_since, self._backoff_s = None, 0.0
        return "done"

    def _down(self, exc: Exception) -> None:
        now = self._clock()
        if self._down_since is None:
            self._down_since, self._backoff_s = now, FIRST_RETRY_S
            logger.warning(
                "records database unavailable (%s); records kept in the spool %s until it answers",
                type(exc).__name__,
                self.spool.directory,
            )
        else:
            self._backoff_s = min(self._backoff_s * 2.0, self.settings.retry_max_s)
        self._retry_at = now + self._backoff_s

    def _to_spool(self, update: RecordUpdate) -> None:
        try:
            spooled = self.spool.add(update)
        except OSError as exc:
            self._lose("spool_error", update.call.call_id, f"spool not writable ({exc})")
            return
        if spooled.outcome in ("added", "replaced"):
            self.spooled += 1
        elif spooled.outcome == "refused":
            self._lose("spool_full", update.call.call_id, self._full_text())
        if spooled.evicted is not None:
            self._lose(
                "spool_full",
                spooled.evicted,
                self._full_text() + f"; its in-progress record made room for call "
                f"{for_log(update.call.call_id)}'s final one",
            )

    def _full_text(self) -> str:
        spool = self.spool
        return (
            f"records spool full ({len(spool)} calls, {spool.bytes / 2**20:.1f} MiB; limits "
            f"{spool.max_records} calls, {spool.max_bytes / 2**20:.1f} MiB)"
        )

    def _lose(self, reason: str, call_id: str, why: str) -> None:
        self.lost[reason] += 1
        call_log(logger, for_log(call_id)).error("record lost: %s", why)

    def _stop(self) -> None:
        deadline = time.monotonic() + STOP_REPLAY_S
        self._maintain()
        while len(self.spool) and self._down_since is None and time.monotonic() < deadline:
            self._replay()
        if len(self.spool):
            logger.warning(
                "records: %d record(s) left in the spool %s, replayed at the next start",
                len(self.spool),
                self.spool.directory,
            )
        elif self._clock() >= self._retry_at:
            self._attempt(lambda: self.store.forget_instance(self.instance_id))

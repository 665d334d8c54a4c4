"""The writer between the call runner and the store: never blocks, never loses silently.

A store double whose database can be switched off drives the outage paths exactly; the
real SQLite store checks the whole chain. PostgreSQL outages and ``kill -9`` are in
``test_durability.py``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from callbot.observability.metrics import CallMetrics
from callbot.records.callbacks import Callback
from callbot.records.model import StoredCall
from callbot.records.settings import RecordsSettings
from callbot.records.spool import Spool
from callbot.records.store import open_store
from callbot.records.update import RecordUpdate
from callbot.records.writer import RecordWriter
from tests.records.seed import journal
from tests.records.test_callbacks import a_callback

T0 = 1_793_000_000.0
FAST = RecordsSettings(retry_max_s=0.05, heartbeat_s=0.05, interrupted_after_s=1.0)


class Unavailable(Exception):
    """The double's 'database down'."""


class FlakyStore:
    """Applies updates like the SQL stores (newest revision wins); ``up`` switches the
    database on and off; ``release`` holds every write; ids with ``fail`` are refused."""

    unavailable_errors = (Unavailable,)

    def __init__(self) -> None:
        self.up = True
        self.release = threading.Event()
        self.release.set()
        self.rows: dict[str, RecordUpdate] = {}
        self.applied: list[tuple[str, int]] = []
        self.heartbeats = 0
        self.closed = False
        self.expiries: list[tuple[float, float]] = []

    def caller_hash(self, number: str) -> str | None:
        return None

    def put(self, update: RecordUpdate) -> StoredCall | None:
        self.release.wait(10)
        if not self.up:
            raise Unavailable("connection refused")
        if "fail" in update.call.call_id:
            raise RuntimeError("value too long")
        assert update.token is not None
        known = self.rows.get(update.token)
        if known is not None and known.revision >= update.revision:
            return None
        self.rows[update.token] = update
        self.applied.append((update.call.call_id, update.revision))
        return update.call

    def heartbeat(self, instance_id: str, host: str, pid: int) -> None:
        if not self.up:
            raise Unavailable("connection refused")
        self.heartbeats += 1

    def forget_instance(self, instance_id: str) -> None:
        pass

    def interrupt_stale(self, stale_after_s: float, alive: str | None = None) -> list[str]:
        return []

    def filed_callback(self, callback: Callback, caller_hash: str | None) -> Callback:
        return replace(callback, caller_hash=caller_hash, number_hash="hashed")

    def expire_callbacks(self, asked_before: float, now: float) -> int:
        self.expiries.append((asked_before, now))
        return 2

    def close(self) -> None:
        self.closed = True


def writer_for(store: object, tmp_path: Path, settings: RecordsSettings = FAST) -> RecordWriter:
    spool = Spool(tmp_path / "spool", settings.spool_max_records, settings.spool_max_bytes)
    return RecordWriter(store, spool, settings)  # type: ignore[arg-type]


def snapshot(call_id: str, revision: int, *, final: bool = False) -> dict:
    outcome = "answered" if final else "in_progress"
    return journal(call_id, T0, outcome, record_token=f"tok-{call_id}", revision=revision)


def wait_until(condition, timeout_s: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


async def test_submit_returns_at_once_while_the_store_is_slow(tmp_path: Path) -> None:
    store = FlakyStore()
    store.release.clear()
    writer = writer_for(store, tmp_path)
    started = time.perf_counter()
    for n in range(50):
        assert writer.submit(snapshot(f"c{n}", 1, final=True), "0612345678")
    await asyncio.sleep(0)
    assert time.perf_counter() - started < 0.05
    store.release.set()
    await asyncio.to_thread(writer.flush)
    assert store.applied == [(f"c{n}", 1) for n in range(50)]  # in order
    writer.close()
    assert store.closed


def test_a_record_the_database_refuses_is_logged_and_the_next_one_written(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    writer = writer_for(store, tmp_path)
    with caplog.at_level(logging.ERROR):
        writer.submit(snapshot("will-fail", 1, final=True))
        writer.submit(snapshot("next", 1, final=True))
        writer.flush()
    assert store.applied == [("next", 1)]
    assert writer.stats().lost["rejected"] == 1 and writer.stats().written == 1
    [lost] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert lost.call_id == "will-fail"  # type: ignore[attr-defined]
    assert lost.getMessage() == "record lost: RuntimeError: value too long"
    assert len(writer.spool) == 0  # refused for good: not retried forever
    writer.close()


def test_backlog_full_drops_with_an_error_instead_of_blocking(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    store.release.clear()
    writer = writer_for(store, tmp_path, RecordsSettings(max_pending=2))
    with caplog.at_level(logging.ERROR):
        results = [writer.submit(snapshot(f"c{n}", 1, final=True)) for n in range(6)]
    assert results.count(False) >= 3
    assert writer.stats().lost["backlog_full"] == results.count(False)
    assert "record lost: records writer backlog full" in caplog.text
    store.release.set()
    writer.close()


def test_database_down_spools_then_replays_in_order_exactly_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = FlakyStore()
    writer = writer_for(store, tmp_path)
    writer.submit(snapshot("before", 1, final=True))
    writer.flush()
    store.up = False
    with caplog.at_level(logging.WARNING, logger="callbot.records"):
        for n in range(5):  # calls going on through the outage: start, two turns, end
            writer.submit(snapshot(f"c{n}", 1), final=False)
        for revision in (2, 3):
            for n in range(5):
                writer.submit(snapshot(f"c{n}", revision), final=False)
        for n in range(5):
            writer.submit(snapshot(f"c{n}", 4, final=True))
        writer.flush()
        assert len(writer.spool) == 5  # one entry per call, with its latest state
        assert not writer.stats().database_up
        time.sleep(0.2)  # a few retries fail meanwhile
        store.up = True
        assert writer.wait_settled(10)
    assert store.applied == [("before", 1)] + [(f"c{n}", 4) for n in range(5)]
    stats = writer.stats()
    assert (stats.replayed, stats.spool_records, stats.spool_bytes) == (5, 0, 0)
    assert stats.spooled == 20 and stats.database_up and sum(stats.lost.values()) == 0
    assert "records database unavailable (Unavailable)" in caplog.text
    assert "records database answers again" in caplog.text
    writer.close()


def test_records_keep_their_order_behind_the_spool(tmp_path: Path) -> None:
    """While the spool replays, new records queue behind it, not ahead."""
    store = FlakyStore()
    writer = writer_for(store, tmp_path)
    store.up = False
    writer.submit(snapshot("old", 1, final=True))
    writer.flush()
    store.up = True
    writer.submit(snapshot("new", 1, final=True))
    assert writer.wait_settled(10)
    assert store.applied == [("old", 1), ("new", 1)]
    writer.close()


def test_full_spool_is_an_error_and_a_metric_and_final_records_are_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = RecordsSettings(spool_max_records=3, retry_max_s=0.05, heartbeat_s=0.05)
    store = FlakyStore()
    store.up = False
    writer = writer_for(store, tmp_path, settings)
    with caplog.at_level(logging.ERROR, logger="callbot.records"):
        for call_id in ("p1", "p2", "p3"):
            writer.submit(snapshot(call_id, 1), final=False)
        writer.submit(snapshot("p4", 1), final=False)  # a 4th call going on: no room
        writer.submit(snapshot("f1", 5, final=True))  # a final one: p1's place
        writer.submit(snapshot("f2", 5, final=True))  # p2's place
        writer.flush()
    stats = writer.stats()
    assert stats.spool_full and stats.spool_records == 3
    assert stats.lost["spool_full"] == 3  # p4 refused, p1 and p2 evicted
    metrics = CallMetrics()
    metrics.track_records(writer.stats)
    exposition = metrics.exposition().decode()
    assert "callbot_records_spool_full 1.0" in exposition  # the alert
    assert 'callbot_records_lost_total{reason="spool_full"} 3.0' in exposition
    assert "callbot_records_database_up 0.0" in exposition
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3 and all("records spool full" in e.getMessage() for e in errors)
    assert [e.call_id for e in errors[:2]] == ["p4", "p1"]  # type: ignore[attr-defined]
    assert all(e.getMessage().startswith("record lost") for e in errors)
    assert "call f1's final one" in errors[1].getMessage()
    store.up = True
    assert writer.wait_settled(10)
    assert sorted(store.applied) == [("f1", 5), ("f2", 5), ("p3", 1)]
    assert not writer.stats().spool_full
    writer.close()


def test_a_spool_left_behind_is_replayed_by_the_next_writer(tmp_path: Path) -> None:
    store = FlakyStore()
    store.up = False
    first = writer_for(store, tmp_path)
    for n in range(3):
        first.submit(snapshot(f"c{n}", 1, final=True))
    first.close()  # the database never came back before the stop
    assert len(list((tmp_path / "spool").glob("*.json"))) == 3
    store.up = True
    second = writer_for(store, tmp_path)
    assert second.wait_settled(10)
    assert store.applied == [("c0", 1), ("c1", 1), ("c2", 1)]
    assert second.stats().replayed == 3
    second.close()


def test_heartbeats_go_on_while_idle(tmp_path: Path) -> None:
    store = FlakyStore()
    writer = writer_for(store, tmp_path)
    wait_until(lambda: store.heartbeats >= 3)
    writer.close()


def test_writer_with_a_real_sqlite_store(tmp_path: Path) -> None:
    path = str(tmp_path / "r.sqlite3")
    writer = writer_for(open_store(path, "salt"), tmp_path)
    for n in range(20):
        writer.submit(snapshot(f"c{n}", 1), f"06000000{n:02d}", final=False)
        writer.submit(snapshot(f"c{n}", 2, final=True), f"06000000{n:02d}")
    writer.close()
    reader = open_store(path, "salt")
    calls = reader.calls(0, in_progress=True)
    assert len(calls) == 20 and {c.state for c in calls} == {"final"}
    reader.close()


def test_a_callback_rides_its_calls_final_record_through_the_spool(tmp_path: Path) -> None:
    """Asked in a call while the database is down: spooled with the call's record (its
    number too: the agent must dial it), written with it once the database is back."""
    store = FlakyStore()
    store.up = False
    writer = writer_for(store, tmp_path)
    callback = a_callback("cb1", "c1")
    writer.submit(snapshot("c1", 1), "0612345678", final=False)
    writer.submit(snapshot("c1", 2, final=True), "0612345678", callback=callback)
    writer.flush()
    [spooled] = (tmp_path / "spool").glob("*.json")
    assert "0698765432" in spooled.read_text()
    store.up = True
    assert writer.wait_settled(10)
    [written] = store.rows.values()
    assert written.revision == 2 and written.callback == replace(callback, number_hash="hashed")
    assert list((tmp_path / "spool").glob("*.json")) == []
    writer.close()


def test_the_sweep_expires_callbacks_owed_too_long(tmp_path: Path) -> None:
    store = FlakyStore()
    settings = replace(FAST, callback_expiry_hours=48.0)
    spool = Spool(tmp_path / "spool", settings.spool_max_records, settings.spool_max_bytes)
    writer = RecordWriter(store, spool, settings, wall_clock=lambda: T0)  # type: ignore[arg-type]
    wait_until(lambda: len(store.expiries) >= 2)
    writer.close()
    assert store.expiries[0] == (T0 - 48 * 3600.0, T0)

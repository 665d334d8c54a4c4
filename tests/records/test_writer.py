"""The writer between the call runner and the store: never blocks, never raises."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from callbot.records.model import StoredCall, from_journal
from callbot.records.store import RecordWriter, open_store
from tests.records.seed import journal

T0 = 1_793_000_000.0


class SlowStore:
    """Blocks every save until released; fails the calls whose id says so."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.saved: list[str] = []
        self.closed = False

    def save(self, record: Mapping[str, Any], caller_number: str | None = None) -> StoredCall:
        self.release.wait(10)
        if "fail" in record["call_id"]:
            raise RuntimeError("database unreachable")
        self.saved.append(record["call_id"])
        return from_journal(record, None)

    def close(self) -> None:
        self.closed = True


async def test_submit_returns_at_once_while_the_store_is_slow() -> None:
    store = SlowStore()
    writer = RecordWriter(store)  # type: ignore[arg-type]
    started = time.perf_counter()
    for n in range(50):
        assert writer.submit(journal(f"c{n}", T0 + n), "0612345678")
    await asyncio.sleep(0)
    assert time.perf_counter() - started < 0.05
    store.release.set()
    await asyncio.to_thread(writer.flush)
    assert store.saved == [f"c{n}" for n in range(50)]  # in order
    writer.close()
    assert store.closed


def test_a_failing_store_is_logged_and_the_next_record_still_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = SlowStore()
    store.release.set()
    writer = RecordWriter(store)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        writer.submit(journal("will-fail", T0))
        writer.submit(journal("next", T0 + 1))
        writer.flush()
    assert store.saved == ["next"]
    assert (writer.failed, writer.written) == (1, 1)
    assert "call will-fail: record not stored: RuntimeError" in caplog.text
    writer.close()


def test_backlog_full_drops_instead_of_blocking(caplog: pytest.LogCaptureFixture) -> None:
    store = SlowStore()
    writer = RecordWriter(store, max_pending=2)  # type: ignore[arg-type]
    with caplog.at_level(logging.ERROR):
        results = [writer.submit(journal(f"c{n}", T0 + n)) for n in range(6)]
    assert results.count(False) >= 3 and writer.dropped == results.count(False)
    assert "record dropped" in caplog.text
    store.release.set()
    writer.close()


def test_writer_with_a_real_sqlite_store(tmp_path: Path) -> None:
    writer = RecordWriter(open_store(str(tmp_path / "r.sqlite3"), "salt"))
    for n in range(20):
        writer.submit(journal(f"c{n}", T0 + n), f"06000000{n:02d}")
    writer.close()
    reader = open_store(str(tmp_path / "r.sqlite3"), "salt")
    assert len(reader.calls(0)) == 20
    reader.close()

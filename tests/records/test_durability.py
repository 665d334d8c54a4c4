"""No record lost: a database stopped during calls, and a process killed during calls.

Both go through the records path of ``callbot serve`` (:class:`Operations`: real store,
spool and writer) with journals reporting as the call runner does. The outage runs on a
PostgreSQL server of its own (stopped and started with ``pg_ctl``), so the session's
server stays up for the other tests; ``kill -9`` hits a real subprocess.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from callbot.app.service import Operations
from callbot.loadtest.postgres import ThrowawayPostgres
from callbot.records.store import RecordStore, open_store
from tests.conftest import throwaway_postgres
from tests.records.live_calls import durable_settings, end_call, start_call, take_turn

REPO = Path(__file__).resolve().parents[2]
OUTAGE_S = 3.0
"""Long enough for several failed retries; the 30 s figure is the soak benchmark's."""


@pytest.fixture
def restartable_postgres() -> Iterator[ThrowawayPostgres]:
    """A server of this test's own: it is stopped and started again."""
    with throwaway_postgres() as server:
        yield server


async def test_database_stopped_during_calls_loses_no_record(
    restartable_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    url = f"{restartable_postgres.url}/postgres"
    ops = await Operations.open(durable_settings(url, str(tmp_path / "spool")), lambda: 0)
    writer = ops.writer
    assert writer is not None
    ids = [f"call-{n:02d}" for n in range(10)] + ["dup", "dup"]  # a stuck id among them
    journals = [start_call(ops, call_id) for call_id in ids[:6]]
    take_turn(journals[0], "avant la panne")
    await asyncio.to_thread(writer.wait_settled, 10)
    await asyncio.to_thread(restartable_postgres.stop)
    journals += [start_call(ops, call_id) for call_id in ids[6:]]  # calls begin in the outage
    for turn in range(3):
        for journal in journals:
            take_turn(journal, f"pendant la panne {turn}")
        await asyncio.sleep(OUTAGE_S / 3)
    for journal in journals[:8]:
        end_call(ops, journal)
    await asyncio.sleep(0.1)
    down = writer.stats()
    assert not down.database_up and down.spool_records == len(ids)  # one entry per call
    await asyncio.to_thread(restartable_postgres.start)
    for journal in journals[8:]:  # calls going on across the restart end after it
        take_turn(journal, "après la panne")
        end_call(ops, journal)
    assert await asyncio.to_thread(writer.wait_settled, 30)
    stats = writer.stats()
    exposition = ops.metrics.exposition().decode()
    await ops.close()

    store = open_store(url)
    calls = store.calls(0, in_progress=True)
    store.close()
    assert sorted(c.call_id for c in calls) == sorted([*ids[:10], "dup", "dup#2"])
    assert {c.state for c in calls} == {"final"} and {c.outcome for c in calls} == {"answered"}
    turns = {c.call_id: len(c.turns) for c in calls}
    assert turns["call-00"] == 4 and turns["call-05"] == 3 and turns["call-08"] == 4
    assert turns["dup"] == 4 and turns["dup#2"] == 4  # the first seen kept the id: in order
    by_id = {c.call_id: c for c in calls}
    assert by_id["dup"].started_at < by_id["dup#2"].started_at
    assert stats.replayed == len(ids) and sum(stats.lost.values()) == 0
    assert stats.spool_records == 0 and stats.spooled > len(ids)
    assert f"callbot_records_replayed_total {float(len(ids))}" in exposition
    assert "callbot_records_spool_records 0.0" in exposition
    print(
        f"\noutage: {len(ids)} calls, {stats.written} updates written, {stats.spooled} "
        f"spooled, {stats.replayed} calls replayed, lost {sum(stats.lost.values())}"
    )


async def test_callbot_starts_while_the_database_is_down(
    restartable_postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    """A host reboot where callbot comes up before PostgreSQL: calls are taken at once,
    their records spooled, the schema migrated and the spool replayed once it answers."""
    url = f"{restartable_postgres.url}/postgres"
    await asyncio.to_thread(restartable_postgres.stop)
    ops = await Operations.open(durable_settings(url, str(tmp_path / "spool")), lambda: 0)
    assert ops.writer is not None
    for n in range(3):
        journal = start_call(ops, f"early-{n}")
        take_turn(journal, "bonjour")
        end_call(ops, journal)
    await asyncio.to_thread(ops.writer.flush)
    assert ops.writer.stats().spool_records == 3
    await asyncio.to_thread(restartable_postgres.start)
    assert await asyncio.to_thread(ops.writer.wait_settled, 30)
    await ops.close()
    store = open_store(url)
    calls = store.calls(0)
    store.close()
    assert [(c.call_id, c.outcome, len(c.turns)) for c in calls] == [
        (f"early-{n}", "answered", 1) for n in range(3)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def records_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "records.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


def wait_for(store: RecordStore, condition, timeout_s: float):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        calls = store.calls(0, in_progress=True)
        if condition(calls) or time.monotonic() > deadline:
            return calls
        time.sleep(0.1)


async def test_kill_9_during_calls_leaves_every_call_interrupted(
    records_url: str, tmp_path: Path
) -> None:
    spool = str(tmp_path / "spool")
    child = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.records.live_calls", records_url, spool, "--calls", "4"),
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        ready = await asyncio.wait_for(child.stdout.readline(), 60)
        assert ready.decode().strip() == "READY"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.returncode is None:
            child.kill()
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    store = open_store(records_url)
    try:
        left = store.calls(0, in_progress=True)
        assert [(c.state, len(c.turns)) for c in left] == [("in_progress", 2)] * 4

        started = time.monotonic()
        ops = await Operations.open(durable_settings(records_url, spool), lambda: 0)  # restart
        try:
            calls = await asyncio.to_thread(
                wait_for, store, lambda cs: all(c.state == "final" for c in cs), 10.0
            )
            took_s = time.monotonic() - started
            assert ops.writer is not None
            interrupted = ops.writer.stats().interrupted
        finally:
            await ops.close()
    finally:
        store.close()
    assert [c.call_id for c in calls] == [f"live-{n}" for n in range(4)]
    assert {c.outcome for c in calls} == {"interrupted"} and {c.state for c in calls} == {"final"}
    assert all("no heartbeat" in c.outcome_detail for c in calls)
    assert all(len(c.turns) == 2 for c in calls)  # only the turn in progress was lost
    assert all(c.turns[1].caller_text == "phrase 2" for c in calls)
    assert interrupted == 4
    print(f"\nkill -9: 4 calls in progress, 4 recorded interrupted {took_s:.1f} s after restart")

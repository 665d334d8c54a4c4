"""The store contract, run against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator

import pytest

from callbot.records.store import RecordStore, open_store
from tests.records.seed import journal, turn

SALT = "test-salt"
NUMBER = "+33 6 12 34 56 78"
T0 = 1_793_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "records.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(store_url: str) -> Iterator[RecordStore]:
    opened = open_store(store_url, SALT)
    yield opened
    opened.close()


def a_call(call_id: str, started_at: float, **extra) -> dict:
    turns = [
        turn(1, "je voudrais mon attestation", "matched", "attestation_droits", 0.91, 640.0),
        turn(2, None, "slot", dtmf="1", slots=["nir"], latency_ms=None),
    ]
    return journal(call_id, started_at, turns=turns, survey_score=4, **extra)


def test_saved_call_reads_back_identical(store: RecordStore) -> None:
    saved = store.save(a_call("c1", T0, errors=["hook timeout"]), NUMBER)
    [loaded] = store.calls(T0 - 1)
    assert loaded == saved
    assert loaded.turns[0].intent == "attestation_droits"
    assert loaded.turns[0].latency_ms == 640.0
    assert loaded.turns[1].dtmf == "1" and loaded.turns[1].slots == ("nir",)
    assert loaded.errors == ("hook timeout",)
    assert loaded.survey_score == 4


def test_who_ended_the_call_is_stored(store: RecordStore) -> None:
    store.save(a_call("bot", T0, hung_up_by="bot"), NUMBER)
    store.save(a_call("line", T0 + 1, outcome="failed", hung_up_by="asterisk"), NUMBER)
    store.save(a_call("unknown", T0 + 2), NUMBER)
    got = {c.call_id: c.hung_up_by for c in store.calls(T0 - 1)}
    assert got == {"bot": "bot", "line": "asterisk", "unknown": None}


def test_caller_text_is_redacted_and_number_only_hashed(store: RecordStore) -> None:
    record = journal(
        "c1",
        T0,
        turns=[turn(1, "rappelez-moi au 06 12 34 56 78, jean.dupont@example.fr", "no_match")],
    )
    saved = store.save(record, NUMBER)
    [loaded] = store.calls(T0 - 1)
    text = loaded.turns[0].caller_text or ""
    assert "12 34" not in text and "dupont" not in text
    assert "rappelez-moi" in text
    assert saved.caller_hash == store.caller_hash("0612345678")
    assert saved.caller_hash and "0612345678" not in saved.caller_hash


def test_a_duplicate_call_id_keeps_both_calls_and_logs_an_error(
    store: RecordStore, caplog: pytest.LogCaptureFixture
) -> None:
    first = store.save(a_call("c1", T0), NUMBER)
    with caplog.at_level(logging.ERROR, logger="callbot.records"):
        second = store.save(journal("c1", T0 + 60, "transferred", "no match", turns=[]), NUMBER)
        third = store.save(journal("c1", T0 + 120, "answered", "bye", turns=[]), None)
    assert (first.call_id, first.duplicate_of) == ("c1", None)
    assert (second.call_id, second.duplicate_of) == ("c1#2", "c1")
    assert (third.call_id, third.duplicate_of) == ("c1#3", "c1")
    loaded = store.calls(T0 - 1)
    assert loaded == [first, second, third]
    assert len(loaded[0].turns) == 2 and loaded[1].outcome == "transferred"
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert errors == [
        "call c1: duplicate call id: another call is already stored under it; "
        "both kept, this one as c1#2",
        "call c1: duplicate call id: another call is already stored under it; "
        "both kept, this one as c1#3",
    ]


def test_workers_saving_one_id_at_once_keep_every_call(store: RecordStore, store_url: str) -> None:
    """Separate stores (workers) on one database racing for the same id: none is lost."""
    stores = [open_store(store_url, SALT) for _ in range(4)]
    barrier = threading.Barrier(len(stores))
    saved: list[str] = []
    failures: list[BaseException] = []

    def work(worker: RecordStore, n: int) -> None:
        try:
            barrier.wait(10)
            saved.append(worker.save(a_call("same", T0 + n), None).call_id)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(s, n)) for n, s in enumerate(stores)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for worker in stores:
        worker.close()
    assert failures == []
    assert sorted(saved) == ["same", "same#2", "same#3", "same#4"]
    assert sorted(c.call_id for c in store.calls(0)) == sorted(saved)
    assert all(len(c.turns) == 2 for c in store.calls(0))


def test_period_is_half_open_and_ordered(store: RecordStore) -> None:
    for n, offset in enumerate([30.0, 0.0, 10.0, 20.0]):
        store.save(a_call(f"c{n}", T0 + offset))
    assert [c.started_at - T0 for c in store.calls(T0, T0 + 30.0)] == [0.0, 10.0, 20.0]
    assert [c.call_id for c in store.calls(T0 + 15.0)] == ["c3", "c0"]


def test_caller_export_and_erasure(store: RecordStore) -> None:
    store.save(a_call("mine-1", T0), NUMBER)
    store.save(a_call("mine-2", T0 + 5), "0612345678")  # same caller, another spelling
    store.save(a_call("other", T0 + 9), "0698765432")
    store.save(a_call("anonymous", T0 + 12), None)
    mine = store.caller_hash(NUMBER)
    assert mine is not None
    assert [c.call_id for c in store.calls_of_caller(mine)] == ["mine-1", "mine-2"]
    assert store.delete_caller(mine) == 2
    assert store.calls_of_caller(mine) == []
    assert [c.call_id for c in store.calls(0)] == ["other", "anonymous"]
    assert store.calls(0)[1].caller_hash is None


def test_purge_deletes_older_calls_and_their_turns(store: RecordStore) -> None:
    store.save(a_call("old", T0 - 100), NUMBER)
    store.save(a_call("new", T0), NUMBER)
    assert store.delete_older_than(T0) == 1
    assert [c.call_id for c in store.calls(0)] == ["new"]
    store.save(a_call("old", T0 - 100), NUMBER)  # turns of the purged call are gone too
    assert len(store.calls(0)[0].turns) == 2


def test_without_salt_callers_are_not_kept(tmp_path) -> None:
    store = open_store(str(tmp_path / "r.sqlite3"), None)
    assert store.save(a_call("c1", T0), NUMBER).caller_hash is None
    assert store.caller_hash(NUMBER) is None
    store.close()

"""The store contract, run against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import pytest

from callbot.records.store import RecordStore, open_store
from callbot.records.update import make_update
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
    # A digit typed into a slot is part of a value (a NIR): not kept.
    assert loaded.turns[1].dtmf == "<DTMF>" and loaded.turns[1].slots == ("nir",)
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
    errors = [(r.call_id, r.getMessage()) for r in caplog.records if r.levelno == logging.ERROR]
    said = "duplicate call id: another call is already stored under it; both kept, this one as"
    assert errors == [("c1", f"{said} c1#2"), ("c1", f"{said} c1#3")]


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


def progress(call_id: str, token: str, revision: int, turns: int, **extra) -> dict:
    """A call going on: ``turns`` complete turns, as ``CallJournal.snapshot()`` gives it."""
    done = [turn(n, f"phrase {n}", "matched", "attestation_droits") for n in range(1, turns + 1)]
    return journal(
        call_id, T0, "in_progress", "", turns=done, record_token=token, revision=revision, **extra
    )


def test_updates_of_one_call_rewrite_its_row(store: RecordStore) -> None:
    assert store.save(progress("c1", "tok", 1, 0), NUMBER, final=False) is not None
    assert store.calls(0) == []  # reports and KPIs only see ended calls
    [going] = store.calls(0, in_progress=True)
    assert (going.state, going.outcome, len(going.turns)) == ("in_progress", "in_progress", 0)
    store.save(progress("c1", "tok", 2, 1), NUMBER, final=False)
    store.save(progress("c1", "tok", 3, 2), NUMBER, final=False)
    [going] = store.calls(0, in_progress=True)
    assert [t.index for t in going.turns] == [1, 2]
    final = journal("c1", T0, "transferred", "intent conseiller", record_token="tok", revision=4)
    store.save({**final, "turns": progress("c1", "tok", 4, 3)["turns"]}, NUMBER)
    [ended] = store.calls(0, in_progress=True)
    assert (ended.call_id, ended.state, ended.outcome, len(ended.turns)) == (
        "c1",
        "final",
        "transferred",
        3,
    )
    assert store.calls(0) == [ended]


def test_a_replayed_or_late_update_changes_nothing(store: RecordStore) -> None:
    store.save(progress("c1", "tok", 2, 1), None, final=False)
    assert store.save(progress("c1", "tok", 2, 1), None, final=False) is None  # twice
    assert store.save(progress("c1", "tok", 1, 0), None, final=False) is None  # older
    [going] = store.calls(0, in_progress=True)
    assert len(going.turns) == 1
    store.save(journal("c1", T0, "answered", "bye", record_token="tok", revision=3), None)
    # an in-progress update arriving after the end (newer number or not) never reopens it
    assert store.save(progress("c1", "tok", 9, 5), None, final=False) is None
    [ended] = store.calls(0)
    assert (ended.outcome, ended.state, len(ended.turns)) == ("answered", "final", 0)


def test_duplicate_ids_kept_apart_while_each_call_updates_in_place(
    store: RecordStore, caplog: pytest.LogCaptureFixture
) -> None:
    """Two calls arriving with one id (a stuck ``v()`` parameter): two rows, each updated
    by its own call's writes, one ERROR line."""
    with caplog.at_level(logging.ERROR, logger="callbot.records"):
        first = store.save(progress("dup", "tok-a", 1, 0), None, final=False)
        second = store.save(progress("dup", "tok-b", 1, 0), None, final=False)
        store.save(progress("dup", "tok-b", 2, 1), None, final=False)
        store.save(progress("dup", "tok-a", 2, 2), None, final=False)
        store.save(journal("dup", T0, "answered", "bye", record_token="tok-b", revision=3), None)
    assert first is not None and second is not None
    assert (first.call_id, second.call_id, second.duplicate_of) == ("dup", "dup#2", "dup")
    calls = {c.call_id: c for c in store.calls(0, in_progress=True)}
    assert set(calls) == {"dup", "dup#2"}
    assert (calls["dup"].state, len(calls["dup"].turns)) == ("in_progress", 2)
    assert (calls["dup#2"].state, calls["dup#2"].outcome) == ("final", "answered")
    assert calls["dup#2"].duplicate_of == "dup"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "this one as dup#2" in errors[0].getMessage()


def test_calls_of_a_dead_instance_become_interrupted(store: RecordStore) -> None:
    store.heartbeat("alive", "host-a", 1)
    store.heartbeat("dead", "host-b", 2)
    store.save(progress("mine", "t1", 1, 1), None, final=False, instance_id="alive")
    store.save(progress("theirs", "t2", 2, 2), None, final=False, instance_id="dead")
    store.save(progress("orphan", "t3", 1, 0), None, final=False, instance_id="never-beat")
    assert store.interrupt_stale(60.0, alive="alive") == ["orphan"]  # no heartbeat at all
    time.sleep(0.02)  # (the database clock counts milliseconds)
    assert store.interrupt_stale(0.01, alive="alive") == ["theirs"]  # stale by now
    assert store.interrupt_stale(0.01, alive="alive") == []  # done once
    calls = {c.call_id: c for c in store.calls(0, in_progress=True)}
    assert calls["mine"].state == "in_progress"  # its own process is alive
    theirs = calls["theirs"]
    assert (theirs.state, theirs.outcome, len(theirs.turns)) == ("final", "interrupted", 2)
    assert "process 2 on host-b" in theirs.outcome_detail
    assert "unknown process" in calls["orphan"].outcome_detail
    # the process was only cut off: its final record still wins
    store.save(journal("theirs", T0, "answered", "bye", record_token="t2", revision=3), None)
    assert {c.call_id: c.outcome for c in store.calls(0)}["theirs"] == "answered"


def test_a_restart_that_finds_the_caller_stranded_finishes_its_record(
    store: RecordStore,
) -> None:
    store.save(progress("chan-1", "tok", 2, 1), None, final=False, instance_id="dead")
    recovered = journal("chan-1", T0 + 99, "interrupted", "caller sent to the fallback queue")
    update = make_update(recovered, None, new_token=True, finishes=("chan-1", "uuid-of-chan-1"))
    store.put(update)
    store.put(update)  # replayed: still one row
    [call] = store.calls(0)
    assert (call.call_id, call.outcome, call.state, len(call.turns)) == (
        "chan-1",
        "interrupted",
        "final",
        1,
    )
    assert call.outcome_detail == "caller sent to the fallback queue"
    store.put(make_update(journal("other", T0, "interrupted", "x"), None, finishes=("other",)))
    assert [c.call_id for c in store.calls(0)] == ["chan-1", "other"]  # nothing to finish


def test_in_progress_calls_are_exported_and_erased_with_the_caller(store: RecordStore) -> None:
    store.save(progress("going", "tok", 1, 1), NUMBER, final=False)
    store.save(a_call("ended", T0 + 1), NUMBER)
    mine = store.caller_hash(NUMBER)
    assert mine is not None
    exported = store.calls_of_caller(mine)
    assert [(c.call_id, c.state) for c in exported] == [
        ("going", "in_progress"),
        ("ended", "final"),
    ]
    assert exported[0].to_dict()["state"] == "in_progress"
    assert store.delete_caller(mine) == 2
    assert store.calls(0, in_progress=True) == []

"""The store contract, run against SQLite and a real PostgreSQL server alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from callbot.records.store import RecordStore, open_store
from tests.records.seed import journal, turn

SALT = "test-salt"
NUMBER = "+33 6 12 34 56 78"
T0 = 1_793_000_000.0


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path) -> Iterator[RecordStore]:
    if request.param == "sqlite":
        url = str(tmp_path / "records.sqlite3")
    else:
        url = request.getfixturevalue("postgres_url")
    opened = open_store(url, SALT)
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


def test_saving_a_call_again_replaces_it(store: RecordStore) -> None:
    store.save(a_call("c1", T0), NUMBER)
    store.save(journal("c1", T0, "transferred", "no match", turns=[]), NUMBER)
    [loaded] = store.calls(T0 - 1)
    assert loaded.outcome == "transferred" and loaded.turns == ()


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

"""Callback work items in the records store, against SQLite and a real PostgreSQL alike:
stored with their call, claimed by one agent at a time, closed with a result, expired,
exported and erased by caller, purged with their call; the number readable only while
the callback is owed."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from callbot.records.callbacks import Callback, valid_agent
from callbot.records.schema import MIGRATIONS, SCHEMA_VERSION
from callbot.records.sqlite import SqliteStore
from callbot.records.store import RecordStore, open_store
from callbot.records.update import RecordUpdate, make_update
from tests.records.seed import journal, turn

SALT = "test-salt"
CALLER = "+33 6 12 34 56 78"
TO_CALL = "0698765432"
T0 = 1_793_000_000.0


def a_callback(callback_id: str = "cb1", call_id: str = "c1", **changes: object) -> Callback:
    callback = Callback(
        callback_id=callback_id,
        call_id=call_id,
        created_at=T0 + 30,
        number=TO_CALL,
        queue="rappels",
        reason="intent conseiller",
        intent="conseiller",
        summary="Appel au sujet de : parler à un conseiller; la personne demande "
        "« rappelez-moi au 06 98 76 54 32 ».",
        language="fr-FR",
        preferred_time="demain matin",
    )
    return replace(callback, **changes)  # type: ignore[arg-type]


def out_of_hours_call(call_id: str = "c1", started_at: float = T0, **extra: object) -> dict:
    turns = [turn(1, "je veux parler à un conseiller", "closed", "conseiller", 0.9)]
    return journal(
        call_id,
        started_at,
        "callback_requested",
        "callback requested",
        turns,
        callback_queue="rappels",
        **extra,
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RecordStore]:
    if request.param == "sqlite":
        url = str(tmp_path / "records.sqlite3")
    else:
        url = str(request.getfixturevalue("postgres_url"))
    opened = open_store(url, SALT)
    yield opened
    opened.close()


def test_a_callback_is_stored_with_its_call_texts_redacted(store: RecordStore) -> None:
    store.save(out_of_hours_call(), CALLER, callback=a_callback())
    [stored] = store.callbacks()
    assert stored.number == TO_CALL  # the agent dials it
    assert "06 98 76 54 32" not in stored.summary and "<TEL>" in stored.summary
    assert stored.preferred_time == "demain matin"
    assert stored.caller_hash == store.caller_hash(CALLER) is not None
    assert stored.number_hash == store.caller_hash(TO_CALL) is not None
    assert (stored.status, stored.claimed_by, stored.result) == ("open", None, None)
    assert store.callback("cb1") == stored and store.callback("nope") is None


def test_a_replayed_record_does_not_duplicate_its_callback(store: RecordStore) -> None:
    callback = store.filed_callback(a_callback(), store.caller_hash(CALLER))
    record = out_of_hours_call(record_token="tok", revision=3)
    update = replace(make_update(record, callback.caller_hash), callback=callback)
    assert store.put(update) is not None
    assert store.put(RecordUpdate.from_json(update.to_json())) is None  # a spool replay
    assert [c.callback_id for c in store.callbacks()] == ["cb1"]


def test_the_callback_follows_its_call_renamed_as_a_duplicate(store: RecordStore) -> None:
    store.save(out_of_hours_call(), CALLER)
    stored = store.save(out_of_hours_call(), CALLER, callback=a_callback())
    assert stored is not None and stored.call_id == "c1#2"
    assert [c.call_id for c in store.callbacks()] == ["c1#2"]


def test_one_agent_at_a_time_claims_then_closes(store: RecordStore) -> None:
    store.save(out_of_hours_call(), CALLER, callback=a_callback())
    claimed, changed = store.claim_callback("cb1", "Alice", T0 + 100)
    assert changed and claimed is not None
    assert (claimed.status, claimed.claimed_by, claimed.claimed_at) == (
        "claimed",
        "Alice",
        T0 + 100,
    )
    held, changed = store.claim_callback("cb1", "Bob", T0 + 101)
    assert not changed and held is not None and held.claimed_by == "Alice"
    refused, changed = store.close_callback("cb1", "Bob", "reached", T0 + 102)
    assert not changed and refused is not None and refused.status == "claimed"
    closed, changed = store.close_callback("cb1", "Alice", "no_answer", T0 + 200)
    assert changed and closed is not None
    assert (closed.status, closed.result, closed.closed_at) == ("closed", "no_answer", T0 + 200)
    assert closed.number is None and closed.claimed_by == "Alice"  # who called stays
    again, changed = store.claim_callback("cb1", "Bob", T0 + 300)
    assert not changed and again is not None and again.status == "closed"
    assert store.claim_callback("nope", "Bob", T0) == (None, False)


def test_a_released_callback_is_open_for_another_agent(store: RecordStore) -> None:
    store.save(out_of_hours_call(), CALLER, callback=a_callback())
    store.claim_callback("cb1", "Alice", T0 + 100)
    assert store.release_callback("cb1", "Bob")[1] is False  # not Bob's to give back
    released, changed = store.release_callback("cb1", "Alice")
    assert changed and released is not None and released.status == "open"
    assert released.claimed_by is None and released.number == TO_CALL
    assert store.claim_callback("cb1", "Bob", T0 + 110)[1]


def test_an_unknown_result_is_refused(store: RecordStore) -> None:
    with pytest.raises(ValueError, match="unknown callback result"):
        store.close_callback("cb1", "Alice", "maybe", T0)


def test_callbacks_owed_too_long_expire_and_lose_their_number(store: RecordStore) -> None:
    store.save(out_of_hours_call("c1"), CALLER, callback=a_callback("old", "c1"))
    store.save(out_of_hours_call("c2"), CALLER, callback=a_callback("claimed", "c2"))
    store.save(out_of_hours_call("c3"), CALLER, callback=a_callback("done", "c3"))
    late = a_callback("recent", "c4", created_at=T0 + 5000)
    store.save(out_of_hours_call("c4"), CALLER, callback=late)
    store.claim_callback("claimed", "Alice", T0 + 60)
    store.claim_callback("done", "Alice", T0 + 60)
    store.close_callback("done", "Alice", "reached", T0 + 70)
    assert store.expire_callbacks(T0 + 1000, T0 + 9000) == 2
    by_id = {c.callback_id: c for c in store.callbacks()}
    assert {i: (c.status, c.number) for i, c in by_id.items()} == {
        "old": ("expired", None),
        "claimed": ("expired", None),
        "done": ("closed", None),
        "recent": ("open", TO_CALL),
    }
    assert by_id["old"].closed_at == T0 + 9000 and by_id["done"].result == "reached"
    assert [c.callback_id for c in store.callbacks(statuses=["open", "claimed"])] == ["recent"]
    assert store.expire_callbacks(T0 + 1000, T0 + 9000) == 0


def test_listing_by_period_and_status(store: RecordStore) -> None:
    for n in range(3):
        callback = a_callback(f"cb{n}", f"c{n}", created_at=T0 + n * 100)
        store.save(out_of_hours_call(f"c{n}"), CALLER, callback=callback)
    store.claim_callback("cb1", "Alice", T0)
    assert [c.callback_id for c in store.callbacks(T0 + 50, T0 + 250)] == ["cb1", "cb2"]
    assert [c.callback_id for c in store.callbacks(statuses=["claimed"])] == ["cb1"]
    assert [c.callback_id for c in store.callbacks()] == ["cb0", "cb1", "cb2"]


def test_export_and_erasure_find_the_caller_by_either_number(store: RecordStore) -> None:
    store.save(out_of_hours_call("c1"), CALLER, callback=a_callback("from-caller", "c1"))
    other = a_callback("to-caller", "c2", number="06 12 34 56 78")  # left from a friend's phone
    store.save(out_of_hours_call("c2"), "0700000000", callback=other)
    store.save(out_of_hours_call("c3"), "0700000000", callback=a_callback("unrelated", "c3"))
    key = store.caller_hash(CALLER)
    assert key is not None
    assert sorted(c.callback_id for c in store.callbacks_of_caller(key)) == [
        "from-caller",
        "to-caller",
    ]
    assert store.delete_callbacks_of_caller(key) == 2
    assert store.delete_caller(key) == 1
    assert [c.callback_id for c in store.callbacks()] == ["unrelated"]
    assert [c.call_id for c in store.calls(0)] == ["c2", "c3"]  # the friend's calls stay


def test_purging_a_call_purges_its_callback(store: RecordStore) -> None:
    store.save(out_of_hours_call("old", T0), CALLER, callback=a_callback("cb-old", "old"))
    late = a_callback("cb-new", "new", created_at=T0 + 86400)
    store.save(out_of_hours_call("new", T0 + 86400), CALLER, callback=late)
    assert store.delete_older_than(T0 + 3600) == 1
    assert [c.callback_id for c in store.callbacks()] == ["cb-new"]


def test_a_version_4_file_gains_callbacks_and_answered_turns(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    with sqlite3.connect(path) as conn:  # a file written before callbacks were kept
        for migration in MIGRATIONS[:4]:
            for statement in migration:
                conn.execute(statement)
        conn.execute("PRAGMA user_version = 4")
    store = SqliteStore(path, SALT)
    assert store.schema_version == SCHEMA_VERSION
    store.save(out_of_hours_call(), CALLER, callback=a_callback())
    assert [c.callback_id for c in store.callbacks()] == ["cb1"]
    store.close()


def test_the_records_file_keeps_no_number_once_the_callback_is_closed(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    store = SqliteStore(path, SALT)
    store.save(out_of_hours_call(), CALLER, callback=a_callback())
    store.claim_callback("cb1", "Alice", T0)
    store.close_callback("cb1", "Alice", "reached", T0 + 1)
    store.close()
    conn = sqlite3.connect(path)
    conn.execute("VACUUM")  # freed pages go: what is left is what the store keeps
    conn.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    for secret in (TO_CALL.encode(), b"0612345678", b"06 98 76 54 32"):
        assert secret not in raw


def test_agent_names() -> None:
    assert valid_agent("  Mme   Martin ") == "Mme Martin"
    assert valid_agent("") is None and valid_agent("   ") is None
    assert valid_agent("x" * 81) is None

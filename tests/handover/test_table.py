"""Both hand-over stores, one behaviour: the SQLite file of one process and the PostgreSQL
table several nodes share (a real server: the ``postgres_url`` fixture). Upserts of status
changes, newest first, the caller's key, identifiers that expire in place, export,
erasure and retention."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from callbot.handover.store import HandoverStore
from callbot.handover.table import HandoverTable
from callbot.privacy.identity import caller_hash
from tests.handover.test_hub import sample_context

SALT = "test-salt"

Opener = Callable[..., HandoverTable]


@pytest.fixture(params=["sqlite", "postgresql"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens a store of the parametrised backend (closed after the test)."""
    opened: list[HandoverTable] = []

    def opener(**options: object) -> HandoverTable:
        if request.param == "sqlite":
            store: HandoverTable = HandoverStore(tmp_path / "h.sqlite3", **options)  # type: ignore[arg-type]
        else:
            from callbot.handover.postgres import PostgresHandoverStore

            url = request.getfixturevalue("postgres_url")
            store = PostgresHandoverStore(url, **options)  # type: ignore[arg-type]
        opened.append(store)
        return store

    yield opener
    for store in opened:
        store.close()


def test_save_load_and_update(open_store: Opener) -> None:
    store = open_store()
    ctx = sample_context()
    store.save(ctx)
    assert store.load(ctx.context_id) == (ctx, "")
    answered = ctx.with_status("answered", ctx.created_at + 1)
    store.save(answered, "agent 12")
    assert store.load(ctx.context_id) == (answered, "agent 12")
    assert store.load("nope") is None


def test_newest_first_within_the_limit(open_store: Opener) -> None:
    store = open_store()
    for i in (2, 0, 3, 1):
        store.save(sample_context(f"n{i}", created_at=float(i)))
    assert [ctx.summary for ctx, _ in store.newest(2)] == ["n3", "n2"]
    assert len(store.newest(10)) == 4


def test_identifiers_expire_in_place_after_the_last_news(open_store: Opener) -> None:
    """Issue 15: the caller number and the NIR were kept in clear for ever."""
    store = open_store(caller_salt=SALT, identifiers_ttl_s=600.0)
    ctx = sample_context(created_at=1_000.0)
    store.save(ctx)
    assert store.expire_identifiers(1_599.0) == []
    store.save(ctx.with_status("answered", 1_500.0), "agent 12")  # news: clear until 2100
    assert store.expire_identifiers(2_000.0) == []
    ((expired, detail),) = store.expire_identifiers(2_100.0)
    assert detail == "agent 12" and expired.identifiers_expired
    assert expired.caller_number == "<TEL>"
    assert expired.slots == (
        ("numero_securite_sociale", "<NUMERO_SECURITE_SOCIALE>"),
        ("date_soins", "<DATE_SOINS>"),
    )
    assert expired.turns == ctx.turns and expired.summary == ctx.summary
    assert store.load(ctx.context_id) == (expired, "agent 12")
    assert store.expire_identifiers(9_999.0) == []  # once
    # Still the caller's: export and erasure find it by key.
    key = caller_hash("06 12 34 56 78", SALT)
    assert [c.context_id for c, _ in store.of_caller(key)] == [ctx.context_id]


def test_export_erase_and_retention_by_caller(open_store: Opener) -> None:
    store = open_store(caller_salt=SALT)
    mine_old = sample_context(created_at=100.0)
    mine_new = sample_context(created_at=5_000.0)
    other = sample_context(created_at=200.0, caller_number="0700000000")
    anonymous = sample_context(created_at=300.0, caller_number=None)
    for ctx in (mine_old, mine_new, other, anonymous):
        store.save(ctx)
    key = caller_hash("+33 6 12 34 56 78", SALT)
    assert [c.context_id for c, _ in store.of_caller(key)] == [
        mine_old.context_id,
        mine_new.context_id,
    ]
    assert store.of_caller("") == [] and store.delete_caller("") == []
    assert store.delete_older_than(250.0) == [mine_old.context_id, other.context_id]
    assert store.delete_caller(key) == [mine_new.context_id]
    assert [c.context_id for c, _ in store.newest(10)] == [anonymous.context_id]
    assert store.known([mine_new.context_id, anonymous.context_id]) == {anonymous.context_id}
    assert store.known([]) == set()


def test_known_over_many_ids(open_store: Opener) -> None:
    """A console keeps up to 500 contexts: they are checked in chunks, not one by one."""
    store = open_store()
    kept = sample_context()
    store.save(kept)
    asked = [f"{i:032x}" for i in range(1_200)] + [kept.context_id]
    assert store.known(asked) == {kept.context_id}

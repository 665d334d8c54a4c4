"""The SQLite store: durable on save, upserts status changes, newest first; the caller's
key, identifiers that expire, export, erasure and retention."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from callbot.handover.store import HandoverStore
from callbot.privacy.identity import caller_hash
from tests.handover.test_hub import sample_context


def test_save_load_and_update(tmp_path: Path) -> None:
    store = HandoverStore(tmp_path / "data" / "h.sqlite3")
    try:
        ctx = sample_context()
        store.save(ctx)
        assert store.load(ctx.context_id) == (ctx, "")
        answered = ctx.with_status("answered", ctx.created_at + 1)
        store.save(answered, "agent 12")
        assert store.load(ctx.context_id) == (answered, "agent 12")
        assert store.load("nope") is None
    finally:
        store.close()


def test_saved_is_on_disk_for_another_connection(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HandoverStore(path)
    try:
        ctx = sample_context()
        store.save(ctx)
        with sqlite3.connect(path) as peek:
            assert peek.execute("SELECT context_id FROM handovers").fetchall() == [
                (ctx.context_id,)
            ]
            assert peek.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        store.close()


def test_newest_first_within_the_limit() -> None:
    store = HandoverStore(":memory:")
    try:
        for i in (2, 0, 3, 1):
            store.save(sample_context(f"n{i}", created_at=float(i)))
        assert [ctx.summary for ctx, _ in store.newest(2)] == ["n3", "n2"]
        assert len(store.newest(10)) == 4
    finally:
        store.close()


SALT = "test-salt"


def test_identifiers_expire_in_place_after_the_last_news(tmp_path: Path) -> None:
    """Issue 15: the caller number and the NIR were kept in clear for ever."""
    store = HandoverStore(tmp_path / "h.sqlite3", caller_salt=SALT, identifiers_ttl_s=600.0)
    try:
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
        with sqlite3.connect(tmp_path / "h.sqlite3") as peek:
            (body,) = peek.execute("SELECT body FROM handovers").fetchone()
        assert "612345678" not in body and "2 84 05 75 123 456 78" not in body
        # Still the caller's: export and erasure find it by key.
        key = caller_hash("06 12 34 56 78", SALT)
        assert [c.context_id for c, _ in store.of_caller(key)] == [ctx.context_id]
    finally:
        store.close()


def test_export_erase_and_retention_by_caller(tmp_path: Path) -> None:
    store = HandoverStore(tmp_path / "h.sqlite3", caller_salt=SALT)
    try:
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
    finally:
        store.close()


def test_a_store_from_before_gets_keys_and_loses_identifiers(tmp_path: Path) -> None:
    """A file written by the previous schema (no key, identifiers kept for ever)."""
    path = tmp_path / "h.sqlite3"
    ctx = sample_context(created_at=1_000.0)
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE handovers (context_id TEXT PRIMARY KEY, created_at REAL NOT NULL,"
            " detail TEXT NOT NULL DEFAULT '', body TEXT NOT NULL)"
        )
        body = json.dumps(ctx.to_json(), ensure_ascii=False)
        old.execute("INSERT INTO handovers VALUES (?, ?, '', ?)", (ctx.context_id, 1_000.0, body))
    store = HandoverStore(path, caller_salt=SALT)
    try:
        ((expired, _),) = store.expire_identifiers(1_000.0)
        assert expired.caller_number == "<TEL>"
        key = caller_hash("0612345678", SALT)
        assert [c.context_id for c, _ in store.of_caller(key)] == [ctx.context_id]
    finally:
        store.close()
    HandoverStore(path).close()  # opened again: nothing left to migrate

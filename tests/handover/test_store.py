"""The SQLite store's own: durable on disk for another connection, WAL, identifiers
redacted in the file itself, and a file of the previous schema migrated (what both
stores share is tests/handover/test_table.py's)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from callbot.handover.store import HandoverStore
from callbot.privacy.identity import caller_hash
from tests.handover.test_hub import sample_context


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


SALT = "test-salt"


def test_expired_identifiers_are_gone_from_the_file(tmp_path: Path) -> None:
    """Issue 15: redacted in the file itself, not only in what is read back."""
    store = HandoverStore(tmp_path / "h.sqlite3", caller_salt=SALT, identifiers_ttl_s=600.0)
    try:
        store.save(sample_context(created_at=1_000.0))
        assert len(store.expire_identifiers(1_600.0)) == 1
    finally:
        store.close()
    with sqlite3.connect(tmp_path / "h.sqlite3") as peek:
        (body,) = peek.execute("SELECT body FROM handovers").fetchone()
    assert "612345678" not in body and "2 84 05 75 123 456 78" not in body


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


@pytest.mark.usefixtures("secure_delete_off")
def test_erased_and_expired_identifiers_leave_nothing_in_free_pages(tmp_path: Path) -> None:
    """Issue 15: expiry rewrote the row and erasure deleted it, but the caller number and
    the NIR stayed readable in the file's free pages; ``secure_delete`` overwrites them."""
    path = tmp_path / "h.sqlite3"
    store = HandoverStore(path, caller_salt=SALT, identifiers_ttl_s=600.0)
    try:
        store.save(sample_context(created_at=1_000.0))
        erased = sample_context(created_at=2_000.0, caller_number="+33698765432")
        store.save(erased)
        assert len(store.expire_identifiers(1_600.0)) == 1
        assert store.delete_caller(caller_hash("+33698765432", SALT)) == [erased.context_id]
    finally:
        store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in ("612345678", "698765432", "2 84 05 75 123 456 78"):
        assert secret.encode() not in raw, secret
    assert b"<TEL>" in raw  # the expired context stays, redacted

"""The SQLite store: durable on save, upserts status changes, newest first."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from callbot.handover.store import HandoverStore
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

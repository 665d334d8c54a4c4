"""SQLite specifics: WAL, ``user_version`` migrations, nothing identifying in the file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from callbot.errors import ConfigError
from callbot.records.schema import CALL_COLUMNS, MIGRATIONS, SCHEMA_VERSION
from callbot.records.sqlite import SqliteStore
from callbot.records.store import open_store
from tests.records.seed import journal, turn
from tests.records.test_callbacks import CALLER, SALT, a_callback, out_of_hours_call

T0 = 1_793_000_000.0


def test_new_file_is_wal_and_migrated(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "records.sqlite3"
    store = SqliteStore(path, "salt")
    assert store.schema_version == SCHEMA_VERSION >= 1
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"calls", "turns"} <= tables


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    first = SqliteStore(path, "salt")
    first.save(journal("c1", T0), "0612345678")
    first.close()
    again = open_store(f"sqlite:///{path}", "salt")
    assert [c.call_id for c in again.calls(0)] == ["c1"]
    again.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    SqliteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(ConfigError, match="newer than this callbot"):
        SqliteStore(path)


def test_a_reader_is_not_blocked_by_an_open_write(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    store = SqliteStore(path, "salt")
    store.save(journal("c1", T0), None)
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM turns")
    try:
        reader = SqliteStore(path, "salt")  # another process, dashboard side
        assert [c.call_id for c in reader.calls(0)] == ["c1"]
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_file_holds_no_caller_number_nor_identifier(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    store = SqliteStore(path, "salt")
    said = "mon numéro de sécu 1 85 05 78 006 084 36 et mon mail paul.martin@example.org"
    record = journal(
        "c1", T0, turns=[turn(1, said, "no_match", bot_text=["Vous avez dit " + said])]
    )
    store.save(record, "06 11 22 33 44")
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    for secret in (b"0611223344", b"06 11 22 33 44", b"paul.martin", b"006 084", b"1 85 05"):
        assert secret not in raw
    assert "mon numéro de sécu".encode() in raw


def test_a_version_1_file_gains_duplicate_of_and_keeps_its_calls(tmp_path: Path) -> None:
    path = tmp_path / "records.sqlite3"
    with sqlite3.connect(path) as conn:  # a file written before duplicate ids were kept
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute("PRAGMA user_version = 1")
        columns = [c for c in CALL_COLUMNS if c not in ("duplicate_of", "hung_up_by", "state")]
        values = ["old", T0, 1.0, "chan_websocket", "slin16", "d", 1, "v", None, "answered"]
        values += ["", None, None, None, None, "[]"]
        marks = ", ".join("?" * len(columns))
        conn.execute(f"INSERT INTO calls ({', '.join(columns)}) VALUES ({marks})", values)
    store = SqliteStore(path, "salt")
    assert store.schema_version == SCHEMA_VERSION
    [old] = store.calls(0)  # an old row is a final one
    assert (old.call_id, old.duplicate_of, old.hung_up_by, old.state) == (
        "old",
        None,
        None,
        "final",
    )
    again = store.save(journal("old", T0 + 5, record_token="t1", revision=1), None)
    assert again is not None and (again.call_id, again.duplicate_of) == ("old#2", "old")
    store.close()


@pytest.mark.usefixtures("secure_delete_off")
def test_erased_and_purged_callers_leave_nothing_in_free_pages(tmp_path: Path) -> None:
    """Issue 15: erasure and retention deleted the rows, and the numbers to call back
    stayed readable in the file's free pages; ``secure_delete`` overwrites them."""
    store = SqliteStore(tmp_path / "records.sqlite3", SALT)
    erased = a_callback("erased", "c1", number="0698765432")
    store.save(out_of_hours_call("c1"), CALLER, callback=erased)
    purged = a_callback("purged", "old", number="0677889900", created_at=T0 - 86_400)
    store.save(out_of_hours_call("old", T0 - 86_400), "0700000000", callback=purged)
    kept = a_callback("kept", "c3", number="0655443322")
    store.save(out_of_hours_call("c3"), "0711111111", callback=kept)
    key = store.caller_hash(CALLER)
    assert key is not None
    assert store.delete_callbacks_of_caller(key) == 1 and store.delete_caller(key) == 1
    assert store.delete_older_than(T0 - 3600) == 1
    store.close()
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert b"0698765432" not in raw and b"0677889900" not in raw
    assert b"0655443322" in raw  # what stays is still there, in clear while owed

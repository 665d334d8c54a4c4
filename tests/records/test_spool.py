"""The on-disk spool: one entry per call, in order, bounded, surviving a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from callbot.errors import ConfigError
from callbot.records.spool import Spool, open_spool
from callbot.records.update import RecordUpdate, make_update
from tests.records.seed import journal

T0 = 1_793_000_000.0


def update(call_id: str, revision: int, *, final: bool = False) -> RecordUpdate:
    outcome = "answered" if final else "in_progress"
    record = journal(call_id, T0, outcome, record_token=f"tok-{call_id}", revision=revision)
    return make_update(record, None, final=final, instance_id="inst")


def drain(spool: Spool) -> list[tuple[str, int]]:
    out = []
    while (head := spool.head()) is not None:
        out.append((head.call.call_id, head.revision))
        spool.remove(head)
    return out


def test_updates_of_a_call_share_its_place_and_keep_the_newest(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 100, 2**20)
    assert spool.add(update("a", 1)).outcome == "added"
    assert spool.add(update("b", 1)).outcome == "added"
    assert spool.add(update("a", 2)).outcome == "replaced"
    assert spool.add(update("a", 3, final=True)).outcome == "replaced"
    assert spool.add(update("a", 2)).outcome == "stale"  # older than what waits: ignored
    assert len(spool) == 2 and len(list(tmp_path.glob("*.json"))) == 2
    assert drain(spool) == [("a", 3), ("b", 1)]
    assert len(spool) == 0 and spool.bytes == 0 and not list(tmp_path.glob("*.json"))


def test_what_is_spooled_survives_a_restart_in_order(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 100, 2**20)
    for n in range(5):
        spool.add(update(f"c{n}", 1))
    spool.add(update("c1", 2, final=True))
    (tmp_path / "000000000099.tmp").write_text("half a write")  # a crash mid-write
    spool.close()  # (a killed process releases its lock too)
    again = Spool(tmp_path, 100, 2**20)
    assert not list(tmp_path.glob("*.tmp"))
    assert again.add(update("c5", 1)).outcome == "added"  # after the others
    assert drain(again) == [("c0", 1), ("c1", 2), ("c2", 1), ("c3", 1), ("c4", 1), ("c5", 1)]


def test_removing_an_older_revision_keeps_the_newer_one(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 100, 2**20)
    first = update("a", 1)
    spool.add(first)
    spool.add(update("a", 2))  # came in while the first was being replayed
    spool.remove(first)
    assert drain(spool) == [("a", 2)]


def test_one_process_per_spool_directory(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10, 2**20)
    with pytest.raises(ConfigError, match="in use by another callbot process"):
        Spool(tmp_path, 10, 2**20)
    spool.close()
    Spool(tmp_path, 10, 2**20).close()


def test_full_spool_keeps_final_records_over_in_progress_ones(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 3, 2**20)
    for call_id in ("p1", "p2"):
        spool.add(update(call_id, 1))
    spool.add(update("f1", 5, final=True))
    assert not spool.full
    refused = spool.add(update("p3", 1))  # a new in-progress call: no room
    assert refused.outcome == "refused" and spool.full
    kept = spool.add(update("f2", 4, final=True))  # a final record: the oldest in-progress goes
    assert (kept.outcome, kept.evicted) == ("added", "p1") and spool.full
    assert spool.add(update("p2", 2)).outcome == "replaced"  # a known call always fits
    spool.add(update("f3", 4, final=True))  # evicts p2
    assert spool.add(update("f4", 4, final=True)).outcome == "refused"  # finals only: refused
    assert drain(spool) == [("f1", 5), ("f2", 4), ("f3", 4)]
    assert not spool.full


def test_byte_bound(tmp_path: Path) -> None:
    size = len(update("a", 1).to_json()) + 1
    spool = Spool(tmp_path, 100, size * 2 + 10)
    assert spool.add(update("a", 1)).outcome == "added"
    assert spool.add(update("b", 1)).outcome == "added"
    assert spool.add(update("c", 1)).outcome == "refused"
    assert spool.bytes <= spool.max_bytes


def test_an_unreadable_entry_is_set_aside_and_counted(tmp_path: Path) -> None:
    spool = Spool(tmp_path, 10, 2**20)
    spool.add(update("a", 1))
    spool.add(update("b", 1))
    spool.close()
    first = sorted(tmp_path.glob("*.json"))[0]
    first.write_text(json.dumps({"not": "an update"}))
    again = Spool(tmp_path, 10, 2**20)
    assert again.corrupt == 1 and len(list(tmp_path.glob("*.corrupt"))) == 1
    assert drain(again) == [("b", 1)]


def test_an_entry_erased_under_a_running_process_is_forgotten(tmp_path: Path) -> None:
    """``callbot records erase`` deletes a caller's spooled record while callbot runs."""
    spool = Spool(tmp_path, 10, 2**20)
    spool.add(update("a", 1))
    spool.add(update("b", 1))
    sorted(tmp_path.glob("*.json"))[0].unlink()
    assert drain(spool) == [("b", 1)]
    assert spool.corrupt == 0 and not list(tmp_path.glob("*.corrupt"))


def test_processes_sharing_a_directory_each_get_a_slot(tmp_path: Path) -> None:
    first = open_spool(tmp_path, 10, 2**20)
    second = open_spool(tmp_path, 10, 2**20)
    assert (first.directory.name, second.directory.name) == ("0", "1")
    second.add(update("left-by-1", 1))
    second.close()  # the second process dies; the first one lives on
    restarted = open_spool(tmp_path, 10, 2**20)  # takes slot 1 again: replays it
    assert restarted.directory.name == "1" and drain(restarted) == [("left-by-1", 1)]
    restarted.close()
    first.close()


def test_a_slot_no_process_holds_is_taken_over(tmp_path: Path) -> None:
    first, second = open_spool(tmp_path, 10, 2**20), open_spool(tmp_path, 10, 2**20)
    second.add(update("a", 1))
    second.add(update("b", 2, final=True))
    second.close()
    first.add(update("own", 1))
    first.close()
    alone = open_spool(tmp_path, 10, 2**20)  # one worker now, where there were two
    assert alone.directory.name == "0"
    assert drain(alone) == [("own", 1), ("a", 1), ("b", 2)]
    assert not list((tmp_path / "1").glob("*.json"))

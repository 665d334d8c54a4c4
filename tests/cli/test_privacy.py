"""The records commands against real stores: the records (SQLite), the hand-over store
beside them, the summary sounds."""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest

from callbot.cli import privacy as cli
from callbot.handover.store import HandoverStore
from callbot.records.store import open_store
from tests.handover.test_hub import sample_context
from tests.records.test_callbacks import a_callback

SALT = "test-salt"


def journal(call_id: str, started_at: float, text: str) -> dict[str, Any]:
    return {
        "call_id": call_id,
        "transport": "chan_websocket",
        "format": "ulaw",
        "dialplan": "d",
        "dialplan_version": 1,
        "voice": "v",
        "started_at": started_at,
        "duration_s": 12.0,
        "greeting_ms": 20.0,
        "outcome": "answered",
        "outcome_detail": "",
        "transfer_queue": None,
        "callback_queue": None,
        "survey_score": None,
        "turns": [{"index": 1, "caller_text": text, "intent": "x", "bot_text": []}],
        "errors": [],
    }


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = str(tmp_path / "records.sqlite3")
    store = open_store(url, SALT)
    now = time.time()
    store.save(journal("old", now - 100 * 86400, "bonjour"), "06 12 34 56 78")
    store.save(journal("new", now - 3600, "mon numéro c'est le 06 12 34 56 78"), "+33612345678")
    store.save(journal("other", now - 60, "bonjour"), "0700000000")
    store.close()
    monkeypatch.setenv(cli.SALT_ENV, SALT)
    monkeypatch.setenv(cli.RECORDS_URL_ENV, url)
    return url


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(list(argv))
    result: int = args.func(args)
    return result


def test_parse_age() -> None:
    assert cli.parse_age("90d") == 90 * 86400
    assert cli.parse_age("36h") == 36 * 3600
    with pytest.raises(argparse.ArgumentTypeError):
        cli.parse_age("90 days")


def test_purge_deletes_only_older_calls(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("records", "purge", "--older-than", "90d") == 0
    assert "purged 1 call(s)" in capsys.readouterr().out
    store = open_store(db, SALT)
    assert sorted(c.call_id for c in store.calls(0)) == ["new", "other"]
    store.close()


def test_export_gives_one_callers_calls_redacted(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("records", "export", "--caller", "0612345678") == 0
    document = json.loads(capsys.readouterr().out)
    assert sorted(c["call_id"] for c in document["calls"]) == ["new", "old"]
    assert "06 12 34 56 78" not in json.dumps(document)
    assert "<TEL>" in json.dumps(document, ensure_ascii=False)


def test_erase_deletes_one_callers_calls(db: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("records", "erase", "--caller", "+33 6 12 34 56 78") == 0
    assert "erased 2 call(s)" in capsys.readouterr().out
    store = open_store(db, SALT)
    assert [c.call_id for c in store.calls(0)] == ["other"]
    store.close()


def test_export_without_salt_is_refused(
    db: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(cli.SALT_ENV)
    assert run("records", "export", "--caller", "0612345678") == 1
    assert cli.SALT_ENV in capsys.readouterr().err


def test_missing_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("records", "purge", "--records", str(tmp_path / "none.sqlite3")) == 1
    assert "no records database" in capsys.readouterr().err


def test_a_call_in_progress_is_exported_and_erased_too(
    db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Its record exists from its first second (issue 10): the caller's data with it."""
    store = open_store(db, SALT)
    going = {**journal("going", time.time(), "mon dossier"), "outcome": "in_progress"}
    store.save({**going, "record_token": "tok", "revision": 1}, "0612345678", final=False)
    store.close()
    assert run("records", "export", "--caller", "0612345678") == 0
    document = json.loads(capsys.readouterr().out)
    states = {c["call_id"]: c["state"] for c in document["calls"]}
    assert states == {"old": "final", "new": "final", "going": "in_progress"}
    assert run("records", "erase", "--caller", "0612345678") == 0
    assert "erased 3 call(s)" in capsys.readouterr().out
    store = open_store(db, SALT)
    assert [c.call_id for c in store.calls(0, in_progress=True)] == ["other"]
    store.close()


@pytest.fixture
def handovers(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Hand-overs beside the records (their default place), and a summary sound each."""
    sounds = tmp_path / "sounds"
    sounds.mkdir()
    monkeypatch.setenv("CALLBOT_ARI_SOUNDS_DIR", str(sounds))
    store = HandoverStore(tmp_path / "callbot-handover.sqlite3", caller_salt=SALT)
    now = time.time()
    for name, number, created in (
        ("mine", "+33612345678", now - 60),
        ("old", "0700000000", now - 100 * 86400),
        ("other", "0700000000", now - 60),
    ):
        ctx = sample_context(name, created_at=created, caller_number=number)
        store.save(ctx)
        (sounds / f"{ctx.context_id}.wav").write_bytes(b"RIFF")
        (sounds / f"{name}.id").write_text(ctx.context_id)
    store.close()
    return sounds


def test_hand_overs_are_exported_and_erased_with_the_calls(
    handovers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 15: the hand-over store was outside export and erasure."""
    mine = (handovers / "mine.id").read_text()
    assert run("records", "export", "--caller", "06 12 34 56 78") == 0
    document = json.loads(capsys.readouterr().out)
    assert [h["context_id"] for h in document["handovers"]] == [mine]
    assert document["summary_sounds"] == [f"{mine}.wav"]
    assert run("records", "erase", "--caller", "0612345678") == 0
    out = capsys.readouterr().out
    assert "erased 2 call(s)" in out and "1 hand-overs, 1 summary sounds" in out
    assert not (handovers / f"{mine}.wav").exists()
    assert (handovers / f"{(handovers / 'other.id').read_text()}.wav").exists()


def test_purge_covers_hand_overs_and_their_sounds(
    handovers: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = (handovers / "old.id").read_text()
    assert run("records", "purge", "--older-than", "90d") == 0
    assert "purged 0 spooled records, 1 hand-overs, 1 summary sounds" in capsys.readouterr().out
    assert not (handovers / f"{old}.wav").exists()
    assert len(list(handovers.glob("*.wav"))) == 2


@pytest.fixture
def owed(db: str) -> str:
    """Callbacks (issue 15): one asked from the caller's phone, one to the caller's number
    asked from a friend's phone, one of another caller's; one asked long ago, never closed."""
    store = open_store(db, SALT)
    now = time.time()
    asked = [
        ("mine", "c-mine", "+33612345678", "0698765432", now - 60),
        ("friend", "c-friend", "0700000000", "06 12 34 56 78", now - 60),
        ("stranger", "c-stranger", "0700000000", "0711111111", now - 60),
        ("forgotten", "c-old", "0700000000", "0722222222", now - 5 * 86400),
    ]
    for callback_id, call_id, caller, number, at in asked:
        callback = a_callback(callback_id, call_id, number=number, created_at=at)
        store.save(journal(call_id, at, "rappelez-moi"), caller, callback=callback)
    store.close()
    return db


def test_export_gives_the_callers_callbacks_with_their_numbers(
    owed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("records", "export", "--caller", "06 12 34 56 78") == 0
    document = json.loads(capsys.readouterr().out)
    found = {c["callback_id"]: c["number"] for c in document["callbacks"]}
    assert found == {"mine": "0698765432", "friend": "06 12 34 56 78"}


def test_erase_deletes_the_callers_callbacks(owed: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("records", "erase", "--caller", "+33 6 12 34 56 78") == 0
    store = open_store(owed, SALT)
    left = sorted(c.callback_id for c in store.callbacks())
    store.close()
    assert left == ["forgotten", "stranger"]


def test_purge_expires_callbacks_owed_too_long(owed: str) -> None:
    assert run("records", "purge") == 0  # retention 90 d: no call old enough
    store = open_store(owed, SALT)
    by_id = {c.callback_id: c for c in store.callbacks()}
    store.close()
    assert (by_id["forgotten"].status, by_id["forgotten"].number) == ("expired", None)
    assert (by_id["mine"].status, by_id["mine"].number) == ("open", "0698765432")

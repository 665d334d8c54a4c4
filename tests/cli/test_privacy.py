"""The records commands against a real SQLite store (callbot.records)."""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pytest

from callbot.cli import privacy as cli
from callbot.records.store import open_store

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

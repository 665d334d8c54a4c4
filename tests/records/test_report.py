"""``callbot report`` over a seeded SQLite file: table, CSV and JSON agree."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import zoneinfo
from pathlib import Path

import pytest

from callbot.cli.records import register
from callbot.records.store import open_store
from tests.records.seed import seeded_journals


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="callbot")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(list(argv))
    status = args.func(args)
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def records(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("report") / "records.sqlite3"
    store = open_store(str(path), "salt")
    for record in seeded_journals(days=7):
        store.save(record, None)
    store.close()
    return path


def test_json_and_csv_carry_the_same_figures(
    records: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    period = ("--since", "2026-11-02", "--until", "2026-11-09", "--records", str(records))
    status, out, _ = run(capsys, "report", *period, "--format", "json")
    assert status == 0
    report = json.loads(out)
    kpis = report["kpis"]
    assert kpis["offered"] == len(seeded_journals(days=7)) > 300
    assert kpis["timezone"] == "Europe/Paris"
    assert 0.9 < kpis["answer_rate"] <= 1.0
    assert sum(h["offered"] for h in kpis["by_hour"]) == kpis["offered"]
    assert all(h["offered"] > 0 for h in kpis["by_hour"]), "the seeded line rings 24/7"
    labels = " ".join(c["label"] for c in report["clusters"])
    for theme in ("adresse", "cure", "lunettes", "rendez"):
        assert theme in labels

    status, out, _ = run(capsys, "report", *period, "--format", "csv")
    rows = dict(tuple(row) for row in csv.reader(io.StringIO(out)))
    assert rows["metric"] == "value"
    assert int(rows["kpis.offered"]) == kpis["offered"]
    assert float(rows["kpis.understanding_rate"]) == kpis["understanding_rate"]
    assert rows["clusters.1.label"] == report["clusters"][0]["label"]


def test_table_and_period(records: Path, capsys: pytest.CaptureFixture[str]) -> None:
    one_day = ("--since", "2026-11-03", "--until", "2026-11-04", "--records", str(records))
    status, out, _ = run(capsys, "report", *one_day)
    assert status == 0
    assert out.startswith("Calls 2026-11-03 00:00 -> 2026-11-04 00:00 (Europe/Paris)")
    for heading in (
        "answer rate",
        "understanding",
        "containment",
        "Transfer reasons",
        "Intents answered",
        "Not understood",
    ):
        assert heading in out
    status, out, _ = run(capsys, "report", *one_day, "--format", "json")
    paris = zoneinfo.ZoneInfo("Europe/Paris")
    start = dt.datetime(2026, 11, 3, tzinfo=paris).timestamp()
    day = [r for r in seeded_journals(days=7) if start <= r["started_at"] < start + 86400]
    assert json.loads(out)["kpis"]["offered"] == len(day) > 50


def test_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "report", "--since", "2026-11-xx", "--records", "x")
    assert status == 2 and "not an ISO date" in err
    missing = str(tmp_path / "none.sqlite3")
    status, _, err = run(capsys, "report", "--since", "2026-11-01", "--records", missing)
    assert status == 1 and "no records database" in err
    assert not Path(missing).exists()

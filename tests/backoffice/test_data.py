"""The test data: invented people whose identities pass the bot's own checks."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from callbot.backoffice.data import Files, build_database
from callbot.dialplan.validators.nir import parse_nir
from callbot.errors import StartupError
from tests.backoffice.conftest import CAMILLE, SACHA


@pytest.fixture
def files(tmp_path: Path) -> Files:
    return Files(build_database(tmp_path / "office.sqlite3"))


def rows(path: Path, table: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def test_every_nir_is_valid_and_matches_its_birth_date(tmp_path: Path) -> None:
    people = rows(build_database(tmp_path / "office.sqlite3"), "assures")
    assert len(people) >= 5
    for nir, born, _name in people:
        assert parse_nir(str(nir)) == nir
        birth = dt.date.fromisoformat(str(born))
        assert str(nir)[1:5] == birth.strftime("%y%m")
        assert str(nir)[7:10] == "999"  # no real commune: invented people


def test_the_database_is_rebuilt_the_same_over_an_old_one(tmp_path: Path) -> None:
    first = build_database(tmp_path / "a.sqlite3")
    second = tmp_path / "b.sqlite3"
    second.write_bytes(b"not a database")
    build_database(second)
    for table in ("assures", "remboursements", "indemnites"):
        assert rows(first, table) == rows(second, table)


def test_an_unwritable_place_is_a_startup_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(StartupError, match="cannot build"):
        build_database(tmp_path / "file" / "office.sqlite3")


def test_the_latest_reimbursement_is_told(files: Files) -> None:
    found = files.latest_reimbursement(*CAMILLE)
    assert found is not None
    assert (found.care_date, found.amount_euros, found.status) == ("2026-10-05", 21.0, "paye")
    assert found.step == "paiement envoyé à votre banque" and found.step_date == "2026-10-09"


def test_a_daily_allowance_in_progress(files: Files) -> None:
    found = files.daily_allowance(*CAMILLE)
    assert found is not None
    assert (found.last_paid_on, found.last_paid_euros) == ("2026-10-14", 576.8)
    assert found.next_payment_on == "2026-10-28"
    assert found.last_paid_euros == pytest.approx(14 * found.daily_euros)


@pytest.mark.parametrize(
    ("nir", "born"),
    [
        (CAMILLE[0], "1985-06-13"),  # somebody else's birth date: no identity
        ("185057800608491", "1985-05-01"),  # nobody
        SACHA,  # somebody with nothing to tell
    ],
)
def test_nothing_without_a_matching_identity_or_a_file(files: Files, nir: str, born: str) -> None:
    assert files.latest_reimbursement(nir, born) is None
    assert files.daily_allowance(nir, born) is None

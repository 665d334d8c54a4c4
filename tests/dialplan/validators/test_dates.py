"""Dates relative to a fixed today (Wednesday 12 March 2025)."""

from __future__ import annotations

import datetime as dt

import pytest

from callbot.dialplan.validators.dates import parse_date, parse_keyed_date, spoken_date

TODAY = dt.date(2025, 3, 12)  # a Wednesday


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("aujourd'hui", dt.date(2025, 3, 12)),
        ("hier", dt.date(2025, 3, 11)),
        ("c'était hier matin", dt.date(2025, 3, 11)),
        ("avant-hier", dt.date(2025, 3, 10)),
        ("avant hier", dt.date(2025, 3, 10)),
        ("demain", dt.date(2025, 3, 13)),
        ("après-demain", dt.date(2025, 3, 14)),
        ("il y a trois jours", dt.date(2025, 3, 9)),
        ("il y a 2 semaines", dt.date(2025, 2, 26)),
        ("dans deux jours", dt.date(2025, 3, 14)),
        ("lundi dernier", dt.date(2025, 3, 10)),
        ("mercredi dernier", dt.date(2025, 3, 5)),
        ("lundi prochain", dt.date(2025, 3, 17)),
        ("vendredi", dt.date(2025, 3, 7)),
        ("le 3 mars", dt.date(2025, 3, 3)),
        ("le trois mars", dt.date(2025, 3, 3)),
        ("le 1er février", dt.date(2025, 2, 1)),
        ("le premier février", dt.date(2025, 2, 1)),
        ("le vingt et un janvier", dt.date(2025, 1, 21)),
        ("le 3 mars 2024", dt.date(2024, 3, 3)),
        ("le 12 juin 1985", dt.date(1985, 6, 12)),
        ("le douze juin mille neuf cent quatre-vingt-cinq", dt.date(1985, 6, 12)),
        ("le 12 juin 85", dt.date(1985, 6, 12)),
        ("lundi 3 mars", dt.date(2025, 3, 3)),
        ("15/03/1985", dt.date(1985, 3, 15)),
        ("le 5.1.24", dt.date(2024, 1, 5)),
        ("Le 14 Août", dt.date(2024, 8, 14)),
    ],
)
def test_past_dates(text: str, expected: dt.date) -> None:
    assert parse_date(text, TODAY, "past") == expected


def test_when_decides_incomplete_dates() -> None:
    assert parse_date("le 14 août", TODAY, "past") == dt.date(2024, 8, 14)
    assert parse_date("le 14 août", TODAY, "future") == dt.date(2025, 8, 14)
    assert parse_date("le 3 mars", TODAY, "future") == dt.date(2026, 3, 3)
    assert parse_date("le 14 août", TODAY, "any") == dt.date(2025, 8, 14)
    assert parse_date("vendredi", TODAY, "future") == dt.date(2025, 3, 14)
    assert parse_date("mercredi", TODAY, "past") == TODAY


@pytest.mark.parametrize("text", ["le 31 février", "32/01/2020", "je ne sais plus", "le 3", ""])
def test_no_date(text: str) -> None:
    assert parse_date(text, TODAY, "any") is None


def test_keyed_dates() -> None:
    assert parse_keyed_date("15031985", TODAY) == dt.date(1985, 3, 15)
    assert parse_keyed_date("150385", TODAY) == dt.date(1985, 3, 15)
    assert parse_keyed_date("010125", TODAY) == dt.date(2025, 1, 1)
    assert parse_keyed_date("3102", TODAY) is None
    assert parse_keyed_date("31022020", TODAY) is None


def test_spoken() -> None:
    assert spoken_date(dt.date(2025, 3, 3)) == "3 mars 2025"
    assert spoken_date(dt.date(2024, 8, 1)) == "1er août 2024"

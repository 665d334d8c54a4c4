"""The slot-type dispatch: canonical and spoken forms, ranges, keypad entries."""

from __future__ import annotations

import datetime as dt

import pytest

from callbot.dialplan.validators import (
    SLOT_TYPES,
    Rules,
    SlotValue,
    validate,
    validate_keyed,
)

RULES = Rules(today=dt.date(2025, 3, 12), when="past")


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("phone", "06 12 34 56 78", SlotValue("0612345678", "06 12 34 56 78")),
        ("date", "hier", SlotValue("2025-03-11", "11 mars 2025")),
        ("amount", "trente-deux euros cinquante", SlotValue("32.50", "32 euros 50")),
        ("number", "trois", SlotValue("3", "3")),
        ("postcode", "75015", SlotValue("75015", "75015")),
        ("nir", "185057800608491", SlotValue("185057800608491", "1 85 05 78 006 084, clé 91")),
        ("yesno", "oui bien sûr", SlotValue("yes", "oui")),
        ("yesno", "non merci", SlotValue("no", "non")),
        ("digits", "1 2 3", SlotValue("123", "12 3")),
    ],
)
def test_spoken(kind: str, text: str, expected: SlotValue) -> None:
    assert validate(kind, text, RULES) == expected


def test_every_type_refuses_nonsense() -> None:
    for kind in SLOT_TYPES:
        assert validate(kind, "euh attendez", RULES) is None, kind


def test_past_date_refuses_future() -> None:
    assert validate("date", "demain", RULES) is None
    assert validate("date", "demain", Rules(today=RULES.today)) is not None


def test_ranges() -> None:
    rules = Rules(today=RULES.today, min_value=1, max_value=5)
    assert validate("number", "six", rules) is None
    assert validate("number", "cinq", rules) == SlotValue("5", "5")
    assert validate("amount", "10 euros", rules) is None


@pytest.mark.parametrize(
    ("kind", "keys", "value"),
    [
        ("phone", "0612345678", "0612345678"),
        ("date", "15031985", "1985-03-15"),
        ("amount", "32*50", "32.50"),
        ("postcode", "75015", "75015"),
        ("nir", "185057800608491", "185057800608491"),
        ("yesno", "1", "yes"),
        ("yesno", "2", "no"),
        ("number", "42", "42"),
    ],
)
def test_keyed(kind: str, keys: str, value: str) -> None:
    result = validate_keyed(kind, keys, RULES)
    assert result is not None and result.value == value


def test_keyed_star_only_for_amounts() -> None:
    assert validate_keyed("phone", "06*12345678", RULES) is None

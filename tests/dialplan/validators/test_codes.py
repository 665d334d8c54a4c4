"""Phone numbers, postcodes and digit codes."""

from __future__ import annotations

import pytest

from callbot.dialplan.validators.codes import (
    parse_digits,
    parse_phone,
    parse_postcode,
    spoken_phone,
)


@pytest.mark.parametrize(
    "text",
    [
        "06 12 34 56 78",
        "0612345678",
        "zéro six douze trente-quatre cinquante-six soixante-dix-huit",
        "zéro six, douze, trente quatre, cinquante six, soixante dix huit",
        "+33 6 12 34 56 78",
        "plus trente-trois six douze trente-quatre cinquante-six soixante-dix-huit",
        "0033 6 12 34 56 78",
        "mon numéro c'est le 06 12 34 56 78",
    ],
)
def test_phone(text: str) -> None:
    assert parse_phone(text) == "0612345678"


@pytest.mark.parametrize("text", ["06 12 34 56", "6 12 34 56 78 9", "00 12 34 56 78", "allô"])
def test_not_a_phone(text: str) -> None:
    assert parse_phone(text) is None


def test_spoken_phone() -> None:
    assert spoken_phone("0612345678") == "06 12 34 56 78"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("75015", "75015"),
        ("75 015", "75015"),
        ("soixante-quinze zéro quinze", "75015"),
        ("soixante-quinze mille quinze", "75015"),
        ("trente et un mille", "31000"),
        ("zéro un zéro zéro zéro", "01000"),
        ("20000", "20000"),
        ("97400", "97400"),
        ("98000", "98000"),
    ],
)
def test_postcode(text: str, code: str) -> None:
    assert parse_postcode(text) == code


@pytest.mark.parametrize("text", ["00100", "96000", "99000", "97900", "98100", "7501", "750150"])
def test_not_a_postcode(text: str) -> None:
    assert parse_postcode(text) is None


def test_digits_length() -> None:
    assert parse_digits("dossier 12 34 56", 4, 8) == "123456"
    assert parse_digits("12", 4, 8) is None
    assert parse_digits("aucun", 1, 8) is None

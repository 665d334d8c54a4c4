"""French numbers as Whisper writes them: words, numerals, or a mix."""

from __future__ import annotations

import pytest

from callbot.dialplan.validators.numbers import digit_string, first_number, tokens


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("zéro", 0),
        ("un", 1),
        ("dix-sept", 17),
        ("vingt et un", 21),
        ("trente-deux", 32),
        ("soixante-dix", 70),
        ("soixante et onze", 71),
        ("soixante-dix-huit", 78),
        ("soixante dix huit", 78),
        ("quatre-vingts", 80),
        ("quatre-vingt-cinq", 85),
        ("quatre vingt dix neuf", 99),
        ("cent", 100),
        ("deux cents", 200),
        ("trois cent quarante-cinq", 345),
        ("mille", 1000),
        ("deux mille vingt-quatre", 2024),
        ("mille neuf cent quatre-vingt-cinq", 1985),
        ("dix-neuf cent quatre-vingt-cinq", 1985),
        ("soixante-quinze mille quinze", 75015),
        ("deux millions trois cent mille", 2_300_000),
        ("septante-deux", 72),
        ("j'en ai 3", 3),
        ("il m'en faut trois s'il vous plaît", 3),
    ],
)
def test_first_number(text: str, value: int) -> None:
    assert first_number(text) == value


def test_no_number() -> None:
    assert first_number("je ne sais pas") is None


@pytest.mark.parametrize(
    ("text", "digits"),
    [
        ("zéro six douze trente-quatre cinquante-six soixante-dix-huit", "0612345678"),
        ("0 6 12 34 56 78", "0612345678"),
        ("06 12 34 56 78", "0612345678"),
        ("06.12.34.56.78", "0612345678"),
        ("06-12-34-56-78", "0612345678"),
        ("c'est le zéro six, douze, 34, cinquante-six, 78", "0612345678"),
        ("zéro six six cent douze", "06612"),
        ("un quatre-vingt-cinq zéro cinq", "18505"),
        ("deux a", "2"),
    ],
)
def test_digit_string(text: str, digits: str) -> None:
    assert digit_string(text) == digits


def test_letters_kept_when_asked() -> None:
    assert digit_string("deux a zéro", letters=frozenset("ab")) == "2A0"
    assert digit_string("2A", letters=frozenset("ab")) == "2A"


def test_tokens_are_plain() -> None:
    assert tokens("Quatre-Vingt-Dix-Sept ÉTÉ l'été 12€") == [
        "quatre", "vingt", "dix", "sept", "ete", "l", "ete", "12", "€",
    ]  # fmt: skip

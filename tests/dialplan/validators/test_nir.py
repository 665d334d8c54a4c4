"""French social-security numbers: layout, key, Corsica."""

from __future__ import annotations

import pytest

from callbot.dialplan.validators.nir import nir_key, parse_nir, spoken_nir

VALID = "185057800608491"


def test_key() -> None:
    assert nir_key("1850578006084") == 91  # 97 - (1850578006084 mod 97)


def test_corsica_counts_2a_as_19_and_2b_as_18() -> None:
    assert nir_key("290092A123456") == 97 - 2900919123456 % 97
    assert nir_key("290092B123456") == 97 - 2900918123456 % 97
    assert nir_key("290092A123456") != nir_key("2900920123456")


@pytest.mark.parametrize(
    "text",
    [
        VALID,
        "1 85 05 78 006 084 91",
        "un quatre-vingt-cinq zéro cinq soixante-dix-huit zéro zéro six zéro quatre-vingt-quatre "
        "quatre-vingt-onze",
        "c'est le 1 85 05 78 006 084, clé 91",
        "1 85 05 78 six 84 91".replace("six", "zéro zéro six zéro"),
    ],
)
def test_valid(text: str) -> None:
    assert parse_nir(text) == VALID


def test_corsican_number_spoken_or_written() -> None:
    key = f"{nir_key('290092A123456'):02d}"
    assert parse_nir(f"2 90 09 2A 123 456 {key}") == f"290092A123456{key}"
    assert parse_nir(f"deux quatre-vingt-dix zéro neuf deux a 123 456 {key}") == (
        f"290092A123456{key}"
    )


@pytest.mark.parametrize(
    "text",
    [
        "185057800608492",  # wrong key
        "1850578006084",  # no key
        "58505780060849",  # bad sex digit, short
        "585057800608491",  # sex 5 does not exist
        "185137800608491",  # month 13
        "1850578006084911",  # too long
        "je ne le connais pas",
    ],
)
def test_invalid(text: str) -> None:
    assert parse_nir(text) is None


def test_spoken() -> None:
    assert spoken_nir(VALID) == "1 85 05 78 006 084, clé 91"

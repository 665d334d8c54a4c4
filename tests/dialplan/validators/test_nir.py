"""French social-security numbers: layout, key, Corsica."""

from __future__ import annotations

import pytest

from callbot.dialplan.validators.nir import nir_key, nir_key_mismatch, parse_nir, spoken_nir

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


@pytest.mark.parametrize("dept", ["2A", "2B"])
def test_corsica_keyed_as_20_is_told_apart_by_the_key(dept: str) -> None:
    first13 = f"29009{dept}123456"
    key = f"{nir_key(first13):02d}"
    assert parse_nir(f"2900920123456{key}") == f"{first13}{key}"


def test_a_20_whose_key_fits_stays_20() -> None:
    key = f"{nir_key('2900920123456'):02d}"
    assert parse_nir(f"2900920123456{key}") == f"2900920123456{key}"


def test_a_20_that_fits_nothing_is_a_wrong_key() -> None:
    keys = {nir_key(f"29009{dept}123456") for dept in ("20", "2A", "2B")}
    wrong = next(k for k in range(1, 98) if k not in keys)
    assert parse_nir(f"2900920123456{wrong:02d}") is None
    assert nir_key_mismatch(f"2900920123456{wrong:02d}")


def test_key_mismatch_only_for_a_nir_shape() -> None:
    assert nir_key_mismatch("185057800608492")
    assert nir_key_mismatch("1 85 05 78 006 084 92")
    assert not nir_key_mismatch(VALID)
    assert not nir_key_mismatch("1850578006084")  # no key: not understood
    assert not nir_key_mismatch("je ne le connais pas")


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

"""Sound keys: spellings of one sound meet, different sounds stay apart."""

from __future__ import annotations

import pytest

from callbot.dialplan.phonetic import phonetic_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("conseiller", "conseille"),
        ("conseiller", "conseillez"),
        ("cent", "sans"),
        ("rembourse", "rembourser"),
        ("photo", "foto"),
        ("vitale", "vital"),
        ("mutuelle", "mutuel"),
        ("ameli", "amelie"),
        ("attestation", "atestation"),
        ("maison", "mezon"),
        ("carte", "cartes"),
        ("compte", "conte"),
    ],
)
def test_french_same_sound(a: str, b: str) -> None:
    assert phonetic_key(a, "fr") == phonetic_key(b, "fr")


@pytest.mark.parametrize(
    ("a", "b"), [("maternite", "paternite"), ("poison", "poisson"), ("vert", "vrai")]
)
def test_french_different_sounds(a: str, b: str) -> None:
    assert phonetic_key(a, "fr") != phonetic_key(b, "fr")


@pytest.mark.parametrize(
    ("a", "b"),
    [("knew", "new"), ("phone", "fone"), ("write", "right"), ("locked", "lock"), ("teams", "team")],
)
def test_english_same_sound(a: str, b: str) -> None:
    assert phonetic_key(a, "en") == phonetic_key(b, "en")


def test_other_languages_keep_the_word() -> None:
    assert phonetic_key("ausweis", "de") == "ausweis"

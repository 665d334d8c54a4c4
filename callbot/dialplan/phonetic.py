"""How a word sounds, roughly: two spellings of one sound get the same key.

Speech recognition writes what it heard, and French writes one sound many ways:
"conseiller" / "conseillé" / "conseillez", "cent" / "sans" / "sang", "remboursé" /
"remboursez", "photo" / "foto". Edit distance sees some of these as far apart; their
keys are equal. The rules are a small subset of French phonetics (in the spirit of
Phonex and the French Soundex), applied to lowercase words without accents; English
gets the few rules that matter for recognition slips ("knew" / "new", "phone" /
"fone", "locked" / "lock"). A key is for comparing, never for showing.
"""

from __future__ import annotations

import re
from functools import lru_cache

_FRENCH_RULES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"ph", "f"),
        (r"s?ch", "x"),
        (r"h", ""),
        (r"(?<=...)[sx]$", ""),  # plurals
        (r"e[rtz]$", "e"),  # remboursé, rembourser, remboursez
        (r"(?<=[aeiounr])[tdzp]$", ""),  # silent final consonants: vert, cent, droit
        (r"ng$", "n"),
        (r"mpt", "nt"),  # compte, conte
        (r"(?<=[aeiouy])s(?=[aeiouy])", "z"),
        (r"(?:ai|ei)(?![nm])|ee", "e"),
        (r"sc(?=[eiy])", "s"),
        (r"c(?=[eiy])", "s"),
        (r"qu|ck|c|q", "k"),
        (r"gu(?=[eiy])", "g"),
        (r"g(?=[eiy])", "j"),
        (r"w", "v"),
        (r"eau|au", "o"),
        (r"tion", "sion"),
        (r"oi", "wa"),
        (r"ou", "u"),
        (r"y", "i"),
        (r"(?:ai|ei)[nm](?![aeiouy])", "I"),
        (r"[ae][nm](?![aeiouy])", "A"),
        (r"[iu][nm](?![aeiouy])", "I"),
        (r"o[nm](?![aeiouy])", "O"),
        (r"([a-z])\1+", r"\1"),
        (r"(?<=..)e$", ""),
    )
)

_ENGLISH_RULES = tuple(
    (re.compile(pattern), replacement)
    for pattern, replacement in (
        (r"(?<=....)(?:ed|s)$", ""),  # locked, lock; printers, printer
        (r"^kn", "n"),
        (r"^wr", "r"),
        (r"ph", "f"),
        (r"ck", "k"),
        (r"gh", ""),
        (r"ea|ee", "e"),
        (r"([a-z])\1+", r"\1"),
        (r"(?<=..)e$", ""),
    )
)

_RULES = {"fr": _FRENCH_RULES, "en": _ENGLISH_RULES}


@lru_cache(maxsize=65536)
def phonetic_key(word: str, lang: str) -> str:
    """The sound key of ``word`` (normalised: lowercase, no accents) in ``lang``
    (``fr``, ``en``); the word itself in other languages."""
    key = word
    for pattern, replacement in _RULES.get(lang, ()):
        key = pattern.sub(replacement, key)
    return key or word

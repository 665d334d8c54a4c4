"""Runs of numbers in a transcript, as digit strings with their place in the text.

Whisper writes a number the caller reads out either in digits (``06 12 34 56 78``) or in
words (``zéro six douze trente-quatre cinquante-six soixante-dix-huit``), sometimes both in
one sentence. Identifiers (phone numbers, NIR) are found by their digits, so both forms
are turned into *pieces*: one piece per digit group or per spoken number, with the span
of text it came from. A *run* is pieces separated by nothing but spaces and the marks
people use between digit groups (``. - / ( ) +``); a comma ends a run (``1 250,50 €``)
unless a space follows it (``zéro six, douze``), and then it ends the spoken number.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

UNITS = {
    "zero": 0,
    "un": 1,
    "une": 1,
    "deux": 2,
    "trois": 3,
    "quatre": 4,
    "cinq": 5,
    "six": 6,
    "sept": 7,
    "huit": 8,
    "neuf": 9,
}
TEENS = {"dix": 10, "onze": 11, "douze": 12, "treize": 13, "quatorze": 14, "quinze": 15}
TEENS["seize"] = 16
TENS = {
    "vingt": 20,
    "vingts": 20,
    "trente": 30,
    "quarante": 40,
    "cinquante": 50,
    "soixante": 60,
    "septante": 70,
    "huitante": 80,
    "octante": 80,
    "nonante": 90,
}
HUNDRED = {"cent", "cents"}
THOUSAND = {"mille"}
JOINERS = {"et", "cle", "clef"}
"""Words allowed between pieces of one run: ``vingt et un``, ``... 456 clé 78``."""
NUMBER_WORDS = set(UNITS) | set(TEENS) | set(TENS) | HUNDRED | THOUSAND

_BARRIER = ","
_TOKEN = re.compile(r"\d+|[^\W\d_]+")
_GAP = re.compile(r"(?:[\s.\-/()+]|,(?=\s)){0,4}")


@dataclass(frozen=True, slots=True)
class Piece:
    """One digit group or one spoken number: ``digits`` came from ``text[start:end]``."""

    digits: str
    start: int
    end: int


def fold(word: str) -> str:
    """Lower case without accents: ``Zéro`` -> ``zero``, ``Clé`` -> ``cle``."""
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def runs(text: str) -> list[list[Piece]]:
    """Every run of numbers in ``text``, each as its pieces in order."""
    found: list[list[Piece]] = []
    words: list[tuple[str, int, int]] = []  # the current run's tokens: (folded, start, end)
    last_end = -1
    for match in _TOKEN.finditer(text):
        token = fold(match.group())
        numeric = token.isdigit() or token in NUMBER_WORDS or (token in JOINERS and words)
        joined = last_end >= 0 and _GAP.fullmatch(text, last_end, match.start()) is not None
        if words and not (numeric and joined):
            found.append(_pieces(words))
            words = []
        if numeric and (words or token not in JOINERS):
            if words and "," in text[last_end : match.start()]:
                words.append((_BARRIER, last_end, last_end))  # "soixante, douze": 60 then 12
            words.append((token, match.start(), match.end()))
            last_end = match.end()
        else:
            last_end = -1
    if words:
        found.append(_pieces(words))
    return [run for run in found if run]


def _pieces(tokens: list[tuple[str, int, int]]) -> list[Piece]:
    while tokens and tokens[-1][0] in JOINERS | {_BARRIER}:
        tokens = tokens[:-1]
    pieces: list[Piece] = []
    i = 0
    while i < len(tokens):
        word, start, end = tokens[i]
        if word.isdigit():
            pieces.append(Piece(word, start, end))
            i += 1
            continue
        parsed = parse_words([t[0] for t in tokens], i)
        if parsed is None:
            i += 1  # a joiner or a stray word: it only links pieces
            continue
        value, after = parsed
        pieces.append(Piece(str(value), start, tokens[after - 1][2]))
        i = after
    return pieces


def parse_words(words: list[str], i: int) -> tuple[int, int] | None:
    """The French number spelt from ``words[i]`` on: ``(value, index after it)``.

    Numbers read digit by digit stay apart (``zéro six`` is 0 then 6, so ``06``), and a
    group read as a whole is one number (``quatre cent cinquante-six`` is 456).
    """
    if i >= len(words):
        return None
    if words[i] == "zero":
        return 0, i + 1
    low = _below_1000(words, i)
    if low is None and words[i] in THOUSAND:
        low = (1, i)
    if low is None:
        return None
    value, j = low
    if j < len(words) and words[j] in THOUSAND and value < 1000:
        value, j = value * 1000, j + 1
        rest = _below_1000(words, j)
        if rest is not None:
            value, j = value + rest[0], rest[1]
    return value, j


def _below_1000(words: list[str], i: int) -> tuple[int, int] | None:
    if i < len(words) and words[i] in HUNDRED:
        value, j = 100, i + 1
    else:
        low = _below_100(words, i)
        if low is None:
            return None
        value, j = low
        # "trois cent"; "treize cent six" stays 13 then 106 (a department, then a commune)
        if not (2 <= value <= 9 and j < len(words) and words[j] in HUNDRED):
            return value, j
        value, j = value * 100, j + 1
    rest = _below_100(words, j)
    if rest is not None:
        value, j = value + rest[0], rest[1]
    return value, j


def _below_100(words: list[str], i: int) -> tuple[int, int] | None:
    if i >= len(words):
        return None
    word = words[i]
    nxt = words[i + 1] if i + 1 < len(words) else ""
    if word == "quatre" and nxt in ("vingt", "vingts"):
        rest = _below_20(words, i + 2)
        return (80 + rest[0], rest[1]) if rest else (80, i + 2)
    if word in TENS:
        tens = TENS[word]
        j = i + 1
        if words[j : j + 2] in (["et", "un"], ["et", "une"], ["et", "onze"]):
            j += 1
        if _starts_eighty(words, j):  # "vingt quatre-vingts" is 20 then 80
            return tens, j
        rest = _below_20(words, j) if tens == 60 else _unit(words, j)
        return (tens + rest[0], rest[1]) if rest else (tens, i + 1)
    return _below_20(words, i)


def _starts_eighty(words: list[str], i: int) -> bool:
    return words[i : i + 2] in (["quatre", "vingt"], ["quatre", "vingts"])


def _below_20(words: list[str], i: int) -> tuple[int, int] | None:
    if i >= len(words):
        return None
    word = words[i]
    if word == "dix" and i + 1 < len(words) and words[i + 1] in ("sept", "huit", "neuf"):
        return 10 + UNITS[words[i + 1]], i + 2
    if word in TEENS:
        return TEENS[word], i + 1
    return _unit(words, i)


def _unit(words: list[str], i: int) -> tuple[int, int] | None:
    if i < len(words) and words[i] in UNITS and words[i] != "zero":
        return UNITS[words[i]], i + 1
    return None

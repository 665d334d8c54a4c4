"""French numbers as speech recognition writes them: numerals, words, or both.

Whisper writes "06 12 34 56 78" as often as "zéro six douze trente-quatre...", and
callers mix the two ("le 06, douze, 34"). This module turns an utterance into
*number tokens*: each numeral, and each maximal run of number words that French
grammar joins into one number ("soixante-dix-huit" = 78, "quatre vingt cinq" = 85,
"deux mille vingt-quatre" = 2024). Units never absorb what follows, so
"six douze" stays 6 then 12, as a caller reading a phone number means it.

Hand-written rather than num2words (which only goes the other way) or a general
parser: the grammar is small, and digit strings need the groups, not their sum.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "`": "'", "´": "'", "‘": "'"})

UNITS = {
    "zero": 0, "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6,
    "sept": 7, "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "treize": 13,
    "quatorze": 14, "quinze": 15, "seize": 16,
}  # fmt: skip
TENS = {
    "vingt": 20, "vingts": 20, "trente": 30, "quarante": 40, "cinquante": 50,
    "soixante": 60, "septante": 70, "huitante": 80, "octante": 80, "nonante": 90,
}  # fmt: skip
HUNDRED = frozenset({"cent", "cents"})
MULTIPLIERS = {"mille": 1000, "mil": 1000, "million": 1_000_000, "millions": 1_000_000}
NUMBER_WORDS = frozenset(UNITS) | frozenset(TENS) | HUNDRED | frozenset(MULTIPLIERS)

_TOKEN = re.compile(r"\d+|[a-z]+|€")
_THOUSANDS = re.compile(r"(?<!\d)(\d{1,3})(?:[ \u00a0\u202f.](\d{3}))+(?![\d])")


def plain_words(text: str) -> str:
    """Lowercase, no accents, apostrophes and hyphens as spaces, digits kept."""
    lowered = text.casefold().translate(_APOSTROPHES)
    decomposed = unicodedata.normalize("NFKD", lowered)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"(?<=\d)(?=[a-z])|(?<=[a-z])(?=\d)", " ", plain)


def tokens(text: str) -> list[str]:
    """Words, digit runs and euro signs of ``text`` (see :func:`plain_words`)."""
    return _TOKEN.findall(plain_words(text))


@dataclass(frozen=True, slots=True)
class NumberToken:
    """One number the caller said, at ``start`` (token index), up to ``end`` (excluded)."""

    value: int
    digits: str
    """As written digits: "06" for the numeral 06, "0" for "zéro", "85" for "quatre-vingt-cinq"."""
    start: int
    end: int


def _unit(words: list[str], i: int) -> int | None:
    return UNITS.get(words[i]) if i < len(words) else None


def _below_20(words: list[str], i: int) -> tuple[int, int] | None:
    """0-19, including "dix-sept".."dix-neuf"."""
    value = _unit(words, i)
    if value is None:
        return None
    if value == 10 and (nxt := _unit(words, i + 1)) is not None and 7 <= nxt <= 9:
        return 10 + nxt, i + 2
    return value, i + 1


def _below_100(words: list[str], i: int) -> tuple[int, int] | None:
    if i >= len(words):
        return None
    word = words[i]
    if word == "quatre" and i + 1 < len(words) and words[i + 1] in ("vingt", "vingts"):
        tens, j = 80, i + 2
    elif word in TENS:
        tens, j = TENS[word], i + 1
    else:
        return _below_20(words, i)
    k = j + 1 if j < len(words) and words[j] == "et" else j
    rest = _below_20(words, k)
    if rest is not None:
        limit = 19 if tens in (60, 80) else 9
        if 1 <= rest[0] <= limit and (k == j or rest[0] in (1, 11)):
            return tens + rest[0], rest[1]
    return tens, j


def _below_1000(words: list[str], i: int) -> tuple[int, int] | None:
    """A number under 1000; "dix-neuf cent" (years) counts as 1900."""
    if i < len(words) and words[i] in HUNDRED:
        head: tuple[int, int] | None = (1, i)
    else:
        head = _below_100(words, i)
        if head is None:
            return None
        if not (head[1] < len(words) and words[head[1]] in HUNDRED and head[0] > 0):
            return head
    assert head is not None
    hundreds, j = head[0] * 100, head[1] + 1
    rest = _below_100(words, j)
    if rest is not None and rest[0] > 0:
        return hundreds + rest[0], rest[1]
    return hundreds, j


def parse_words(words: list[str], i: int) -> tuple[int, int] | None:
    """The number spelled in words from ``words[i]`` and the index after it, or None."""
    total, j, found = 0, i, False
    while True:
        group = _below_1000(words, j)
        value, after = group if group is not None else (None, j)
        if after < len(words) and words[after] in MULTIPLIERS and value != 0:
            total += (value or 1) * MULTIPLIERS[words[after]]
            j, found = after + 1, True
            continue
        if value is not None:
            return total + value, after
        return (total, j) if found else None


def number_tokens(words: list[str]) -> list[NumberToken]:
    """Every number of ``words`` (from :func:`tokens`), numerals and words alike."""
    found: list[NumberToken] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.isdigit():
            found.append(NumberToken(int(word), word, i, i + 1))
            i += 1
            continue
        parsed = parse_words(words, i) if word in NUMBER_WORDS else None
        if parsed is None:
            i += 1
            continue
        value, end = parsed
        found.append(NumberToken(value, str(value), i, end))
        i = end
    return found


def merge_thousands(text: str) -> str:
    """ "1 234" and "1.234" -> "1234" (amounts), leaving "06 12 34" alone."""
    return _THOUSANDS.sub(lambda m: re.sub(r"\D", "", m.group()), text)


def digit_string(text: str, *, letters: frozenset[str] = frozenset()) -> str:
    """Every digit the caller said, in order: "zéro six douze" -> "0612".

    Other words are skipped ("c'est le 06 12..."). Single letters in ``letters``
    (lowercase) are kept uppercased, for the Corsican départements "2A"/"2B".
    """
    words = tokens(text)
    numbers = {n.start: n for n in number_tokens(words)}
    out: list[str] = []
    i = 0
    while i < len(words):
        if i in numbers:
            out.append(numbers[i].digits)
            i = numbers[i].end
            continue
        if words[i] in letters:
            out.append(words[i].upper())
        i += 1
    return "".join(out)


def first_number(text: str) -> int | None:
    """The first number said in ``text`` ("j'en ai trois" -> 3), or None."""
    found = number_tokens(tokens(merge_thousands(text)))
    return found[0].value if found else None
